"""Linear response of a band model to an in-plane electric field (Kubo-Bastin).

Conductivity, current-induced spin density and torkance, each split into its Fermi-surface
(I(a) + I(b)) and Fermi-sea (II) parts with a k-integration error estimate
(docs/conventions.md §3-4).  Two routes compute the same per-k integrand:
``route="eigenbasis"`` (closed-form energy integrals, fast) and ``route="green"``
(explicit Green's functions and numerical energy integration, the check).
"""

import warnings

import numpy as np

from .. import _checks
from .._parallel import interleaved_chunks
from ..constants import (BOLTZMANN_EV_PER_K, CONDUCTIVITY_FACTOR_E2_OVER_H,
                         SPIN_DENSITY_FACTOR_PER_V_NM)
from ..errors import ConvergenceError, ConvergenceWarning, ParameterError
from ..integrate.kspace import (MAX_KPOINTS, KSpaceIntegral, integrate_kspace,
                                rotation_average)
from ..kernels.energy_integrals import EnergyIntegrals
from ..kernels.green import ConstantBroadening
from ..kernels.kubo_bastin import kubo_bastin_eigenbasis, response_elements
from ..kernels.kubo_bastin_green import kubo_bastin_green
from ..kernels.kubo_bastin_numba import fused_integrand
from ..models.base import BandModel, rotates_with_spin
from ..models.disorder import WhiteNoiseDisorder
from .bands import band_data
from .results import LinearResponse, TensorResponse

ROUTES = ("eigenbasis", "green")
RTOL_RANGE = (0.0, 0.1)
# Below this (in the tensor's unit) an element counts as zero when setting tolerances.
SCALE_FLOOR = 1e-12
# A tensor's size for its tolerance: its largest element, but never less than this
# fraction of the largest Int |integrand| of its components (all parts), the physical scale
# of what cancels in it (for the spin density ~ the conductivity's Drude value divided by
# hbar v_F, since |s| = 1 where |hbar v| = hbar v_F).  A tensor that vanishes by symmetry
# is then resolved to rtol times this fraction of its natural size instead of chasing
# rounding.  The same value as kubo_sot.observables.lattice_response.VANISHING_FRACTION.
VANISHING_FRACTION = 1e-3
# Components that cancel (e.g. by symmetry) can be resolved only to rounding of the
# integral of |integrand|; the tolerance never asks for less than this fraction of the
# largest such integral within the tensor.
CANCELLATION_FLOOR = 1e-11
# Raise instead of warn when the error estimate exceeds the tolerance by this factor.
ERROR_MARGIN = 100.0
# Smallest k-point budget accepted (the initial mesh of one anisotropic point is ~1e4).
MIN_KPOINTS = 1000

# Layout of the packed integrand: B operators are (-hbar v_x, -hbar v_y, s_x, s_y, s_z).
_SIGMA_SURFACE = slice(0, 4)
_SIGMA_SEA = slice(4, 8)
_CHI_A = slice(8, 14)
_CHI_B = slice(14, 20)
_CHI_SEA = slice(20, 26)
N_COMPONENTS = 26
# The packed components of each tensor (sigma, chi), all its parts.
TENSOR_GROUPS = ((_SIGMA_SURFACE, _SIGMA_SEA), (_CHI_A, _CHI_B, _CHI_SEA))


def group_scale(values):
    """For every packed component of ``values`` (..., 26), the largest |value| among the
    components of its tensor, all parts (the scale that tolerances, error floors and
    Sigma's error bound refer to)."""
    values = np.abs(np.asarray(values))
    out = np.empty(values.shape)
    for group in TENSOR_GROUPS:
        largest = np.max([np.max(values[..., part], axis=-1) for part in group], axis=0)
        for part in group:
            out[..., part] = np.asarray(largest)[..., None]
    return out
# The conductivity's I(a) and I(b) are not integrated separately: on the diagonal each
# diverges logarithmically, and off the diagonal each decays only as sin(2 phi) / k^2, so
# it converges only conditionally (after the angular integral), never ray by ray.


def _pack(surface_a, surface_b, sea):
    """(P, 5, 2) kernel outputs -> (P, 26) integrand (I(a) + I(b) combined per k for sigma)."""
    p = surface_a.shape[0]
    return np.concatenate([
        (surface_a[:, :2] + surface_b[:, :2]).reshape(p, 4), sea[:, :2].reshape(p, 4),
        surface_a[:, 2:].reshape(p, 6), surface_b[:, 2:].reshape(p, 6),
        sea[:, 2:].reshape(p, 6)], axis=1)


# How the packed components rotate with k about z (kubo_sot.integrate.kspace.rotation_average):
# sigma_ij (parts I and II) and chi_aj (I(a), I(b), II).
LAYOUT = [("vector", "vector")] * 2 + [("spin", "vector")] * 3


def angular_average(model, layout):
    """kspace.rotation_average(layout) for a model whose H(R k) = U H(k) U^dagger is
    verified (:func:`kubo_sot.models.base.rotates_with_spin`), else None (three rays)."""
    return rotation_average(layout) if rotates_with_spin(model) else None


KERNELS = ("auto", "numpy", "numba")


def compiled_integrand(kernel, build):
    """The compiled integrand ``build()`` that ``kernel`` asks for, or None for numpy.

    ``build`` returns a closure of :mod:`kubo_sot.kernels.kubo_bastin_numba` or
    :mod:`kubo_sot.kernels.disorder_numba`, or None where it does not apply (numba missing,
    not the continuum RashbaFerromagnet): "auto" then falls back to numpy, "numba" raises.
    """
    _checks.choice("kernel", kernel, KERNELS)
    fused = None if kernel == "numpy" else build()
    if fused is None and kernel == "numba":
        raise ParameterError("kernel = 'numba' needs numba (pip install 'kubo_sot[fast]') and "
                             "a continuum RashbaFerromagnet; use kernel = 'auto' or 'numpy'")
    return fused


def response_integrand(model, fermi_energy, broadening, thermal_energy, route="eigenbasis",
                       kernel="auto"):
    """The per-k Kubo-Bastin integrand ``f(kx, ky) -> (P, 26)`` of :func:`linear_response`.

    Operators B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z), field directions j = x, y.
    ``kernel`` (eigenbasis route): "numpy" is the readable reference; "numba" the compiled
    fused loop of :mod:`kubo_sot.kernels.kubo_bastin_numba` (continuum RashbaFerromagnet,
    any T; same numbers to rounding); "auto" takes numba where it applies and is installed.
    """
    if route == "eigenbasis":
        fused = compiled_integrand(kernel, lambda: fused_integrand(
            model, fermi_energy, broadening.gamma, thermal_energy))
        if fused is not None:
            return fused
        integrals = EnergyIntegrals(fermi_energy, thermal_energy)
        gamma = broadening.gamma

        def integrand(kx, ky):
            energies, ops, vel = response_elements(model, kx, ky)
            return _pack(*kubo_bastin_eigenbasis(energies, ops, vel, gamma, integrals))
        return integrand

    spins = model.spin_operators()

    def integrand(kx, ky):
        h = model.hamiltonian(kx, ky)
        vel = np.moveaxis(model.velocity(kx, ky), 0, 1)
        ops = np.concatenate([-vel, np.broadcast_to(spins, (h.shape[0],) + spins.shape)],
                             axis=1)
        return _pack(*kubo_bastin_green(h, vel, ops, fermi_energy, broadening,
                                        thermal_energy))
    return integrand


def _exchange_and_magnetization(model):
    """J (eV) and M of a model; a model without exchange gives no torque (J = 0)."""
    return (float(getattr(model, "exchange", 0.0)),
            getattr(model, "magnetization", (0.0, 0.0, 1.0)))


def _torkance(chi, exchange, magnetization):
    """t_aj = J (M x chi_{:, j})_a for a (3, 2) array (M x as its 3x3 matrix; np.cross
    costs ~30 us a call in its axis handling)."""
    mx, my, mz = magnetization
    m_cross = np.array([[0.0, -mz, my], [mz, 0.0, -mx], [-my, mx, 0.0]])
    return exchange * (m_cross @ chi)


def _tolerances(rtol, exchange, magnetization):
    """Absolute tolerances on the packed integral, from a pilot estimate of it (a (26,)
    vector, or a stack (..., 26) of them, e.g. one per Fermi energy)."""
    mx, my, mz = magnetization
    m_cross = np.array([[0.0, -mz, my], [mz, 0.0, -mx], [-my, mx, 0.0]])

    def largest(x, axes):
        return np.max(np.abs(x), axis=axes)

    def tolerance(est, magnitude):
        est, magnitude = np.asarray(est), np.asarray(magnitude)
        sigma = est[..., _SIGMA_SURFACE] + est[..., _SIGMA_SEA]
        chi = (est[..., _CHI_A] + est[..., _CHI_B] + est[..., _CHI_SEA]).reshape(
            est.shape[:-1] + (3, 2))
        natural = VANISHING_FRACTION * group_scale(magnitude)  # per tensor, all parts
        floor_sigma = np.maximum(natural[..., 0], SCALE_FLOOR)
        floor_chi = np.maximum(natural[..., _CHI_A.start], SCALE_FLOOR)
        scale_sigma = np.maximum(largest(sigma, -1), floor_sigma)
        scale_chi = np.maximum(largest(chi, (-2, -1)), floor_chi)
        if exchange > 0:
            # The torkance J M x chi can be much smaller than chi (chi mostly along M);
            # its own largest element sets the accuracy needed for chi, down to the same
            # natural floor (M x chi vanishing by symmetry sets no tolerance either).
            torque = largest(m_cross @ chi, (-2, -1))
            scale_chi = np.minimum(scale_chi, np.maximum(torque, floor_chi))
        atol = np.empty(est.shape)
        atol[..., _SIGMA_SURFACE] = atol[..., _SIGMA_SEA] = (0.5 * rtol * scale_sigma)[..., None]
        atol[..., _CHI_A] = atol[..., _CHI_B] = atol[..., _CHI_SEA] = (
            rtol * scale_chi / 3.0)[..., None]
        # Floors per tensor group (sigma, chi): rounding of the largest |integrand| in it.
        return np.maximum(atol, CANCELLATION_FLOOR * group_scale(magnitude))
    return tolerance


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
    from .lattice_response import is_lattice_model
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
    if isinstance(n_jobs, (bool, np.bool_)) or not (
            isinstance(n_jobs, (int, np.integer)) and (n_jobs >= 1 or n_jobs == -1)):
        raise ParameterError(f"n_jobs = {n_jobs!r} must be a positive integer or -1 (all cores)")
    if isinstance(max_kpoints, (bool, np.bool_)) or not (
            isinstance(max_kpoints, (int, np.integer)) and max_kpoints >= MIN_KPOINTS):
        raise ParameterError(f"max_kpoints = {max_kpoints!r} (k-point budget) must be an "
                             f"integer in [{MIN_KPOINTS}, inf)")
    bottom = model.band_bottom()
    if mu < bottom:
        raise ParameterError(
            f"fermi_energy = {mu:g} eV is below the band bottom {bottom:.6g} eV: there are "
            f"no states; allowed range [{bottom:.6g}, inf) eV")
    return mu, gamma, temperature, rtol


#: k-space strategies (``integrator=``); the two over the Brillouin zone map to
#: lattice_response.BRILLOUIN_ZONE_SCHEMES.
INTEGRATORS = ("auto", "polar", "brillouin_zone", "brillouin_zone_lines")
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
    integrator : {"auto", "polar", "brillouin_zone", "brillouin_zone_lines"}, keyword-only
        k-space strategy: "polar" (rays from k = 0, the continuum models' integrator),
        "brillouin_zone" (adaptive cells over the whole zone,
        :mod:`kubo_sot.integrate.brillouin_zone`; lattice models only) or
        "brillouin_zone_lines" (iterated adaptive lines,
        :mod:`kubo_sot.integrate.brillouin_zone_lines`: far fewer k-points for large
        Fermi contours at small Gamma, e.g. 0.74M against 3.1M for the cells on the
        square lattice at Gamma = 2 meV, but more for small pockets such as the
        honeycomb's K valleys; same numbers within the errors).  "auto" (default) takes
        the cells for a :class:`kubo_sot.TightBindingModel` and polar otherwise.
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
        from .lattice_response import lattice_response
        result, tolerance, response = lattice_response(
            model, mu, gamma.gamma, temperature, rtol, route, max_kpoints=max_kpoints,
            kernel=kernel, scheme="lines" if integrator == "brillouin_zone_lines" else "cells")
        _report_convergence(result, tolerance, rtol, lambda: response)
        return response
    kt = BOLTZMANN_EV_PER_K * temperature
    check_resolvable(model, mu, gamma, kt, rtol)
    if isinstance(gamma, WhiteNoiseDisorder):
        from .disordered_response import disordered_response
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
    from .lattice_response import is_lattice_model
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
        from .disordered_response import check_disorder_arguments
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
    from . import spectral_sweep, spectral_sweep_anisotropic
    for module in (spectral_sweep, spectral_sweep_anisotropic):
        if module.applies(model, route):
            return module
    return None


def _spectral_sweep_groups(model, points, route, vertex_corrections, kernel):
    """Indices of the points that share one spectral-density sweep instead of a k-mesh
    each: per constant Gamma and temperature, the Fermi energies of a Rashba model the
    sweep applies to, at least MIN_POINTS of them.  kernel = "numpy" keeps the per-point
    reference route."""
    from .spectral_sweep import MIN_POINTS
    if (kernel == "numpy" or vertex_corrections or not isinstance(model, BandModel)
            or _sweep_module(model, route) is None):
        return []
    groups = {}
    for i, (_, gamma, temperature) in enumerate(points):
        if not isinstance(gamma, WhiteNoiseDisorder):
            groups.setdefault((gamma, temperature), []).append(i)
    return [g for g in groups.values() if len(g) >= MIN_POINTS]


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


def _report_convergence(result, tolerance, rtol, partial=None):
    """Warn when the error estimate exceeds the tolerance; raise ConvergenceError when it
    does by more than ERROR_MARGIN or when the k-point budget ran out first (``partial()``
    builds the estimate reached, which the error carries as ``result``)."""
    ratio = float(np.max(result.error / np.maximum(tolerance, 1e-300)))
    if ratio <= 1.0:
        return
    if not np.isfinite(ratio) or not np.all(np.isfinite(result.estimate)):
        ratio = float("inf")  # no estimate at all (e.g. the budget ran out in the pilot)
    message = (f"k-space integral missed its tolerance: error estimate up to {ratio:.3g} "
               f"times the tolerance for rtol = {rtol:g} ({result.n_kpoints} k-points)")
    exhausted = getattr(result, "budget_exhausted", False)
    if exhausted:
        message += ("; the k-point budget max_kpoints was spent: loosen rtol, widen the "
                    "broadening, or raise max_kpoints (the estimate reached is the error's "
                    "'result')")
    if ratio > ERROR_MARGIN or exhausted:
        raise ConvergenceError(message, partial() if partial is not None else None,
                               int(result.n_kpoints), ratio)
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def _assemble(model, result, exchange, magnetization, mu, gamma, temperature, rtol, route,
              bands=None):
    from .. import __version__
    est, err = result.estimate, result.error
    fs = SPIN_DENSITY_FACTOR_PER_V_NM
    fc = CONDUCTIVITY_FACTOR_E2_OVER_H
    sig_surface = fc * est[_SIGMA_SURFACE].reshape(2, 2)
    sig_sea = fc * est[_SIGMA_SEA].reshape(2, 2)
    sig_err = fc * (err[_SIGMA_SURFACE] + err[_SIGMA_SEA]).reshape(2, 2)
    conductivity = TensorResponse("conductivity", "e^2/h", sig_surface + sig_sea,
                                  sig_surface, sig_sea, sig_err)
    chi_a = fs * est[_CHI_A].reshape(3, 2)
    chi_b = fs * est[_CHI_B].reshape(3, 2)
    chi_sea = fs * est[_CHI_SEA].reshape(3, 2)
    chi_err = fs * (err[_CHI_A] + err[_CHI_B] + err[_CHI_SEA]).reshape(3, 2)
    spin = TensorResponse("spin_density", "1/(V nm)", chi_a + chi_b + chi_sea,
                          chi_a + chi_b, chi_sea, chi_err, chi_a, chi_b)
    m = np.asarray(magnetization, float)
    tk = {key: _torkance(val, exchange, m) for key, val in
          (("a", chi_a), ("b", chi_b), ("sea", chi_sea))}
    # |(M x d)_a| <= sum_b |M_b| |d_c| over the two other components.
    abs_m = np.abs(m)
    t_err = exchange * np.stack([abs_m[1] * chi_err[2] + abs_m[2] * chi_err[1],
                                 abs_m[0] * chi_err[2] + abs_m[2] * chi_err[0],
                                 abs_m[0] * chi_err[1] + abs_m[1] * chi_err[0]])
    torkance = TensorResponse("torkance", "e/nm", tk["a"] + tk["b"] + tk["sea"],
                              tk["a"] + tk["b"], tk["sea"], t_err, tk["a"], tk["b"])
    provenance = {
        "model": model.parameters() if hasattr(model, "parameters") else repr(model),
        "fermi_energy_eV": mu, "temperature_K": temperature,
        "rtol": rtol, "route": route, "n_kpoints": int(result.n_kpoints),
        "converged": bool(result.converged), "package": "kubo_sot", "version": __version__,
        "units": {"conductivity": "e^2/h", "spin_density": "1/(V nm)", "torkance": "e/nm",
                  "energies": "eV", "wave vectors": "1/nm"},
    }
    if gamma is not None:  # a constant Gamma (disorder models record their own data)
        provenance["broadening_eV"] = gamma
    bands = band_data(model, mu) if bands is None else bands
    return LinearResponse(conductivity, spin, torkance, bands, provenance)
