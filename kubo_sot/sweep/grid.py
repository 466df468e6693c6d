"""Sweep parameters: names, units, validation, and the list of points of a sweep."""

import functools
import hashlib
import importlib
import itertools
import math
import os
import re
from pathlib import Path

import numpy as np

from .. import _checks
from ..errors import ParameterError

#: Parameters a sweep can set, with their units.
PARAMETERS = {
    "alpha": "eV nm",
    "exchange": "eV",
    "mass": "m_e",
    "fermi_energy": "eV",
    "broadening": "eV",
    "temperature": "K",
    "magnetization_polar_deg": "deg",
    "magnetization_azimuth_deg": "deg",
}
#: Fixed (not swept) settings of every point.
SETTINGS = {"magnetization": "unit vector", "rtol": "relative", "field_direction": "unit vector",
            "disorder": "constant_gamma | white_noise (broadening = Born width)",
            "vertex_corrections": "true | false (white_noise only)",
            "model": "rashba | tight_binding",
            "hr_file": "path of a Wannier90 seedname_hr.dat (H in eV)",
            "lattice_vectors": "[[a1x, a1y], [a2x, a2y]] in nm",
            "spin_operators": "interleaved | blocks",
            "file_magnetization": "unit vector (the M of the _hr.dat's H)",
            "factory": "'package.module:function' returning a TightBindingModel"}
DEFAULTS = {"mass": 1.0, "temperature": 0.0, "rtol": 1e-6, "field_direction": (1.0, 0.0),
            "disorder": "constant_gamma", "vertex_corrections": False}
DISORDER_MODELS = ("constant_gamma", "white_noise")
#: Allowed ranges of the magnetization angles (deg): the polar angle from +z, the azimuth
#: from +x (two full turns either way, so that any usual angle grid fits; no wrapping of
#: larger values is guessed).
ANGLE_RANGES = {"magnetization_polar_deg": (0.0, 180.0),
                "magnetization_azimuth_deg": (-360.0, 360.0)}
MODEL_TYPES = ("rashba", "tight_binding")
#: Model keys of each kind of model (base parameters; ``model`` names the kind): a key of
#: another kind is an error, never ignored.
RASHBA_KEYS = ("alpha", "exchange", "mass")
HR_FILE_KEYS = ("hr_file", "lattice_vectors", "spin_operators", "exchange",
                "file_magnetization")
FACTORY_KEYS = ("factory",)
MODEL_KEYS = set(RASHBA_KEYS) | set(HR_FILE_KEYS) | set(FACTORY_KEYS)
SPIN_ORDERINGS = ("interleaved", "blocks")
_FACTORY_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


def magnetization_from_angles(polar_deg, azimuth_deg):
    t, p = math.radians(polar_deg), math.radians(azimuth_deg)
    m = (math.sin(t) * math.cos(p), math.sin(t) * math.sin(p), math.cos(t))
    return tuple(float(x) / math.sqrt(sum(y * y for y in m)) for x in m)


def check_names(names, where):
    unknown = sorted(set(names) - set(PARAMETERS) - set(SETTINGS))
    if unknown:
        raise ParameterError(f"unknown {where} parameter(s) {unknown}; allowed: "
                             + ", ".join(f"{k} [{u}]" for k, u in
                                         {**PARAMETERS, **SETTINGS}.items()))


def grid_values(name, values):
    """Validate one grid axis: a non-empty list of finite numbers."""
    if name not in PARAMETERS:
        check_names([name], "grid")
        raise ParameterError(f"grid parameter {name!r} cannot be swept; sweepable: "
                             f"{sorted(PARAMETERS)}")
    if isinstance(values, (str, bytes, dict)):
        raise ParameterError(f"grid {name} = {values!r} must be a list of numbers in "
                             f"{PARAMETERS[name]}")
    try:
        raw = np.asarray(values, dtype=object).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"grid {name} = {values!r} must be numbers in "
                             f"{PARAMETERS[name]}") from None
    if raw.size == 0:
        raise ParameterError(f"grid {name} is empty: give at least one value "
                             f"in {PARAMETERS[name]}")
    return [_scalar(f"grid {name}", name, x) for x in raw]


def _scalar(label, name, value):
    """A finite number (no bool, no string), angles within ANGLE_RANGES."""
    if name in ANGLE_RANGES:
        return _checks.in_range(label, value, PARAMETERS[name], *ANGLE_RANGES[name])
    return _checks.finite_scalar(label, value, PARAMETERS.get(name, SETTINGS.get(name, "")))


def _vector(name, value, sizes):
    """A list of 2 or 3 finite numbers (a direction), never a string."""
    if isinstance(value, (str, bytes)) or np.ndim(value) != 1 or len(value) not in sizes:
        raise ParameterError(f"{name} = {value!r} must be a list of "
                             f"{' or '.join(map(str, sizes))} real numbers ({SETTINGS[name]})")
    return [_checks.finite_scalar(f"{name}[{i}]", x, "(direction)") for i, x in
            enumerate(value)]


def point_spec(base, overrides):
    """The full, canonical input of one point (what its hash is computed from).

    A Rashba point (``model`` absent or "rashba") is the flat dict of its parameters, as it
    always was (stored points stay valid); a tight-binding point identifies its model in
    ``spec["model"]`` (:func:`tight_binding_model_spec`)."""
    if _model_kind(base, overrides) != "rashba":
        return _tight_binding_point_spec(base, overrides)
    p = {**DEFAULTS, **base, **overrides}
    for name in ("alpha", "exchange", "mass", "fermi_energy", "broadening", "temperature",
                 "rtol", *ANGLE_RANGES):
        if name in p:
            p[name] = _scalar(name, name, p[name])
    if "magnetization" in p:  # a given M must be a unit vector, even if angles replace it
        p["magnetization"] = _checks.unit_vector("magnetization", p["magnetization"])
    p["field_direction"] = _vector("field_direction", p["field_direction"], (2, 3))
    _magnetization(p, base)
    missing = [k for k in ("alpha", "exchange", "fermi_energy", "broadening",
                           "magnetization") if k not in p]
    if missing:
        raise ParameterError(f"parameters {missing} are neither in the base parameters nor "
                             "in the grid")
    _checks.choice("disorder", p["disorder"], DISORDER_MODELS)
    if not isinstance(p["vertex_corrections"], bool):
        raise ParameterError(f"vertex_corrections = {p['vertex_corrections']!r} must be true "
                             "or false")
    return {
        "disorder": p["disorder"], "vertex_corrections": p["vertex_corrections"],
        "alpha": float(p["alpha"]), "exchange": float(p["exchange"]),
        "mass": float(p["mass"]),
        "magnetization": [float(x) for x in p["magnetization"]],
        "fermi_energy": float(p["fermi_energy"]), "broadening": float(p["broadening"]),
        "temperature": float(p["temperature"]), "rtol": float(p["rtol"]),
        "field_direction": [float(x) for x in p["field_direction"]],
    }


def _model_kind(base, overrides):
    """"rashba" or "tight_binding", after checking that every model key of ``base`` and of
    the swept ``overrides`` applies to that kind of model."""
    kind = base.get("model", "tight_binding" if "factory" in base else "rashba")
    if not isinstance(kind, str) or kind not in MODEL_TYPES:
        raise ParameterError(f"model = {kind!r} must be one of {list(MODEL_TYPES)}")
    if kind == "rashba":
        allowed, what = RASHBA_KEYS, "model = 'rashba' (alpha, exchange, mass)"
    elif "factory" in base and "hr_file" in base:
        raise ParameterError(f"hr_file = {base['hr_file']!r} and factory = "
                             f"{base['factory']!r}: give one of them, not both")
    elif "factory" in base:
        allowed, what = FACTORY_KEYS, "a tight-binding model from a factory (factory only)"
    elif "hr_file" in base:
        allowed, what = HR_FILE_KEYS, ("a tight-binding model from an hr_file (hr_file, "
                                       "lattice_vectors, spin_operators, exchange, "
                                       "file_magnetization)")
    else:
        raise ParameterError("model = 'tight_binding' needs hr_file (a Wannier90 "
                             "seedname_hr.dat) or factory ('package.module:function')")
    for where, names in (("model", base), ("grid", overrides)):
        wrong = sorted(set(names) & (MODEL_KEYS - set(allowed)))
        if wrong:
            values = ", ".join(f"{k} = {names[k]!r}" for k in wrong)
            raise ParameterError(f"{where} parameter(s) {values} do not apply to {what}")
    return kind


def _magnetization(p, base):
    """p["magnetization"] from the angles of the point (missing angles from base's M)."""
    if "magnetization" in p:  # a given M must be a unit vector, even if angles replace it
        p["magnetization"] = _checks.unit_vector("magnetization", p["magnetization"])
    polar = p.pop("magnetization_polar_deg", None)
    azimuth = p.pop("magnetization_azimuth_deg", None)
    if polar is not None or azimuth is not None:
        if "magnetization" in base and (polar is None or azimuth is None):
            m0 = np.asarray(base["magnetization"], float)
            polar = math.degrees(math.acos(max(-1.0, min(1.0, m0[2])))) if polar is None \
                else polar
            azimuth = math.degrees(math.atan2(m0[1], m0[0])) if azimuth is None else azimuth
        p["magnetization"] = magnetization_from_angles(polar or 0.0, azimuth or 0.0)


def _tight_binding_point_spec(base, overrides):
    """Point spec of a tight-binding model: constant Gamma only (the Born self-energy and
    vertex corrections exist for the continuum model alone)."""
    p = {**DEFAULTS, **base, **overrides}
    del p["mass"]  # the Rashba model's default, no parameter of this model
    for name in ("exchange", "fermi_energy", "broadening", "temperature", "rtol",
                 *ANGLE_RANGES):
        if name in p:
            p[name] = _scalar(name, name, p[name])
    p["field_direction"] = _vector("field_direction", p["field_direction"], (2, 3))
    _magnetization(p, base)
    missing = [k for k in ("fermi_energy", "broadening", "magnetization") if k not in p]
    if missing:
        raise ParameterError(f"parameters {missing} are neither in the base parameters nor "
                             "in the grid")
    _checks.choice("disorder", p["disorder"], DISORDER_MODELS)
    if p["disorder"] != "constant_gamma":
        raise ParameterError(f"disorder = {p['disorder']!r}: a tight-binding model takes "
                             "disorder = 'constant_gamma' only (the white-noise Born "
                             "self-energy is implemented for the continuum Rashba model)")
    if p["vertex_corrections"] is not False:
        raise ParameterError(f"vertex_corrections = {p['vertex_corrections']!r}: a "
                             "tight-binding model takes false only (constant Gamma)")
    return {
        "disorder": p["disorder"], "vertex_corrections": False,
        "model": tight_binding_model_spec(p),
        "magnetization": [float(x) for x in p["magnetization"]],
        "fermi_energy": float(p["fermi_energy"]), "broadening": float(p["broadening"]),
        "temperature": float(p["temperature"]), "rtol": float(p["rtol"]),
        "field_direction": [float(x) for x in p["field_direction"]],
    }


def tight_binding_model_spec(p):
    """The JSON-able identity of a tight-binding model (the model part of a point spec).

    From an hr_file: its absolute path and the sha256 of its content, and of the
    ``_tb.dat`` / ``.win`` (lattice, when lattice_vectors is not given) and
    ``_centres.xyz`` (orbital positions, where it exists) that
    :func:`kubo_sot.models.wannier90.from_wannier90` reads with it, plus spin_operators,
    exchange (J, eV), file_magnetization and lattice_vectors (nm).  A changed file is a
    different point: the store never reuses its old results.  From a factory: its name
    and the sha256 of its module's source file (other files the factory reads are not
    tracked)."""
    if "factory" in p:
        name = p["factory"]
        module = load_factory(name)[1]
        source = getattr(module, "__file__", None)
        return {"type": "tight_binding", "factory": name,
                "factory_module_file": source and os.path.abspath(source),
                "factory_module_sha256": source and file_sha256(source)}
    hr_file = p["hr_file"]
    if not isinstance(hr_file, (str, os.PathLike)):
        raise ParameterError(f"hr_file = {hr_file!r} must be a path (str)")
    hr_file = os.path.abspath(os.fspath(hr_file))
    if not os.path.isfile(hr_file):
        raise ParameterError(f"hr_file = '{hr_file}' does not exist or is not a file "
                             "(a relative path is taken from the TOML file's folder, or "
                             "in Python from the working directory)")
    spin = p.get("spin_operators")
    if spin is None:
        raise ParameterError(f"spin_operators missing for hr_file = '{hr_file}': a "
                             "Wannier90 file does not say how its orbitals carry spin; "
                             f"give one of {list(SPIN_ORDERINGS)}")
    _checks.choice("spin_operators", spin, SPIN_ORDERINGS)
    exchange, file_m = p.get("exchange"), p.get("file_magnetization")
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
    lattice = p.get("lattice_vectors")
    if lattice is not None:
        if (isinstance(lattice, (str, bytes)) or np.shape(lattice) != (2, 2)):
            raise ParameterError(f"lattice_vectors = {lattice!r} must be [[a1x, a1y], "
                                 "[a2x, a2y]] in nm")
        lattice = [[_checks.finite_scalar(f"lattice_vectors[{i}][{j}]", x, "nm")
                    for j, x in enumerate(row)] for i, row in enumerate(lattice)]
    spec = {"type": "tight_binding", "hr_file": hr_file, "hr_file_sha256": file_sha256(hr_file),
            "spin_operators": spin, "exchange": exchange, "file_magnetization": file_m,
            "lattice_vectors": lattice, "lattice_file": None, "lattice_file_sha256": None,
            "centres_file": None, "centres_file_sha256": None}
    seed = _seed(hr_file)
    if lattice is None:
        if seed is None:
            raise ParameterError(f"lattice_vectors not given and hr_file = '{hr_file}' is "
                                 "not named seedname_hr.dat, so no seedname_tb.dat or "
                                 "seedname.win can be found: give lattice_vectors (nm)")
        found = [f for f in (f"{seed}_tb.dat", f"{seed}.win") if os.path.isfile(f)]
        if not found:
            raise ParameterError(f"lattice_vectors not given and neither {seed}_tb.dat nor "
                                 f"{seed}.win exists: give lattice_vectors (nm)")
        spec["lattice_file"], spec["lattice_file_sha256"] = found[0], file_sha256(found[0])
    if seed is not None and os.path.isfile(f"{seed}_centres.xyz"):
        centres = f"{seed}_centres.xyz"
        spec["centres_file"], spec["centres_file_sha256"] = centres, file_sha256(centres)
    return spec


def _seed(hr_file):
    """seedname (as a path string) of seedname_hr.dat, or None (the rule of
    :func:`kubo_sot.models.wannier90.from_wannier90`)."""
    name = Path(hr_file).name
    return str(Path(hr_file).with_name(name[:-len("_hr.dat")])) \
        if name.endswith("_hr.dat") else None


def file_sha256(path):
    """sha256 (hex) of a file's content, memoized per (path, inode, size, mtime)."""
    st = os.stat(path)
    return _sha256(os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path, inode, size, mtime_ns):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_factory(name):
    """(callable, module) of ``"package.module:function"``, imported by name (never
    evaluated), or a ParameterError naming the factory and the reason."""
    if not isinstance(name, str) or not _FACTORY_NAME.fullmatch(name):
        raise ParameterError(f"factory = {name!r} must be 'package.module:function' (a "
                             "callable returning a TightBindingModel for magnetization=)")
    module_name, function = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any failure to import is the user's input
        raise ParameterError(f"factory = {name!r}: cannot import {module_name}: "
                             f"{type(err).__name__}: {err}") from None
    func = getattr(module, function, None)
    if not callable(func):
        raise ParameterError(f"factory = {name!r}: {module_name} has no callable "
                             f"{function!r}")
    return func, module


def expand(base, grid=None, points=None):
    """(axes, specs): the Cartesian product of ``grid`` or the explicit list ``points``.

    axes is a dict name -> values (product) or None (explicit list).
    """
    check_names(base, "base")
    if (grid is None) == (points is None):
        raise ParameterError("give either grid={name: values} (Cartesian product) or "
                             "points=[{name: value}, ...] (explicit list)")
    if grid is not None:
        if not grid:
            raise ParameterError("grid is empty: give at least one parameter to sweep")
        axes = {name: grid_values(name, values) for name, values in grid.items()}
        combos = itertools.product(*axes.values())
        specs = [point_spec(base, dict(zip(axes, c))) for c in combos]
        return axes, specs
    if len(points) == 0:
        raise ParameterError("points is empty: give at least one point")
    specs = []
    for i, q in enumerate(points):
        for name, value in q.items():
            grid_values(name, [value])
        specs.append(point_spec(base, q))
    return None, specs
