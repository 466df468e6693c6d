"""Sweep parameters: names, units, validation, and the list of points of a sweep."""

import itertools
import math

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .tight_binding import model_spec as tight_binding_model_spec

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
            "orbital_positions": "[[x1, y1], ...] in nm (one row per orbital)",
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
HR_FILE_KEYS = ("hr_file", "lattice_vectors", "orbital_positions", "spin_operators",
                "exchange", "file_magnetization")
FACTORY_KEYS = ("factory",)
MODEL_KEYS = set(RASHBA_KEYS) | set(HR_FILE_KEYS) | set(FACTORY_KEYS)


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
    ``spec["model"]`` (:func:`kubo_sot.sweep.tight_binding.model_spec`)."""
    if _model_kind(base, overrides) != "rashba":
        return _tight_binding_point_spec(base, overrides)
    p = {**DEFAULTS, **base, **overrides}
    common = _common_settings(p, base, ("alpha", "exchange", "mass"), ("alpha", "exchange"))
    if not isinstance(p["vertex_corrections"], bool):
        raise ParameterError(f"vertex_corrections = {p['vertex_corrections']!r} must be true "
                             "or false")
    return {**common, "vertex_corrections": p["vertex_corrections"],
            "alpha": float(p["alpha"]), "exchange": float(p["exchange"]),
            "mass": float(p["mass"])}


def _common_settings(p, base, model_scalars, required):
    """The entries every point spec has, from the merged parameters ``p`` (converted in
    place): the model's scalars ``model_scalars`` and the response's checked as numbers,
    the field direction, M (from the angles where they are swept), the ``required`` model
    parameters and the response's present, the disorder model one of DISORDER_MODELS."""
    for name in (*model_scalars, "fermi_energy", "broadening", "temperature", "rtol",
                 *ANGLE_RANGES):
        if name in p:
            p[name] = _scalar(name, name, p[name])
    p["field_direction"] = _vector("field_direction", p["field_direction"], (2, 3))
    _magnetization(p, base)
    missing = [k for k in (*required, "fermi_energy", "broadening", "magnetization")
               if k not in p]
    if missing:
        raise ParameterError(f"parameters {missing} are neither in the base parameters nor "
                             "in the grid")
    _checks.choice("disorder", p["disorder"], DISORDER_MODELS)
    return {"disorder": p["disorder"],
            "magnetization": [float(x) for x in p["magnetization"]],
            "fermi_energy": float(p["fermi_energy"]), "broadening": float(p["broadening"]),
            "temperature": float(p["temperature"]), "rtol": float(p["rtol"]),
            "field_direction": [float(x) for x in p["field_direction"]]}


def _model_kind(base, overrides):
    """"rashba" or "tight_binding", after checking that every model key of ``base`` and of
    the swept ``overrides`` applies to that kind of model."""
    tight_binding = "factory" in base or "hr_file" in base
    kind = base.get("model", "tight_binding" if tight_binding else "rashba")
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
                                       "lattice_vectors, orbital_positions, "
                                       "spin_operators, exchange, file_magnetization)")
    else:
        raise ParameterError("model = 'tight_binding' needs hr_file (a Wannier90 "
                             "seedname_hr.dat) or factory ('package.module:function')")
    for where, names in (("model", base), ("grid", overrides)):
        wrong = sorted(set(names) & (MODEL_KEYS - set(allowed)))
        if wrong:
            values = ", ".join(f"{k} = {names[k]!r}" for k in wrong)
            raise ParameterError(f"{where} parameter(s) {values} do not apply to {what}")
    if kind == "tight_binding" and "exchange" in overrides:
        # J is a property of the file (H0 = H_file - M_file.X with X = -J s): a swept J
        # would pretend the same file holds several exchange splittings.
        raise ParameterError(f"grid exchange = {overrides['exchange']!r} eV: the exchange J "
                             "of an hr_file describes the file (H0 = H_file - "
                             "file_magnetization . X, X = -J s) and cannot be swept; give it "
                             "in [model]")
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
    vertex corrections exist for the continuum model alone); ``spec["model"]`` identifies
    the model (:func:`kubo_sot.sweep.tight_binding.model_spec`), ``spec["magnetization"]``
    is its M."""
    p = {**DEFAULTS, **base, **overrides}
    del p["mass"]  # the Rashba model's default, no parameter of this model
    common = _common_settings(p, base, ("exchange",), ())
    if p["disorder"] != "constant_gamma":
        raise ParameterError(f"disorder = {p['disorder']!r}: a tight-binding model takes "
                             "disorder = 'constant_gamma' only (the white-noise Born "
                             "self-energy is implemented for the continuum Rashba model)")
    if p["vertex_corrections"] is not False:
        raise ParameterError(f"vertex_corrections = {p['vertex_corrections']!r}: a "
                             "tight-binding model takes false only (constant Gamma)")
    return {**common, "vertex_corrections": False, "model": tight_binding_model_spec(p)}


#: Largest number of points of one sweep, and the memory it may take: each point holds
#: its spec (~0.8 kB measured with tracemalloc) and, once computed, its record of ~40
#: numbers in Python lists and its key (~3 kB): BYTES_PER_POINT in all.
MAX_GRID_POINTS = 1_000_000
BYTES_PER_POINT = 4_000
MAX_GRID_BYTES = 4 * 1024 ** 3


def check_grid_size(n_points, what):
    """Raise ParameterError, before anything is allocated, when a sweep of ``n_points``
    exceeds MAX_GRID_POINTS or its memory estimate n_points * BYTES_PER_POINT exceeds
    MAX_GRID_BYTES."""
    memory = n_points * BYTES_PER_POINT
    if n_points > MAX_GRID_POINTS or memory > MAX_GRID_BYTES:
        raise ParameterError(
            f"{what} has {n_points:,} points (~{memory / 1024 ** 3:.3g} GB of specs and "
            f"results in memory); allowed at most {MAX_GRID_POINTS:,} points and "
            f"{MAX_GRID_BYTES / 1024 ** 3:.3g} GB: split it into several sweeps (one store "
            "may hold them all)")


def _axis_length(values):
    """The number of values a grid axis will have, without converting them (a non-list is
    left for grid_values to refuse)."""
    if isinstance(values, (str, bytes, dict)):
        return 1
    try:
        return int(np.size(values)) if isinstance(values, np.ndarray) else len(values)
    except TypeError:
        return 1


def expand(base, grid=None, points=None):
    """(axes, specs): the Cartesian product of ``grid`` or the explicit list ``points``.

    axes is a dict name -> values (product) or None (explicit list).  The number of points
    is checked first (:func:`check_grid_size`).
    """
    check_names(base, "base")
    if (grid is None) == (points is None):
        raise ParameterError("give either grid={name: values} (Cartesian product) or "
                             "points=[{name: value}, ...] (explicit list)")
    if grid is not None:
        if not grid:
            raise ParameterError("grid is empty: give at least one parameter to sweep")
        check_grid_size(math.prod(_axis_length(v) for v in grid.values()), "the grid")
        axes = {name: grid_values(name, values) for name, values in grid.items()}
        combos = itertools.product(*axes.values())
        specs = [point_spec(base, dict(zip(axes, c))) for c in combos]
        return axes, specs
    if len(points) == 0:
        raise ParameterError("points is empty: give at least one point")
    check_grid_size(len(points), "the list of points")
    specs = []
    for i, q in enumerate(points):
        for name, value in q.items():
            grid_values(name, [value])
        specs.append(point_spec(base, q))
    return None, specs
