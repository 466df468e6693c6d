"""One sweep point: model + linear response -> a flat, JSON-able record of numbers."""

import numpy as np

from ..errors import ParameterError
from ..models import RashbaFerromagnet
from ..models.disorder import WhiteNoiseDisorder
from ..observables.disordered_response import check_disorder_arguments
from ..integrate.kspace import MAX_KPOINTS
from ..constants import BOLTZMANN_EV_PER_K
from ..observables.response import (check_resolvable, linear_response,
                                    validate_response_arguments)

QUANTITIES = ("conductivity", "spin_density", "torkance", "torque", "resistivity")


def build_model(spec, model_factory=None):
    """The model of a point: a tight-binding model named by ``spec["model"]``
    (:func:`kubo_sot.sweep.tight_binding.build_model`: built once per process, its files
    checked against their recorded sha256), else ``model_factory`` (default
    RashbaFerromagnet) of alpha, exchange, mass and magnetization."""
    if "model" in spec:
        if model_factory is not None:
            raise ParameterError(f"model_factory = {model_factory!r} applies to the Rashba "
                                 "parameters (alpha, exchange, mass); a tight-binding model "
                                 "comes from hr_file or factory in the base parameters")
        from .tight_binding import build_model as build_tight_binding
        return build_tight_binding(spec["model"], spec["magnetization"])
    kwargs = dict(alpha=spec["alpha"], exchange=spec["exchange"], mass=spec["mass"],
                  magnetization=tuple(spec["magnetization"]))
    return (model_factory or RashbaFerromagnet)(**kwargs)


def _broadening(spec):
    """Constant Gamma, or white noise whose Born width is the spec's broadening."""
    if spec["disorder"] == "white_noise":
        return WhiteNoiseDisorder.from_born_broadening(spec["broadening"], spec["mass"])
    return spec["broadening"]


def check_point(spec, model_factory=None):
    """Raise ParameterError for an invalid point, without computing anything."""
    model = build_model(spec, model_factory)
    validate_response_arguments(model, spec["fermi_energy"], _broadening(spec),
                                spec["temperature"], spec["rtol"], "eigenbasis", 1)
    if spec["disorder"] == "white_noise":
        check_disorder_arguments(model, spec["temperature"], spec["vertex_corrections"])
    elif spec["vertex_corrections"]:
        raise ParameterError("vertex_corrections = true needs disorder = 'white_noise'")
    from ..observables.torque import field_direction_vector
    field_direction_vector(spec["field_direction"])


def check_resolution(specs, model_factory=None):
    """Raise ParameterError before a sweep starts if a point's broadening is below what
    double precision resolves at its rtol
    (:func:`kubo_sot.observables.response.check_resolvable`, continuum models only),
    checked at the lowest and highest Fermi energy of each group of points equal but for
    it (a check costs ~3 ms; a grid of 1e4 energies costs 2)."""
    groups = {}
    for spec in specs:
        if "model" not in spec:  # a lattice model's integrator has its own budget
            groups.setdefault(_group_key(spec), []).append(spec)
    for members in groups.values():
        members = sorted(members, key=lambda s: s["fermi_energy"])
        for spec in members[:1] + members[1:][-1:]:
            model = build_model(spec, model_factory)
            _, gamma, temperature, rtol = validate_response_arguments(
                model, spec["fermi_energy"], _broadening(spec), spec["temperature"],
                spec["rtol"], "eigenbasis", 1)
            check_resolvable(model, spec["fermi_energy"], gamma,
                             BOLTZMANN_EV_PER_K * temperature, rtol)


def _group_key(spec):
    """What points equal but for the Fermi energy share."""
    return tuple(sorted((k, repr(v)) for k, v in spec.items() if k != "fermi_energy"))


def evaluate_point(spec, model_factory=None):
    """All quantities of one point as plain lists/floats (independent of the back end: a
    tight-binding point's BLAS products run on one thread in every process, see
    :func:`kubo_sot.observables.lattice_response.lattice_response`).

    Every point has the k-point budget of :func:`kubo_sot.linear_response` (MAX_KPOINTS);
    one that misses rtol within it raises ConvergenceError, which ends the sweep with its
    message (the points already stored stay stored)."""
    model = build_model(spec, model_factory)
    r = linear_response(model, spec["fermi_energy"], _broadening(spec),
                        spec["temperature"], spec["rtol"],
                        vertex_corrections=spec["vertex_corrections"], max_kpoints=MAX_KPOINTS)
    return _record(r, spec)


def evaluate_points(specs, model_factory=None):
    """Records of points that differ only in the Fermi energy, from one call of
    linear_response with all of them (one spectral-density sweep: see
    :func:`fermi_energy_groups`); a single point as :func:`evaluate_point`."""
    if len(specs) == 1:
        return [evaluate_point(specs[0], model_factory)]
    spec = specs[0]
    model = build_model(spec, model_factory)
    results = linear_response(model, np.array([s["fermi_energy"] for s in specs]),
                              _broadening(spec), spec["temperature"], spec["rtol"],
                              vertex_corrections=spec["vertex_corrections"],
                              max_kpoints=MAX_KPOINTS)
    return [_record(r, s) for r, s in zip(results, specs)]


def fermi_energy_groups(indices, specs, model_factory=None):
    """The points ``indices`` of ``specs`` as tasks (lists of indices, in order of their
    first point): points equal but for the Fermi energy that one spectral-density sweep
    integrates together (the default model with M along z, or with an in-plane part and
    weak Rashba coupling; constant Gamma, one temperature, at least MIN_POINTS energies),
    every other one alone (at T > 0 the group may still be integrated point by point:
    :func:`kubo_sot.observables.spectral_sweep.thermal_grid`).

    A group's results agree with the point-by-point ones within their error estimates,
    not bitwise, and depend (within them) on which energies share the sweep: a resumed
    sweep integrates its missing energies in a smaller group."""
    from ..observables.response import _sweep_module
    from ..observables.spectral_sweep import MIN_POINTS
    groups, tasks = {}, []
    for i in indices:
        spec = specs[i]
        key = _group_key(spec)
        if key not in groups:  # whether a sweep applies: once per group, not per point
            sweepable = (model_factory is None and "model" not in spec
                         and spec["disorder"] == "constant_gamma"
                         and not spec["vertex_corrections"]
                         and _sweep_module(build_model(spec), "eigenbasis") is not None)
            groups[key] = [] if sweepable else None
            if sweepable:
                tasks.append(groups[key])
        if groups[key] is None:
            tasks.append([i])
        else:
            groups[key].append(i)
    return [task for group in tasks
            for task in ([group] if len(group) >= MIN_POINTS else [[i] for i in group])]


def _record(r, spec):
    """The quantities of a LinearResponse as plain lists/floats (a new entry goes into
    RECORD_SHAPES or RECORD_SCALARS as well: stored points are checked against them)."""
    out = {}
    for name in ("conductivity", "spin_density", "torkance"):
        t = getattr(r, name)
        for part in ("total", "fermi_surface", "fermi_sea", "error"):
            out[f"{name}_{part}"] = np.asarray(getattr(t, part)).tolist()
    try:
        tc = r.torque_coefficients(spec["field_direction"])
        for key in ("field_like", "damping_like"):
            for part, value in tc.parts[key].items():
                out[f"{key}_{part}"] = value
    except ParameterError:  # M parallel to z x E: the decomposition is undefined
        for key in ("field_like", "damping_like"):
            for part in ("total", "fermi_surface", "fermi_sea", "error"):
                out[f"{key}_{part}"] = float("nan")
    sigma = r.conductivity.total
    rho = np.linalg.inv(sigma)
    e = np.asarray(spec["field_direction"], float)
    out["resistivity_total"] = rho.tolist()
    out["rho_ee"] = float(e @ rho @ e)
    out["rho_ee_error"] = float(np.abs(e @ rho) @ r.conductivity.error @ np.abs(rho @ e))
    if "model" in spec:  # N bands: their total electron density (TIGHT_BINDING_SCALARS)
        out["electron_density"] = float(np.sum(r.bands.occupations))
    else:
        out["alpha_kF_over_J"] = r.bands.rashba_to_exchange
        out["n_minus"], out["n_plus"] = r.bands.occupations
    out["n_kpoints"] = r.provenance["n_kpoints"]
    return out


#: Shapes of the tensors of a record (:func:`_record`); every other entry is a number.
RECORD_SHAPES = {**{f"{name}_{part}": shape
                    for name, shape in (("conductivity", (2, 2)), ("spin_density", (3, 2)),
                                        ("torkance", (3, 2)))
                    for part in ("total", "fermi_surface", "fermi_sea", "error")},
                 "resistivity_total": (2, 2)}
RECORD_SCALARS = ([f"{key}_{part}" for key in ("field_like", "damping_like")
                   for part in ("total", "fermi_surface", "fermi_sea", "error")]
                  + ["rho_ee", "rho_ee_error", "alpha_kF_over_J", "n_minus", "n_plus",
                     "n_kpoints"])
#: The scalars of a tight-binding point: its N bands have no n_-, n_+ nor alpha k_F / J,
#: but the electron density of all bands (nm^-2, T = 0, midpoint rule on the zone:
#: :func:`kubo_sot.observables.lattice_response.lattice_band_data`).
RASHBA_ONLY = ("alpha_kF_over_J", "n_minus", "n_plus")
TIGHT_BINDING_SCALARS = ([x for x in RECORD_SCALARS if x not in RASHBA_ONLY]
                         + ["electron_density"])


def check_record(record):
    """Raise ValueError (with the reason) unless ``record`` has exactly the entries of
    :func:`_record`, each of its shape, finite, errors and occupations >= 0, n_kpoints a
    positive integer, alpha k_F / J in [0, inf]; FL/DL may be NaN only all together (M
    parallel to z x E, where the decomposition is undefined).  Used on stored points
    before they are reused."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    tight_binding = "electron_density" in record
    expected = set(RECORD_SHAPES) | set(TIGHT_BINDING_SCALARS if tight_binding
                                        else RECORD_SCALARS)
    if set(record) != expected:
        missing, extra = sorted(expected - set(record)), sorted(set(record) - expected)
        raise ValueError(f"entries missing {missing}, unexpected {extra}")
    for name, shape in RECORD_SHAPES.items():
        value = record[name]
        if not (isinstance(value, list) and len(value) == shape[0]
                and all(isinstance(row, list) and len(row) == shape[1] for row in value)):
            raise ValueError(f"{name} is not a {shape[0]}x{shape[1]} array")
        _finite(name, [x for row in value for x in row], signed=not name.endswith("error"))
    torque = [f"{key}_{part}" for key in ("field_like", "damping_like")
              for part in ("total", "fermi_surface", "fermi_sea", "error")]
    values = [record[name] for name in torque]
    if not all(isinstance(x, float) and np.isnan(x) for x in values):
        for name, x in zip(torque, values):
            _finite(name, [x], signed=not name.endswith("error"))
    _finite("rho_ee", [record["rho_ee"]])
    if tight_binding:
        _finite("electron_density", [record["electron_density"]], signed=False)
    else:
        ratio = record["alpha_kF_over_J"]  # inf at J = 0 (bands.band_data)
        if not (isinstance(ratio, (int, float)) and not isinstance(ratio, bool)
                and ratio >= 0):
            raise ValueError(f"alpha_kF_over_J = {ratio!r} is not a number >= 0")
        for name in ("n_minus", "n_plus"):
            _finite(name, [record[name]], signed=False)
    _finite("rho_ee_error", [record["rho_ee_error"]], signed=False)
    n = record["n_kpoints"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_kpoints = {n!r} is not a positive integer")


def _finite(name, values, signed=True):
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not np.isfinite(x):
            raise ValueError(f"{name} holds {x!r}, not a finite number")
        if not signed and x < 0:
            raise ValueError(f"{name} = {x!r} is negative")
