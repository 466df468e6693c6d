"""TOML configuration of a sweep (``kubo-sot sweep CONFIG.toml``).

Schema (units in the names' documentation, values plain numbers)::

    [model]                      # fixed model parameters
    alpha = 0.1                  # eV nm
    exchange = 0.1               # eV
    mass = 1.0                   # m_e
    magnetization = [0, 0, 1]    # unit vector (or sweep the angles below)

or a tight-binding model (:mod:`kubo_sot.sweep.tight_binding`; constant Gamma only), from a
Python factory called as ``function(magnetization=M)``::

    [model]
    factory = "kubo_sot.models.lattices:honeycomb_example"   # "package.module:function"
    magnetization = [0, 0, 1]

or from a Wannier90 file (read by :meth:`kubo_sot.TightBindingModel.from_wannier90`)::

    [model]
    model = "tight_binding"      # optional: implied by hr_file or factory
    hr_file = "data/square_hr.dat"   # relative to this TOML file's folder; H in eV
    spin_operators = "interleaved"   # or "blocks" (Wannier90's two spinor orderings)
    lattice_vectors = [[0.4, 0.0], [0.0, 0.4]]   # nm; default from seedname_tb.dat / .win
    orbital_positions = [[0.0, 0.0]]  # nm, one row per orbital; default seedname_centres.xyz
    exchange = 0.3               # J in eV: on-site X = -J s (optional, not sweepable)
    file_magnetization = [1, 0, 0]   # the M at which the file's H was computed (with exchange)
    magnetization = [0, 0, 1]    # the M of the points (or sweep the angles)

    [response]                   # fixed response parameters
    fermi_energy = 0.3           # eV
    broadening = 0.01            # eV
    temperature = 0.0            # K
    rtol = 1e-6
    field_direction = [1, 0]     # in-plane unit vector (FL/DL, rho_EE)
    disorder = "constant_gamma"  # or "white_noise": SCBA, broadening = Born width (T = 0)
    vertex_corrections = false   # ladder vertex corrections (white_noise only)

    [grid]                       # swept: a list of values or {start, stop, num}
    fermi_energy = {start = 0.05, stop = 0.5, num = 10}
    magnetization_azimuth_deg = [0, 30, 60, 90]

    [output]
    quantities = ["conductivity", "torque", "resistivity"]

    [cluster]                    # optional: SLURM/PBS workers (kubo_sot.sweep.cluster)
    kind = "slurm"               # or "pbs"; --cluster on the command line
    jobs = 4                     # maximum batch jobs (never more than the tasks need)
    cores = 1                    # cores = single-threaded worker processes per job
    memory = "2GB"               # per job
    walltime = "01:00:00"        # per job
    queue = "batch"              # partition / queue
    interface = "ib0"            # network interface of scheduler and workers
    numba_cache_dir = "/shared/numba_cache"

Command-line options override the [cluster] keys.

Every key is checked (unknown keys, non-numbers, ranges, empty grid) before anything runs.
"""

import tomllib
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .evaluate import QUANTITIES
from .cluster import KEYS as CLUSTER_KEYS
from .grid import PARAMETERS, SETTINGS

#: [model] keys of a tight-binding model, with the TOML type each takes.
TIGHT_BINDING_KEYS = {"model": "a string", "factory": "a string 'package.module:function'",
                      "hr_file": "a string (path)", "spin_operators": "a string",
                      "lattice_vectors": "a 2x2 array of numbers (nm)",
                      "orbital_positions": "an Nx2 array of numbers (nm)",
                      "file_magnetization": "a list of 3 numbers"}
SECTIONS = {
    "model": {"alpha", "exchange", "mass", "magnetization", *TIGHT_BINDING_KEYS},
    "response": {"fermi_energy", "broadening", "temperature", "rtol", "field_direction",
                 "disorder", "vertex_corrections"},
    "grid": set(PARAMETERS),
    "output": {"quantities"},
    "cluster": set(CLUSTER_KEYS),
}


def _number(section, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = PARAMETERS.get(key, SETTINGS.get(key, ""))
        raise ParameterError(f"[{section}] {key} = {value!r} must be a plain number "
                             f"(unit {unit}, no unit string)")
    return float(value)


def _axis(key, value):
    if isinstance(value, dict):
        extra = set(value) - {"start", "stop", "num"}
        if extra or set(value) != {"start", "stop", "num"}:
            raise ParameterError(f"[grid] {key} = {value!r}: give start, stop and num only")
        num = value["num"]
        if not isinstance(num, int) or num < 1:
            raise ParameterError(f"[grid] {key}: num = {num!r} must be a positive integer "
                                 "(an empty grid computes nothing)")
        return list(np.linspace(_number("grid", key, value["start"]),
                                _number("grid", key, value["stop"]), num))
    if isinstance(value, list):
        if not value:
            raise ParameterError(f"[grid] {key} is empty: give at least one value "
                                 f"in {PARAMETERS[key]}")
        return [_number("grid", key, v) for v in value]
    return [_number("grid", key, value)]


def _read(path):
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ParameterError(f"{path}: not valid TOML: {err}") from None


def load_cluster_section(path):
    """The ``[cluster]`` table of a sweep's TOML file as a dict (empty if absent); its
    values are checked by :func:`kubo_sot.sweep.cluster.cluster_settings`."""
    section = _read(path).get("cluster", {})
    if not isinstance(section, dict):
        raise ParameterError(f"{path}: cluster = {section!r} must be a [cluster] table")
    return section


def _model_setting(path, key, value):
    """A tight-binding [model] key of the TOML type it takes (the values themselves are
    checked with the points: :func:`kubo_sot.sweep.tight_binding.model_spec`); a relative
    hr_file is taken from the TOML file's folder."""
    kind = TIGHT_BINDING_KEYS[key]
    if key in ("model", "factory", "hr_file", "spin_operators"):
        if not isinstance(value, str):
            raise ParameterError(f"[model] {key} = {value!r} must be {kind}")
        if key == "hr_file":
            if not value:
                raise ParameterError("[model] hr_file = '' must be a path of a Wannier90 "
                                     "seedname_hr.dat")
            return str(Path(path).resolve().parent / Path(value).expanduser())
        return value
    if key == "file_magnetization":
        if not isinstance(value, list):
            raise ParameterError(f"[model] {key} = {value!r} must be {kind}")
        return [_number("model", key, v) for v in value]
    if not (isinstance(value, list) and value
            and all(isinstance(row, list) and len(row) == 2 for row in value)):
        raise ParameterError(f"[model] {key} = {value!r} must be {kind}")
    return [[_number("model", key, v) for v in row] for row in value]


def _check_keys(path, section, table):
    bad = sorted(set(table) - SECTIONS[section])
    if bad:
        raise ParameterError(f"{path}: unknown key(s) {bad} in [{section}]; allowed "
                             f"{sorted(SECTIONS[section])}")


def _base_value(path, section, key, value):
    """A [model] or [response] value as a base parameter, of the TOML type it takes."""
    if section == "model" and key in TIGHT_BINDING_KEYS:
        return _model_setting(path, key, value)
    if key in ("disorder", "vertex_corrections"):
        return value  # checked with the point (choice / bool)
    if key in ("magnetization", "field_direction"):
        if not isinstance(value, list):
            raise ParameterError(f"[{section}] {key} = {value!r} must be a list")
        return [_number(section, key, v) for v in value]
    return _number(section, key, value)


def load_config(path):
    """(base, grid, quantities) from a TOML file, fully validated (the ``[cluster]``
    section apart: :func:`load_cluster_section`)."""
    data = _read(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ParameterError(f"{path}: unknown section(s) {unknown}; allowed {sorted(SECTIONS)}")
    for section in SECTIONS:
        _check_keys(path, section, data.get(section, {}))
    base = {key: _base_value(path, section, key, value)
            for section in ("model", "response")
            for key, value in data.get(section, {}).items()}
    grid = {key: _axis(key, value) for key, value in data.get("grid", {}).items()}
    if not grid:
        raise ParameterError(f"{path}: [grid] is missing or empty: sweep at least one of "
                             f"{sorted(PARAMETERS)}")
    quantities = data.get("output", {}).get("quantities", list(QUANTITIES))
    return base, grid, quantities


def load_model_section(path):
    """The ``[model]`` table of a TOML file as base parameters (for ``kubo-sot response
    --model-config``): the keys and their TOML types checked as by :func:`load_config`, a
    relative hr_file taken from the file's folder; the other sections are ignored, so a
    sweep's configuration serves as well."""
    section = _read(path).get("model")
    if not isinstance(section, dict):
        raise ParameterError(f"{path}: no [model] table (give the tight-binding model as "
                             "in a sweep's configuration: factory = 'package.module:function' "
                             "or hr_file = ...)")
    _check_keys(path, "model", section)
    return {key: _base_value(path, "model", key, value) for key, value in section.items()}
