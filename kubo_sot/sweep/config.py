"""TOML configuration of a sweep (``kubo-sot sweep CONFIG.toml``).

Schema (units in the names' documentation, values plain numbers)::

    [model]                      # fixed model parameters
    alpha = 0.1                  # eV nm
    exchange = 0.1               # eV
    mass = 1.0                   # m_e
    magnetization = [0, 0, 1]    # unit vector (or sweep the angles below)

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

import numpy as np

from ..errors import ParameterError
from .evaluate import QUANTITIES
from .cluster import KEYS as CLUSTER_KEYS
from .grid import PARAMETERS, SETTINGS

SECTIONS = {
    "model": {"alpha", "exchange", "mass", "magnetization"},
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


def load_config(path):
    """(base, grid, quantities) from a TOML file, fully validated (the ``[cluster]``
    section apart: :func:`load_cluster_section`)."""
    data = _read(path)
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ParameterError(f"{path}: unknown section(s) {unknown}; allowed {sorted(SECTIONS)}")
    for section, keys in SECTIONS.items():
        bad = sorted(set(data.get(section, {})) - keys)
        if bad:
            raise ParameterError(f"{path}: unknown key(s) {bad} in [{section}]; allowed "
                                 f"{sorted(keys)}")
    base = {}
    for section in ("model", "response"):
        for key, value in data.get(section, {}).items():
            if key in ("disorder", "vertex_corrections"):
                base[key] = value  # checked with the point (choice / bool)
            elif key in ("magnetization", "field_direction"):
                if not isinstance(value, list):
                    raise ParameterError(f"[{section}] {key} = {value!r} must be a list")
                base[key] = [_number(section, key, v) for v in value]
            else:
                base[key] = _number(section, key, value)
    grid = {key: _axis(key, value) for key, value in data.get("grid", {}).items()}
    if not grid:
        raise ParameterError(f"{path}: [grid] is missing or empty: sweep at least one of "
                             f"{sorted(PARAMETERS)}")
    quantities = data.get("output", {}).get("quantities", list(QUANTITIES))
    return base, grid, quantities
