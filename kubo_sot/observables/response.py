"""Linear response of a band model to an in-plane electric field (Kubo-Bastin).

Conductivity, current-induced spin density and torkance, each split into its Fermi-surface
(I(a) + I(b)) and Fermi-sea (II) parts with a k-integration error estimate
(docs/conventions.md §3-4).  Two routes compute the same per-k integrand:
``route="eigenbasis"`` (closed-form energy integrals, fast) and ``route="green"``
(explicit Green's functions and numerical energy integration, the check).
"""

import numpy as np

from .. import _checks
from .._parallel import interleaved_chunks
from ..constants import BOLTZMANN_EV_PER_K
from ..errors import ParameterError
from ..integrate.kspace import MAX_KPOINTS, KSpaceIntegral, integrate_kspace
from ..kernels.green import ConstantBroadening
from ..models.base import BandModel
from ..models.disorder import WhiteNoiseDisorder
from . import spectral_sweep, spectral_sweep_anisotropic
from .disordered_response import check_disorder_arguments, disordered_response
from .lattice_response import is_lattice_model, lattice_response
from .packed_integral import (KERNELS, LAYOUT, N_COMPONENTS, _assemble,
                              _exchange_and_magnetization, _report_convergence, _tolerances,
                              angular_average, response_integrand)

ROUTES = ("eigenbasis", "green")
RTOL_RANGE = (0.0, 0.1)
# Smallest k-point budget accepted (the initial mesh of one anisotropic point is ~1e4).
MIN_KPOINTS = 1000


def _grading(rtol):
    """(factor, steps) of the initial radial grading for rtol (kspace.integrate_kspace):
    the default, factor 2 out to 512 widths, costs least at rtol <= 1e-5; coarser ones,
    refined where the error estimate asks, cost less at looser tolerances (sum over the 8
    benchmark points at rtol 1e-3: 26-28 ms with factor 4 against 40 ms; at 1e-4: 33 ms with
    factor 3 against 39 ms)."""
    if rtol >= 1e-3:
        return (4.0, 5)
    if rtol >= 1e-4:
        return (3.0, 7)
    return None


def validate_response_arguments(model, fermi_energy, broadening, temperature, rtol, route,
                                n_jobs, kernel="auto", max_kpoints=MAX_KPOINTS):
    """Check every argument of :func:`linear_response`; return the cleaned values."""
    if not (isinstance(model, BandModel) or is_lattice_model(model)):
        members = [*BandModel.__annotations__, *(name for name, value in vars(BandModel).items()
                                                 if callable(value) and name[0] != "_")]
        missing = [name for name in members if not hasattr(model, name)]
        raise ParameterError(f"model = {model!r} does not implement the BandModel protocol "
                             f"(kubo_sot.models.base): it lacks {', '.join(missing)} "
                             "(e.g. kubo_sot.RashbaFerromagnet has them all); for your own "
                             "lattice model use kubo_sot.TightBindingModel")
    mu = _checks.finite_scalar("fermi_energy", fermi_energy, "eV")
    if isinstance(broadening, (ConstantBroadening, WhiteNoiseDisorder)):
        gamma = broadening
    else:
        gamma = ConstantBroadening(_checks.positive("broadening", broadening, "eV"))
    temperature = _checks.non_negative("temperature", temperature, "K")
    rtol = _checks.in_range("rtol", rtol, "(relative)", *RTOL_RANGE, low_open=True,
                            high_open=True)
    _checks.choice("route", route, ROUTES)
    _checks.choice("kernel", kernel, KERNELS)
    _checks.n_jobs(n_jobs)
    _checks.integer("max_kpoints", max_kpoints, MIN_KPOINTS, "k-point budget")
    bottom = model.band_bottom()
    if mu < bottom:
        raise ParameterError(
            f"fermi_energy = {mu:g} eV is below the band bottom {bottom:.6g} eV: there are "
            f"no states; allowed range [{bottom:.6g}, inf) eV")
    return mu, gamma, temperature, rtol


#: k-space strategies (``integrator=``), and the Brillouin-zone scheme of each zone one
#: (lattice_response.BRILLOUIN_ZONE_SCHEMES; "auto" chooses by the forced cells' cost).
INTEGRATORS = ("auto", "polar", "brillouin_zone", "brillouin_zone_cells",
               "brillouin_zone_lines")
ZONE_SCHEMES = {"brillouin_zone": "auto", "brillouin_zone_cells": "cells",
                "brillouin_zone_lines": "lines"}
# What double precision resolves (check_resolvable).  A feature of width w = W / (hbar v)
# in k (W = max(Gamma, k_B T)) at radius k is sampled only if w >= RESOLUTION_FACTOR eps k:
# the abscissae k + w x carry rounding eps k, and below ~1e3 eps k the Gauss nodes on an
# interval of width ~w no longer resolve the Lorentzian (nor can it be bisected: the
# quadrature stops splitting at 1e-13 relative).
RESOLUTION_FACTOR = 1e3
# Rounding noise: E(k) - mu is computed to ~eps E_scale (E_scale = |mu| + the largest
# element of H at the feature), which moves a Lorentzian of width W by eps E_scale / W
# relative; the error estimate cannot fall below that noise, so rtol needs
# W >= NOISE_FACTOR eps E_scale / rtol.
NOISE_FACTOR = 1.0


def smallest_resolvable_width(model, fermi_energy, rtol, energy_width=1.0):
    """The smallest energy width W = max(Gamma, k_B T) in eV that double precision resolves
    at rtol on ``model`` at ``fermi_energy`` (RESOLUTION_FACTOR, NOISE_FACTOR):

        W_min = max(RESOLUTION_FACTOR eps k hbar v,  NOISE_FACTOR eps E_scale / rtol)

    over the sharp features along 16 rays (model.ray_breakpoints: Fermi crossings of radius
    k = k_F and width W / (hbar v_F) in k, minimal gaps); eps is the machine epsilon.
    ``energy_width`` is the width at which the breakpoints are located (their widths scale
    with it)."""
    eps = np.finfo(float).eps
    phi = 2.0 * np.pi * (np.arange(16) + 0.5) / 16
    radii, widths = (np.asarray(x, float) for x in
                     model.ray_breakpoints(phi, fermi_energy, energy_width))
    ok = np.isfinite(radii) & np.isfinite(widths) & (radii > 0) & (widths > 0)
    if not ok.any():
        return 0.0
    # width in k = W / (hbar v): W_min / W = RESOLUTION_FACTOR eps k / width.
    resolution = RESOLUTION_FACTOR * eps * energy_width * np.max(radii[ok] / widths[ok])
    rows = np.nonzero(ok)[0]
    k = radii[ok]
    h = np.asarray(model.hamiltonian(k * np.cos(phi[rows]), k * np.sin(phi[rows])))
    e_scale = abs(fermi_energy) + float(np.max(np.abs(h)))
    return float(max(resolution, NOISE_FACTOR * eps * e_scale / rtol))


def check_resolvable(model, fermi_energy, broadening, thermal_energy, rtol):
    """Raise ParameterError, before any integral, when max(Gamma, k_B T) is below what
    double precision resolves at rtol (:func:`smallest_resolvable_width`): such a point
    would refine without end.  Continuum (polar) models only."""
    if not isinstance(model, BandModel):
        return
    if isinstance(broadening, WhiteNoiseDisorder):
        gamma = broadening.born_broadening(model)
    else:
        gamma = broadening.gamma
    width = max(gamma, thermal_energy)
    smallest = smallest_resolvable_width(model, fermi_energy, rtol, width)
    if width < smallest:
        raise ParameterError(
            f"broadening = {gamma:.3g} eV (energy width max(Gamma, k_B T) = {width:.3g} eV) "
            f"is below what double precision resolves at rtol = {rtol:g} on this model at "
            f"fermi_energy = {fermi_energy:g} eV: the smallest allowed value is "
            f"{smallest:.3g} eV (allowed range [{smallest:.3g}, inf) eV; a looser rtol "
            "lowers it)")


def linear_response(model, fermi_energy, broadening, temperature=0.0, rtol=1e-6, *,
                    route="eigenbasis", n_jobs=1, vertex_corrections=False, kernel="auto",
                    integrator="auto", max_kpoints=MAX_KPOINTS):
    """Kubo-Bastin linear response to an in-plane electric field.

    Parameters
    ----------
    model : BandModel
        e.g. :class:`kubo_sot.RashbaFerromagnet`.
    fermi_energy : float or array_like
        Chemical potential mu in eV (at or above the band bottom).
    broadening : float, array_like or WhiteNoiseDisorder
        Constant disorder broadening Gamma = hbar / (2 tau) in eV (> 0), or a
        :class:`kubo_sot.WhiteNoiseDisorder`: Gaussian white-noise impurities, treated in
        the self-consistent Born approximation (2x2 self-energy at the Fermi energy, T = 0
        only; :mod:`kubo_sot.observables.disordered_response`).
    temperature : float or array_like, optional
        Temperature in K (>= 0), default 0.  Arrays of fermi_energy, broadening and
        temperature broadcast against each other; every point is checked before any is
        computed, and the result is an object array of that shape holding one
        LinearResponse per point.  For the continuum model with M along +-z, the points at
        T = 0 that share a constant Gamma (at least 8 of them) come from one
        spectral-density sweep per Gamma (:mod:`kubo_sot.observables.spectral_sweep`,
        provenance ``engine``), not from a k-mesh each: 100 energies cost ~15 points.
    rtol : float, optional
        Target accuracy of every tensor element relative to the largest element of its
        tensor, in (0, 0.1); default 1e-6.  A tensor smaller than VANISHING_FRACTION
        (1e-3) of the integral of |integrand| of its components (e.g. one that vanishes by
        symmetry) is resolved to rtol times that natural size instead.
    route : {"eigenbasis", "green"}, keyword-only
        Closed-form eigenbasis route (default) or the explicit-Green's-function check route.
    n_jobs : int, keyword-only
        joblib workers (1, the default, is serial; -1 all cores); same numbers either way.
        One point: the workers share chunks of k-space rays.  Arrays: they share the
        points (each integrated serially), which scales far better; the spectral sweep
        runs serially.
    vertex_corrections : bool, keyword-only
        With WhiteNoiseDisorder: dress I(a) with the ladder vertex (the bare bubble is
        returned alongside as ``result.bare``).  Default False.
    kernel : {"auto", "numpy", "numba"}, keyword-only
        Per-k kernel of the eigenbasis route: "auto" (default) uses the compiled numba
        kernels for the continuum model when ``kubo_sot[fast]`` is installed, else numpy;
        the two agree to rounding (tests/test_numba_kernel.py,
        tests/test_disorder_numba.py).
    integrator : str, keyword-only
        k-space strategy, one of ``INTEGRATORS``: "polar" (rays from k = 0, the continuum
        models' integrator) or the whole Brillouin zone of a lattice model:
        "brillouin_zone_cells" (adaptive
        cells, :mod:`kubo_sot.integrate.brillouin_zone`; fewest k-points for small
        pockets such as the honeycomb's K valleys), "brillouin_zone_lines" (iterated
        adaptive lines, :mod:`kubo_sot.integrate.brillouin_zone_lines`; fewest for large
        Fermi contours at small Gamma: 2.0M against > 4M for the cells on the square
        lattice at its van Hove energy at Gamma = 10 meV), or "brillouin_zone", which
        takes the cells while resolving the Fermi crossings costs them at most
        ``lattice_response.AUTO_CELLS_LIMIT`` k-points and the lines otherwise (the
        provenance's ``brillouin_zone_scheme`` says which).  All agree within their
        errors.  "auto" (default) is "brillouin_zone" for a
        :class:`kubo_sot.TightBindingModel` and polar otherwise.
    max_kpoints : int, keyword-only
        k-point budget of each point (an integer >= 1000), default ``MAX_KPOINTS`` of
        ``kubo_sot.integrate.kspace`` (4e6: 2-17 s on one core with the compiled kernel,
        ~2 min with kernel = "numpy").  A point that has not met rtol when the budget is spent
        raises :class:`kubo_sot.errors.ConvergenceError`, whose ``result`` holds the
        estimate reached with its error estimates and ``n_kpoints`` the k-points used.

    Returns
    -------
    LinearResponse
        ``conductivity`` (2x2, e^2/h), ``spin_density`` (3x2, 1/(V nm)), ``torkance``
        (3x2, e/nm), each with ``total``, ``fermi_surface``, ``fermi_sea``, ``error``;
        ``bands``; ``provenance``; and ``torque_coefficients(field_direction)``.

    Notes
    -----
    chi_Bj = -e (hbar / 2 pi) Int d^2k/(2 pi)^2 [I(a) + I(b) + II] (docs/conventions.md §4.2,
    Crépieux & Bruno, PRB 64, 014416 (2001)); sigma_ij uses B = -e v_i.

    Examples
    --------
    >>> import kubo_sot
    >>> model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> r = kubo_sot.linear_response(model, fermi_energy=0.3, broadening=0.01, rtol=1e-4)
    >>> r.conductivity.total.shape, r.torkance.unit
    ((2, 2), 'e/nm')
    """
    if any(np.ndim(x) > 0 for x in (fermi_energy, temperature)) or (
            not isinstance(broadening, (ConstantBroadening, WhiteNoiseDisorder))
            and np.ndim(broadening) > 0):
        return _response_array(model, fermi_energy, broadening, temperature, rtol, route,
                               n_jobs, vertex_corrections, kernel, integrator, max_kpoints)
    mu, gamma, temperature, rtol = validate_response_arguments(
        model, fermi_energy, broadening, temperature, rtol, route, n_jobs, kernel,
        max_kpoints)
    # The lattice check first: its message names the broadening a lattice model takes.
    brillouin_zone = _uses_brillouin_zone(model, integrator, gamma)
    _check_disorder_options(model, gamma, temperature, vertex_corrections)
    if brillouin_zone:
        result, tolerance, response = lattice_response(
            model, mu, gamma.gamma, temperature, rtol, route, max_kpoints=max_kpoints,
            kernel=kernel, scheme=ZONE_SCHEMES.get(integrator, "auto"))
        _report_convergence(result, tolerance, rtol, lambda: response)
        return response
    kt = BOLTZMANN_EV_PER_K * temperature
    check_resolvable(model, mu, gamma, kt, rtol)
    if isinstance(gamma, WhiteNoiseDisorder):
        return disordered_response(model, mu, gamma, rtol, vertex_corrections, route,
                                   n_jobs, kernel, max_kpoints=max_kpoints)
    exchange, magnetization = _exchange_and_magnetization(model)
    integrand = response_integrand(model, mu, gamma, kt, route, kernel)
    tolerance = _tolerances(rtol, exchange, magnetization)
    result = integrate_kspace(model, integrand, mu, max(gamma.gamma, kt), tolerance,
                              n_jobs=n_jobs, angular_average=angular_average(model, LAYOUT),
                              grading=_grading(rtol), max_kpoints=max_kpoints)

    def assemble():
        return _assemble(model, result, exchange, magnetization, mu, gamma.gamma,
                         temperature, rtol, route)
    _report_convergence(result, tolerance(result.estimate, result.magnitude), rtol, assemble)
    return assemble()


def _uses_brillouin_zone(model, integrator, broadening):
    """Whether :func:`linear_response` integrates ``model`` over its Brillouin zone."""
    _checks.choice("integrator", integrator, INTEGRATORS)
    lattice = is_lattice_model(model)
    polar = isinstance(model, BandModel)
    zone = integrator.startswith("brillouin_zone")
    if zone and not lattice:
        raise ParameterError(f"integrator = {integrator!r} needs a lattice model "
                             f"(reciprocal_vectors, cell_area); {type(model).__name__} has "
                             "none: use integrator = 'polar' or 'auto'")
    if integrator == "polar" and not polar:
        raise ParameterError(f"integrator = 'polar' needs the ray geometry of a BandModel, "
                             f"which {type(model).__name__} does not provide: use "
                             "integrator = 'brillouin_zone' or 'auto'")
    use = zone or (integrator == "auto" and not polar)
    if use and isinstance(broadening, WhiteNoiseDisorder):
        raise ParameterError(f"broadening = {broadening!r}: white-noise disorder (Born "
                             "self-energy, vertex corrections) is implemented for the "
                             "continuum RashbaFerromagnet only; a lattice model takes a "
                             "constant broadening Gamma > 0 in eV")
    return use


def _check_disorder_options(model, broadening, temperature, vertex_corrections):
    """White noise: T = 0 and a boolean vertex_corrections; constant Gamma: no vertex."""
    if isinstance(broadening, WhiteNoiseDisorder):
        check_disorder_arguments(model, temperature, vertex_corrections)
    elif vertex_corrections is not False:
        raise ParameterError(f"vertex_corrections = {vertex_corrections!r} needs a disorder "
                             "model: pass broadening=kubo_sot.WhiteNoiseDisorder(...); "
                             "with a constant Gamma there is no impurity line to dress")


def _response_array(model, fermi_energy, broadening, temperature, rtol, route, n_jobs,
                    vertex_corrections, kernel, integrator="auto", max_kpoints=MAX_KPOINTS):
    """linear_response over broadcast arrays of (fermi_energy, broadening, temperature):
    all points checked first, then evaluated serially or by n_jobs joblib workers."""
    constant = not isinstance(broadening, WhiteNoiseDisorder)
    try:
        arrays = np.broadcast_arrays(np.asarray(fermi_energy, float),
                                     np.asarray(broadening, float) if constant
                                     else np.zeros(()), np.asarray(temperature, float))
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"fermi_energy (eV), broadening (eV) and temperature (K) must be real numbers or "
            f"arrays that broadcast together; got shapes {np.shape(fermi_energy)}, "
            f"{np.shape(broadening)}, {np.shape(temperature)} ({exc})") from None
    shape = arrays[0].shape
    points = [(mu, gamma if constant else broadening, t)
              for mu, gamma, t in zip(*(a.reshape(-1).tolist() for a in arrays))]
    options = dict(rtol=rtol, route=route, vertex_corrections=vertex_corrections,
                   kernel=kernel, integrator=integrator, max_kpoints=max_kpoints)
    widths = {}
    for mu, gamma, t in points:  # every point is checked before any is computed
        _, gamma, t, _ = validate_response_arguments(model, mu, gamma, t, rtol, route,
                                                     n_jobs, kernel, max_kpoints)
        _uses_brillouin_zone(model, integrator, gamma)
        _check_disorder_options(model, gamma, t, vertex_corrections)
        widths.setdefault((gamma, t), []).append(mu)
    # What double precision resolves, also for the points of a spectral sweep (which
    # check_resolvable never sees otherwise): at the lowest and highest Fermi energy of
    # each (broadening, temperature), where E_scale and k_F are extreme (~3 ms a check).
    for (gamma, t), mus in widths.items():
        for mu in {min(mus), max(mus)}:
            check_resolvable(model, mu, gamma, BOLTZMANN_EV_PER_K * t, rtol)
    results = [None] * len(points)
    for group in _spectral_sweep_groups(model, points, route, vertex_corrections, kernel):
        for i, r in zip(group, _spectral_sweep(model, [points[i] for i in group], options)):
            results[i] = r
    rest = [i for i, r in enumerate(results) if r is None]
    if n_jobs == 1 or len(rest) <= 1:
        for i, r in zip(rest, _response_list(model, [points[i] for i in rest], options)):
            results[i] = r
    else:
        from joblib import Parallel, delayed
        chunks = interleaved_chunks(rest, n_jobs)
        parts = Parallel(n_jobs=n_jobs)(delayed(_response_list)(
            model, [points[i] for i in chunk], options) for chunk in chunks)
        for chunk, part in zip(chunks, parts):
            for i, r in zip(chunk, part):
                results[i] = r
    out = np.empty(len(points), dtype=object)
    out[:] = results
    return out.reshape(shape)


def _response_list(model, points, options):
    return [linear_response(model, *p, **options) for p in points]


def _sweep_module(model, route):
    """The spectral-density sweep that applies to ``model``: along z
    (:mod:`kubo_sot.observables.spectral_sweep`), with an in-plane part
    (:mod:`kubo_sot.observables.spectral_sweep_anisotropic`), or None."""
    for module in (spectral_sweep, spectral_sweep_anisotropic):
        if module.applies(model, route):
            return module
    return None


def _spectral_sweep_groups(model, points, route, vertex_corrections, kernel):
    """Indices of the points that share one spectral-density sweep instead of a k-mesh
    each: per constant Gamma and temperature, the Fermi energies of a Rashba model the
    sweep applies to, at least MIN_POINTS of them.  kernel = "numpy" keeps the per-point
    reference route."""
    if (kernel == "numpy" or vertex_corrections or not isinstance(model, BandModel)
            or _sweep_module(model, route) is None):
        return []
    groups = {}
    for i, (_, gamma, temperature) in enumerate(points):
        if not isinstance(gamma, WhiteNoiseDisorder):
            groups.setdefault((gamma, temperature), []).append(i)
    return [g for g in groups.values() if len(g) >= spectral_sweep.MIN_POINTS]


def _spectral_sweep(model, points, options):
    """The sweep's results; a Fermi energy it does not integrate or whose tolerance it did
    not meet is integrated on its own k-mesh."""
    module = _sweep_module(model, options["route"])
    results = module.linear_responses(model, np.array([p[0] for p in points]), points[0][1],
                                      options["rtol"], points[0][2])
    return [r if r is not None else linear_response(model, *p, **options)
            for p, r in zip(points, results)]


def route_comparison(model, fermi_energy, broadening, temperature=0.0, rtol=1e-4):
    """Both routes integrated on the same adaptive k-points: (eigenbasis, green) results.

    The adaptive k-mesh is driven by both integrands together, so the difference between
    the two results measures only the per-k energy integrals and matrix algebra of the two
    routes (closed forms in the eigenbasis vs explicit Green's functions with numerical
    energy integration), not the k-quadrature.
    """
    mu, gamma, temperature, rtol = validate_response_arguments(
        model, fermi_energy, broadening, temperature, rtol, "eigenbasis", 1)
    kt = BOLTZMANN_EV_PER_K * temperature
    exchange, magnetization = _exchange_and_magnetization(model)
    fast = response_integrand(model, mu, gamma, kt, "eigenbasis")
    check = response_integrand(model, mu, gamma, kt, "green")
    tolerance = _tolerances(rtol, exchange, magnetization)
    result = integrate_kspace(
        model, lambda kx, ky: np.concatenate([fast(kx, ky), check(kx, ky)], axis=1), mu,
        max(gamma.gamma, kt),
        lambda est, mag: np.tile(tolerance(est[:N_COMPONENTS], mag[:N_COMPONENTS]), 2))
    out = []
    for half, route in ((slice(0, N_COMPONENTS), "eigenbasis"),
                        (slice(N_COMPONENTS, None), "green")):
        part = KSpaceIntegral(result.estimate[half], result.error[half], result.converged,
                              result.n_kpoints, result.magnitude[half])
        _report_convergence(part, tolerance(part.estimate, part.magnitude), rtol)
        out.append(_assemble(model, part, exchange, magnetization, mu, gamma.gamma,
                             temperature, rtol, route))
    return tuple(out)

