"""Tight-binding models in sweeps: the model part of a point spec, and the model built from it.

A sweep point of a :class:`~kubo_sot.TightBindingModel` names its model in
``spec["model"]`` (:func:`model_spec`), in one of two ways:

- a Wannier90 file: ``hr_file`` (``seedname_hr.dat``, H in eV at ``file_magnetization``),
  ``spin_operators`` ("interleaved" | "blocks"), optional ``lattice_vectors`` (nm; else
  from ``seedname_tb.dat`` / ``seedname.win``), optional ``orbital_positions`` (nm; else
  from ``seedname_centres.xyz`` where it exists, else 0) and optional ``exchange`` J (eV,
  on-site X = -J s, docs/conventions.md §2) with ``file_magnetization``;
  :meth:`kubo_sot.TightBindingModel.from_wannier90` reads them.
- a factory ``"package.module:function"``, called as ``function(magnetization=M)``.

The spec records the sha256 of every file the model is read from (and of the factory's
module), so that the checkpoint store never reuses a point of a changed file; the model is
built once per process and file content (:func:`build_model`), and every use first checks
that the files still have the recorded content: a file changed during a sweep is an error,
never a silent mix of two models.
"""

import dataclasses
import functools
import hashlib
import importlib
import json
import os
import re

import numpy as np

from .. import _checks
from ..errors import ParameterError
from ..models.wannier90 import companion_files

SPIN_ORDERINGS = ("interleaved", "blocks")
_FACTORY_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
# Models kept per process: base models of files (at their file magnetization), and models
# at one magnetization (a grid over M and E_F reuses each M for every E_F).
CACHED_FILES = 8
CACHED_MODELS = 64


def model_spec(p):
    """The JSON-able identity of a tight-binding model (``spec["model"]`` of a point).

    ``p``: the point's parameters with either ``factory`` or ``hr_file`` (plus
    ``spin_operators``, ``lattice_vectors``, ``orbital_positions``, ``exchange``,
    ``file_magnetization``); a relative ``hr_file`` is taken from the working directory
    (the TOML reader has made it absolute, relative to the TOML file's folder).

    From a factory: its name and the path and sha256 of its module's source file (files
    that the factory itself reads are not tracked).  From an hr_file: its absolute path and
    sha256, those of the ``_tb.dat`` / ``.win`` (lattice, when lattice_vectors is not given)
    and ``_centres.xyz`` (orbital positions, when orbital_positions is not given and it
    exists) read with it, and the other settings.  A changed file is a different point.
    """
    if "factory" in p:
        name = p["factory"]
        _, module, digest = load_factory(name)
        source = getattr(module, "__file__", None)
        return {"type": "tight_binding", "factory": name,
                "factory_module_file": source and os.path.abspath(source),
                "factory_module_file_sha256": digest}
    hr_file = p["hr_file"]
    if not isinstance(hr_file, (str, os.PathLike)):
        raise ParameterError(f"hr_file = {hr_file!r} must be a path (str)")
    hr_file = os.path.abspath(os.fspath(hr_file))
    if not os.path.isfile(hr_file):
        raise ParameterError(f"hr_file = '{hr_file}' does not exist or is not a file "
                             "(in a TOML file a relative path is taken from the TOML file's "
                             "folder, in Python from the working directory)")
    spin = p.get("spin_operators")
    if spin is None:
        raise ParameterError(f"spin_operators missing for hr_file = '{hr_file}': a "
                             "Wannier90 file does not say how its orbitals carry spin; "
                             f"give one of {list(SPIN_ORDERINGS)}")
    if not isinstance(spin, str):
        raise ParameterError(f"spin_operators = {spin!r} must be one of "
                             f"{list(SPIN_ORDERINGS)}")
    _checks.choice("spin_operators", spin, SPIN_ORDERINGS)
    exchange, file_m = p.get("exchange"), p.get("file_magnetization")
    if exchange is not None:
        exchange = _checks.finite_scalar("exchange", exchange, "eV")
    if exchange is not None and file_m is None:
        raise ParameterError(f"exchange = {exchange!r} eV needs file_magnetization: the M "
                             "(unit vector) at which the _hr.dat's H was computed, since "
                             "H0 = H_file - M.X depends on it (no default is guessed)")
    if exchange is None and file_m is not None:
        raise ParameterError(f"file_magnetization = {file_m!r} without exchange: without "
                             "an exchange M does not enter H; give exchange (J, eV) or "
                             "remove file_magnetization")
    if file_m is not None:
        file_m = [float(x) for x in _checks.unit_vector("file_magnetization", file_m)]
    lattice = _matrix("lattice_vectors", p.get("lattice_vectors"), 2, "[[a1x, a1y], [a2x, a2y]]")
    positions = _matrix("orbital_positions", p.get("orbital_positions"), None,
                        "[[x1, y1], [x2, y2], ...] (one row per orbital)")
    spec = {"type": "tight_binding", "hr_file": hr_file, "hr_file_sha256": file_sha256(hr_file),
            "spin_operators": spin, "exchange": exchange, "file_magnetization": file_m,
            "lattice_vectors": lattice, "orbital_positions": positions,
            "lattice_file": None, "lattice_file_sha256": None,
            "centres_file": None, "centres_file_sha256": None}
    seed, lattice_file, centres_file = companion_files(hr_file)
    if lattice is None:
        if seed is None:
            raise ParameterError(f"lattice_vectors not given and hr_file = '{hr_file}' is "
                                 "not named seedname_hr.dat, so no seedname_tb.dat or "
                                 "seedname.win can be found: give lattice_vectors (nm)")
        if lattice_file is None:
            raise ParameterError(f"lattice_vectors not given and neither {seed}_tb.dat nor "
                                 f"{seed}.win exists: give lattice_vectors (nm)")
        spec["lattice_file"] = str(lattice_file)
        spec["lattice_file_sha256"] = file_sha256(lattice_file)
    if positions is None and centres_file is not None:
        spec["centres_file"] = str(centres_file)
        spec["centres_file_sha256"] = file_sha256(centres_file)
    return spec


def _matrix(name, value, rows, layout):
    """None, or a list of rows of two finite numbers (nm)."""
    if value is None:
        return None
    shape = np.shape(value) if not isinstance(value, (str, bytes, dict)) else ()
    if len(shape) != 2 or shape[1] != 2 or (rows is not None and shape[0] != rows) \
            or shape[0] == 0:
        raise ParameterError(f"{name} = {value!r} must be {layout} in nm")
    return [[_checks.finite_scalar(f"{name}[{i}][{j}]", x, "nm") for j, x in enumerate(row)]
            for i, row in enumerate(value)]


def file_sha256(path):
    """sha256 (hex) of a file's content, memoized per (path, inode, size, mtime): a file
    rewritten in place gets a new mtime and is hashed again."""
    st = os.stat(path)
    return _sha256(os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path, inode, size, mtime_ns):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_FACTORIES = {}


def load_factory(name):
    """(callable, module, sha256 of the module's source when this process imported it)
    of ``"package.module:function"``, imported by name (never evaluated), or a
    ParameterError naming the factory and the reason.

    The digest is taken once per process: a worker that imported the module before its
    file was edited runs the old code, and its digest says so."""
    if name in _FACTORIES:
        return _FACTORIES[name]
    if not isinstance(name, str) or not _FACTORY_NAME.fullmatch(name):
        raise ParameterError(f"factory = {name!r} must be 'package.module:function' (a "
                             "callable returning a TightBindingModel for magnetization=M)")
    module_name, function = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any failure to import is the user's input
        raise ParameterError(f"factory = {name!r}: cannot import {module_name}: "
                             f"{type(err).__name__}: {err} (the module must be importable: "
                             "installed, or its folder on PYTHONPATH)") from None
    func = getattr(module, function, None)
    if not callable(func):
        raise ParameterError(f"factory = {name!r}: {module_name} has no callable "
                             f"{function!r}")
    source = getattr(module, "__file__", None)
    _FACTORIES[name] = (func, module, source and file_sha256(source))
    return _FACTORIES[name]


def _check_file(spec, key, what):
    """The file ``spec[key]`` still has the content of ``spec[key + '_sha256']``."""
    path, recorded = spec[key], spec[f"{key}_sha256"]
    if path is None:
        return
    try:
        now = file_sha256(path)
    except OSError as err:
        raise ParameterError(f"{what} '{path}' of this sweep cannot be read any more: "
                             f"{err.strerror or err}") from None
    if now != recorded:
        raise ParameterError(
            f"{what} '{path}' changed after the sweep's points were set up (sha256 "
            f"{now[:16]}..., expected {recorded[:16]}...): its points would mix two models; "
            "start the sweep again (the store keeps the old file's points apart)")


def check_files(spec):
    """Raise ParameterError unless every file of the model spec ``spec`` still has its
    recorded sha256 (and a factory's module the code this process runs)."""
    if "factory" in spec:
        digest = load_factory(spec["factory"])[2]
        if digest != spec["factory_module_file_sha256"]:
            raise ParameterError(
                f"factory = {spec['factory']!r}: this process runs its module "
                f"{spec['factory_module_file']} as it was when imported (sha256 "
                f"{str(digest)[:16]}...), not the version of the sweep's points "
                f"({str(spec['factory_module_file_sha256'])[:16]}...): start the sweep again")
        _check_file(spec, "factory_module_file", "factory module")
        return
    _check_file(spec, "hr_file", "hr_file")
    _check_file(spec, "lattice_file", "lattice file")
    _check_file(spec, "centres_file", "centres file")


def build_model(spec, magnetization):
    """The TightBindingModel of the model spec ``spec`` at ``magnetization`` (unit vector),
    after :func:`check_files`; built once per process for each (spec, M)."""
    check_files(spec)
    return _model(json.dumps(spec, sort_keys=True), tuple(float(x) for x in magnetization))


@functools.lru_cache(maxsize=CACHED_MODELS)
def _model(key, magnetization):
    spec = json.loads(key)
    if "factory" in spec:
        return _from_factory(spec["factory"], magnetization)
    return dataclasses.replace(_file_model(key), magnetization=magnetization)


@functools.lru_cache(maxsize=CACHED_FILES)
def _file_model(key):
    """The model of an hr_file spec at its file magnetization, read once per process; the
    files are checked again after reading (a file replaced while it was read)."""
    from ..models.tight_binding import TightBindingModel
    spec = json.loads(key)
    model = TightBindingModel.from_wannier90(
        spec["hr_file"], lattice_vectors=spec["lattice_vectors"],
        orbital_positions=spec["orbital_positions"], spin_operators=spec["spin_operators"],
        exchange=spec["exchange"], magnetization=spec["file_magnetization"])
    check_files(spec)
    return model


def _from_factory(name, magnetization):
    from ..models.tight_binding import TightBindingModel
    func = load_factory(name)[0]
    try:
        model = func(magnetization=magnetization)
    except TypeError as err:
        raise ParameterError(f"factory = {name!r} cannot be called as "
                             f"{name.split(':')[1]}(magnetization=M): {err}") from None
    if not isinstance(model, TightBindingModel):
        raise ParameterError(f"factory = {name!r} returned {type(model).__name__}, not a "
                             "kubo_sot.TightBindingModel")
    if not np.allclose(model.magnetization, magnetization, rtol=0, atol=1e-12):
        raise ParameterError(f"factory = {name!r} returned a model with magnetization "
                             f"{model.magnetization.tolist()} when called with "
                             f"magnetization={list(magnetization)}: it must use the M given")
    return model
