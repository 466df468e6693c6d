"""Labelled (xarray) results of :func:`kubo_sot.linear_response` over arrays.

``linear_response`` over arrays of parameters returns a numpy object array of
LinearResponse, which carries no labels.  Two helpers give the same labelled Dataset as
:func:`kubo_sot.sweep` (same variable names, dimensions, units and attributes, built by
:func:`kubo_sot.sweep.dataset.to_dataset`):

* :func:`responses_to_xarray` labels results already computed;
* :func:`response_dataset` computes a grid of Fermi energies x broadenings x temperatures
  and labels it, with a progress bar (tqdm, optional) for long grids.
"""

import os

import numpy as np

from ..errors import ParameterError
from ..models.disorder import WhiteNoiseDisorder
from .dataset import to_dataset
from .evaluate import QUANTITIES, _record
from .grid import PARAMETERS

#: Grid axes of :func:`response_dataset`, in this order (dimensions of the Dataset).
RESPONSE_AXES = ("fermi_energy", "broadening", "temperature")


def _spec(response, field_direction):
    """The sweep-point description of one LinearResponse, from its provenance."""
    p = response.provenance
    model = p["model"] if isinstance(p["model"], dict) else {}
    disorder = p.get("disorder")
    if model.get("model") == "TightBindingModel":
        # N bands: the model is named by its provenance (fingerprint of all its arrays),
        # as a sweep names it by its files (the "model" entry of a tight-binding spec).
        identity = {"model": {k: v for k, v in model.items() if k != "magnetization"}}
    else:
        identity = {"alpha": model.get("alpha", np.nan),
                    "exchange": model.get("exchange", np.nan),
                    "mass": model.get("mass", np.nan)}
    return {**identity,
            "magnetization": list(model.get("magnetization", (np.nan,) * 3)),
            "fermi_energy": p["fermi_energy_eV"], "temperature": p["temperature_K"],
            "broadening": (p["broadening_eV"] if disorder is None
                           else disorder["born_broadening_eV"]),
            "rtol": p["rtol"], "field_direction": list(field_direction),
            "disorder": "constant_gamma" if disorder is None else "white_noise",
            "vertex_corrections": bool(p.get("vertex_corrections", False))}


def responses_to_xarray(results, *, field_direction=(1.0, 0.0), quantities=QUANTITIES,
                        **coords):
    """Label LinearResponse results as an xarray.Dataset, like a sweep result.

    Parameters
    ----------
    results : LinearResponse or array_like of LinearResponse
        e.g. ``kubo_sot.linear_response(model, fermi_energy=np.linspace(0, 0.5, 51), ...)``.
    field_direction : (2,) in-plane unit vector, keyword-only
        E^ of the field-like / damping-like torques and of rho_EE (default x).
    quantities : sequence, keyword-only
        Any of "conductivity", "spin_density", "torkance", "torque", "resistivity".
    **coords : 1D array_like
        One keyword per axis of ``results``, in the order of the axes, named after a sweep
        parameter (:data:`kubo_sot.sweep.grid.PARAMETERS`: fermi_energy in eV, broadening in
        eV, temperature in K, ...), with as many values as the axis is long.  Without any,
        the points are laid along one dimension ``point`` with the parameters of each point
        (from its provenance) as coordinates.

    Returns
    -------
    xarray.Dataset
        Variables ``conductivity_total``, ..., ``field_like_total``, ``rho_ee``, ...
        (e^2/h, 1/(V nm), e/nm, h/e^2), tensor components on the dimensions ``current``,
        ``field``, ``spin``, ``torque_component``; units in each variable's attributes.

    Examples
    --------
    >>> import numpy as np, kubo_sot
    >>> m = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> mu = np.array([0.2, 0.3])
    >>> rs = kubo_sot.linear_response(m, mu, 0.01, rtol=1e-3)
    >>> ds = kubo_sot.responses_to_xarray(rs, fermi_energy=mu)
    >>> ds["conductivity_total"].sel(current="x", field="x").dims
    ('fermi_energy',)
    """
    arr = np.asarray(results, dtype=object)
    for name, values in coords.items():
        if name not in PARAMETERS:
            raise ParameterError(f"coordinate {name!r} is not a sweep parameter; allowed: "
                                 + ", ".join(f"{k} [{u}]" for k, u in PARAMETERS.items()))
        if np.ndim(values) != 1:
            raise ParameterError(f"coordinate {name} must be 1D values in "
                                 f"{PARAMETERS[name]}, got shape {np.shape(values)}")
    if coords:
        lengths = tuple(len(v) for v in coords.values())
        if lengths != arr.shape:
            raise ParameterError(
                f"results have shape {arr.shape} but the coordinates "
                f"{', '.join(coords)} have lengths {lengths}: give one coordinate per axis, "
                "in the order of the axes")
    flat = arr.reshape(-1)
    specs = [_spec(r, field_direction) for r in flat]
    records = [_record(r, s) for r, s in zip(flat, specs)]
    axes = {name: [float(x) for x in values] for name, values in coords.items()} or None
    base = {k: v for k, v in specs[0].items() if k not in (coords or RESPONSE_AXES)}
    return to_dataset(axes, specs, records, quantities, base, "linear_response")


def _progress(total, enabled):
    """tqdm progress bar, or None (disabled, or tqdm is not installed)."""
    if enabled is None:
        enabled = total >= PROGRESS_MIN_POINTS
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="point", desc="kubo_sot linear_response")


#: Grids with at least this many points show a progress bar by default.
PROGRESS_MIN_POINTS = 16


def response_dataset(model, fermi_energy, broadening, temperature=0.0, rtol=1e-6, *,
                     field_direction=(1.0, 0.0), quantities=QUANTITIES, progress=None,
                     n_jobs=1, **options):
    """:func:`kubo_sot.linear_response` on the grid fermi_energy x broadening x temperature,
    as a labelled xarray.Dataset (see :func:`responses_to_xarray`).

    Parameters
    ----------
    model : BandModel
    fermi_energy : float or 1D array_like
        mu in eV.
    broadening : float, 1D array_like or WhiteNoiseDisorder
        Gamma in eV.
    temperature : float or 1D array_like
        T in K.
    rtol, n_jobs, **options
        As in :func:`kubo_sot.linear_response` (route, vertex_corrections, kernel).
    field_direction, quantities : keyword-only
        As in :func:`responses_to_xarray`.
    progress : bool or None, keyword-only
        tqdm progress bar (if tqdm is installed); None (default): for grids of at least
        PROGRESS_MIN_POINTS points.

    Returns
    -------
    xarray.Dataset
        Dimensions: the 1D arguments among fermi_energy, broadening, temperature, in that
        order; the scalar ones are recorded in the attribute ``base_parameters``.

    Notes
    -----
    Every point is checked before any is computed.  The Fermi energies of one (broadening, temperature) pair go to linear_response in one
    call when a spectral-density sweep applies to the model (it integrates them together,
    and the bar advances by all of them at once), else in chunks of n_jobs points (the
    joblib workers share a chunk), so the bar advances as points finish.
    """
    from ..observables.response import _sweep_module, validate_response_arguments
    from ..observables.spectral_sweep import MIN_POINTS
    values = {"fermi_energy": fermi_energy, "broadening": broadening,
              "temperature": temperature}
    axes = {}
    for name, value in values.items():
        if isinstance(value, WhiteNoiseDisorder) or np.ndim(value) == 0:
            continue
        if np.ndim(value) != 1:
            raise ParameterError(f"{name} must be a number or 1D values in "
                                 f"{PARAMETERS[name]}, got shape {np.shape(value)}")
        axes[name] = np.asarray(value, float)
    grid = {name: axes.get(name, [values[name]]) for name in RESPONSE_AXES}
    route = options.get("route", "eigenbasis")
    for mu in grid["fermi_energy"]:
        for gamma in grid["broadening"]:
            for t in grid["temperature"]:
                validate_response_arguments(model, mu, gamma, t, rtol, route, n_jobs,
                                            options.get("kernel", "auto"))
    mus = np.asarray(grid["fermi_energy"], float)
    together = (_sweep_module(model, route) is not None and mus.size >= MIN_POINTS
                and not isinstance(broadening, WhiteNoiseDisorder)
                and not options.get("vertex_corrections", False))
    workers = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
    size = mus.size if together else max(1, workers)
    out = np.empty((mus.size, len(grid["broadening"]), len(grid["temperature"])), object)
    bar = _progress(out.size, progress)
    try:
        for j, gamma in enumerate(grid["broadening"]):
            for k, t in enumerate(grid["temperature"]):
                for start in range(0, mus.size, size):
                    chunk = mus[start:start + size]
                    rs = linear_response_chunk(model, chunk, gamma, t, rtol, n_jobs, options)
                    out[start:start + chunk.size, j, k] = rs
                    if bar is not None:
                        bar.update(chunk.size)
    finally:
        if bar is not None:
            bar.close()
    shape = tuple(len(axes[name]) for name in axes)
    kept = out.reshape(shape) if shape else out.reshape(())[()]
    return responses_to_xarray(kept, field_direction=field_direction, quantities=quantities,
                               **axes)


def linear_response_chunk(model, fermi_energies, broadening, temperature, rtol, n_jobs,
                          options):
    """A list of LinearResponse for the Fermi energies (eV) of one chunk."""
    from ..observables.response import linear_response
    if fermi_energies.size == 1:
        return [linear_response(model, float(fermi_energies[0]), broadening, temperature,
                                rtol, n_jobs=n_jobs, **options)]
    return list(linear_response(model, fermi_energies, broadening, temperature, rtol,
                                n_jobs=n_jobs, **options))
