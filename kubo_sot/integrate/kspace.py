"""Two-dimensional k-space integration in polar coordinates with an error estimate.

    Int d^2k/(2 pi)^2 F(k) = (2 pi)^-2 Int_0^{2 pi} dphi Int_0^{k_max(phi)} k dk F(k, phi)

The radial integrals along many rays are done together by the batched adaptive quadrature
(:mod:`kubo_sot.integrate.quadrature`), each ray starting from intervals that end at its
Fermi-contour crossings, band extrema and minimal gaps, graded geometrically around each
crossing down to the crossing's width energy_width / |dE/dk| (so that the Lorentzians of
width Gamma and the thermal smearing are resolved from the start).  For a continuum model
the tail k > K is integrated exactly through k = K / t, t in (0, 1]; there is no cutoff.
The angular integral of a continuum model is first tried with the periodic trapezoid rule
on nested sets of 16 to 128 equispaced rays (the ray integrals are analytic and periodic in
phi, so it converges geometrically); where it does not (a Fermi contour tangent to rays, a
Dirac cone at the Fermi energy) and for a Brillouin zone (whose ray lengths have kinks) it
is a second adaptive quadrature over the ray integrals, with panels that end at the
model's angular breakpoints.  For a rotationally invariant model
(``model.isotropic``) the ray integrals of rank <= 2 tensors are trigonometric polynomials
of degree <= 2 in phi: the periodic trapezoid rule on three rays is exact for them
(``ISOTROPIC_DEGREE``), and when the caller knows how its components rotate
(``angular_average``, e.g. sigma_ij(phi) = R_ii' R_jj' sigma_i'j'(0)) one ray suffices.

Error estimate: angular error (the difference to the next coarser trapezoid rule, or the
panels' bisection error) + the angular integral of the radial error
estimates.  The result is declared converged when it is within the requested absolute
tolerance in every component.
"""

import functools
from dataclasses import dataclass

import numpy as np
from scipy.linalg import block_diag

from .._cache import cached_if_hashable
from .quadrature import adaptive_integrate

# Intervals around a crossing of width w end at w * 2^s, s < 10 (out to ~500 w, or to the
# ray's ends): each then sees the Lorentzian's poles outside a Bernstein ellipse of
# rho ~ 5.8, where the 12-point rule is far below rtol 1e-6 and its (safe, hence
# pessimistic) error estimate mostly below it too; factors 2.5 and 4 (rho ~ 4, 3) cost
# more refinement than the extra initial intervals at rtol 1e-6 (integrate_kspace's
# ``grading`` chooses another (factor, steps) for looser tolerances).
GRADING_FACTOR = 2.0
GRADING_STEPS = 10
# Default k-point budget of one integral (integrate_kspace's max_kpoints, and the
# Brillouin-zone integrators', which import it; a 4-band lattice model spends it in
# ~10-30 s on one core).  Measured on
# one (shared) core of the development machine, for points that spend the whole budget: the
# compiled kernel with the adaptive bookkeeping costs 0.5-4 us per k-point (2-17 s for the
# budget), the numpy kernel ~30 us (~2 min), the green check route more; the benchmark
# points need 1e3 to 2e5 k-points at rtol 1e-6.
MAX_KPOINTS = 4_000_000


@dataclass
class KSpaceIntegral:
    estimate: np.ndarray  # (C,)
    error: np.ndarray  # (C,)
    converged: bool
    n_kpoints: int
    magnitude: np.ndarray = None  # (C,) pilot estimate of Int |integrand|
    budget_exhausted: bool = False  # refinement ended by max_kpoints (see integrate_kspace)


def _ray_intervals(model, phi, fermi_energy, energy_width, grading=None):
    """Initial radial intervals (owner, a, b) in the mapped coordinate, and tail starts.

    Cached for repeated calls with the same rays (the rays of an isotropic model are the
    same in the pilot, the main integral and every self-consistency iteration); models are
    frozen dataclasses, so they hash by value.
    """
    return _cached_ray_intervals(model, phi.tobytes(), float(fermi_energy),
                                 float(energy_width), grading)


@cached_if_hashable(maxsize=16)
def _cached_ray_intervals(model, phi_bytes, fermi_energy, energy_width, grading):
    out = _build_ray_intervals(model, np.frombuffer(phi_bytes), fermi_energy, energy_width,
                               grading)
    for array in out:
        array.flags.writeable = False  # shared between calls
    return out


def _build_ray_intervals(model, phi, fermi_energy, energy_width, grading=None):
    radii, widths = model.ray_breakpoints(phi, fermi_energy, energy_width)
    k_end = np.asarray(model.tail_start(phi, fermi_energy, energy_width), float)
    infinite = ~np.isfinite(np.asarray(model.ray_length(phi), float))
    factor, n_steps = (GRADING_FACTOR, GRADING_STEPS) if grading is None else grading
    steps = factor ** np.arange(n_steps)
    graded = [radii]
    for sign in (-1.0, 1.0):
        graded.append((radii[..., None] + sign * widths[..., None] * steps).reshape(phi.size, -1))
    pts = np.concatenate([np.zeros((phi.size, 1)), k_end[:, None]] + graded, axis=1)
    pts = np.where((pts >= 0) & (pts <= k_end[:, None]), pts, np.nan)
    pts = np.sort(pts, axis=1)
    lo, hi = pts[:, :-1], pts[:, 1:]
    ok = np.isfinite(lo) & np.isfinite(hi) & (hi > lo * (1 + 1e-12))
    owner = np.broadcast_to(np.arange(phi.size)[:, None], lo.shape)[ok]
    a, b = lo[ok], hi[ok]
    if infinite.any():
        tail = np.nonzero(infinite)[0]
        owner = np.concatenate([owner, tail])
        a = np.concatenate([a, k_end[tail]])
        b = np.concatenate([b, k_end[tail] + 1.0])
    return owner, a, b, k_end, infinite


def radial_integrals(model, integrand, phi, fermi_energy, energy_width, ray_tolerance,
                     max_iterations=None, initial=None, grading=None, max_kpoints=None):
    """Int k dk F(k, phi) along each ray; returns (estimate, error, n_kpoints, intervals,
    budget_exhausted).

    ``initial``: the partition of an earlier (pilot) call on the same rays, to continue
    refining instead of evaluating the initial intervals again.  ``grading``: (factor,
    steps) of the initial intervals around each crossing (default GRADING_FACTOR,
    GRADING_STEPS).  ``max_kpoints``: no refinement pass beyond this many k-points.
    """
    phi = np.asarray(phi, float)
    owner, a, b, k_end, infinite = _ray_intervals(model, phi, fermi_energy, energy_width,
                                                  grading)
    cos, sin = np.cos(phi), np.sin(phi)

    def func(x, o):
        in_tail = infinite[o] & (x > k_end[o])
        t = np.where(in_tail, k_end[o] + 1.0 - x, 1.0)
        k = np.where(in_tail, k_end[o] / t, x)
        jacobian = np.where(in_tail, k * k_end[o] / (t * t), k)
        return integrand(k * cos[o], k * sin[o]) * jacobian[:, None]

    compiled = None
    if hasattr(integrand, "ray_rule"):  # the same rule, inside the compiled kernel
        rays = (np.ascontiguousarray(cos), np.ascontiguousarray(sin),
                np.ascontiguousarray(k_end, dtype=float), np.ascontiguousarray(infinite))

        def compiled(o, lo, hi, rule):
            return integrand.ray_rule(np.ascontiguousarray(o, dtype=np.intp), lo, hi, rays,
                                      rule)
    kwargs = {} if max_iterations is None else {"max_iterations": max_iterations}
    res = adaptive_integrate(func, owner, a, b, phi.size, ray_tolerance,
                             initial=initial, compiled=compiled, max_evaluations=max_kpoints,
                             **kwargs)
    return res.estimate, res.error, res.n_evaluations, res.intervals, res.budget_exhausted


def _parallel_radial(model, integrand, phi, fermi_energy, energy_width, ray_tolerance,
                     n_jobs, max_iterations=None, partitions=None, record=False,
                     grading=None, max_kpoints=None):
    """Radial integrals, split into k-chunks of rays over joblib workers when n_jobs > 1.

    ``partitions`` maps the bytes of each chunk of rays to its radial partition: a pilot
    run fills it (``record``), the main run takes its entries out and continues from them
    (same rays, same chunks).  ``max_kpoints``: the budget of this call, shared equally by
    the chunks; returns (estimate, error, n_kpoints, budget_exhausted).
    """
    chunks = [phi] if n_jobs == 1 or phi.size < 2 * n_jobs else np.array_split(phi, n_jobs)
    known = {} if partitions is None or record else partitions
    share = None if max_kpoints is None else max(int(max_kpoints) // len(chunks), 0)
    args = [(model, integrand, c, fermi_energy, energy_width, ray_tolerance, max_iterations,
             known.pop(c.tobytes(), None), grading, share) for c in chunks]
    if len(chunks) == 1:
        parts = [radial_integrals(*args[0])]
    else:
        from joblib import Parallel, delayed
        parts = Parallel(n_jobs=n_jobs)(delayed(radial_integrals)(*a) for a in args)
    if record:
        for c, p in zip(chunks, parts):
            partitions[c.tobytes()] = p[3]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            sum(p[2] for p in parts), any(p[4] for p in parts))


# Largest angular harmonic |m| of the ray integrals of a rotationally invariant model: the
# packed integrands are tensors of rank <= 2 in the in-plane directions (e.g. v_i v_j,
# s_a v_j, Pauli components of G), whose ray integrals are trigonometric polynomials of
# degree <= 2 in phi when H(R k) = U H(k) U^dagger.
ISOTROPIC_DEGREE = 2


def _isotropic_rays(radial, n_components, average):
    """Angular integral of an isotropic model; returns (total, 0).

    Without ``average``: the periodic trapezoid rule on ISOTROPIC_DEGREE + 1 rays, exact
    for trigonometric polynomials of that degree (it integrates e^{i m phi} exactly for
    |m| < number of rays).  With it: Int dphi I(phi) = 2 pi A I(0) from the ray phi = 0
    alone, its error bound 2 pi |A| (error of I(0)).
    """
    if average is None:
        n = ISOTROPIC_DEGREE + 1
        values = radial(2.0 * np.pi * (np.arange(n) + 0.5) / n)
        return values.sum(axis=0) * (2.0 * np.pi / n), np.zeros(n_components)
    estimate, error = np.split(radial(np.zeros(1))[0], 2)
    total = np.concatenate([average @ estimate, np.abs(average) @ error])
    return 2.0 * np.pi * total, np.zeros(n_components)


# Tensor index kinds: (number of components, position of the in-plane pair x, y).
_INDEX_KINDS = {"vector": (2, 0), "spin": (3, 0), "spin4": (4, 1)}


def _rotation(kind, phi):
    """How one tensor index rotates with k by phi about z: "vector" (x, y), "spin"
    (x, y, z), "spin4" (0, x, y, z), or an integer n (n invariant components)."""
    if isinstance(kind, int):
        return np.eye(kind)
    size, offset = _INDEX_KINDS[kind]
    out = np.eye(size)
    c, s = np.cos(phi), np.sin(phi)
    out[offset:offset + 2, offset:offset + 2] = [[c, -s], [s, c]]
    return out


def rotation_average(layout):
    """A with (2 pi)^-1 Int dphi I(phi) = A I(0) for packed ray integrals that rotate as
    ``layout`` says, when the model is invariant under rotating k and spin together.

    ``layout`` lists blocks of components, each a tuple of index kinds (:func:`_rotation`),
    packed row-major: e.g. ("spin", "vector") is chi_aj, a = x, y, z, j = x, y.  Then
    I(phi) = D(phi) I(0) with D the block-diagonal Kronecker products of the index
    rotations, and A is the average of D: its entries are trigonometric polynomials of
    degree <= 2, so eight equispaced angles average them exactly.  Cached (read-only).
    """
    return _rotation_average(tuple(tuple(block) for block in layout))


@functools.lru_cache(maxsize=8)
def _rotation_average(layout):
    angles = 2.0 * np.pi * np.arange(8) / 8
    average = block_diag(*[np.mean([functools.reduce(np.kron, [_rotation(kind, phi)
                                                             for kind in block])
                                    for phi in angles], axis=0) for block in layout])
    average[np.abs(average) < 1e-14] = 0.0  # exact zeros (the cosines' rounding)
    average.flags.writeable = False  # shared between calls
    return average


def _single_ray_tolerance(average, atol):
    """Tolerances on I(0) that keep 2 pi |A| error(I(0)) within atol / 2: component c'
    gets the smallest atol_c / (4 pi sum_c'' |A_cc''|) over the c it enters (inf if none:
    it averages to zero and need not be resolved)."""
    weight = np.abs(average)
    share = 0.5 * atol / (2.0 * np.pi * np.maximum(weight.sum(axis=1), 1e-300))
    return np.min(np.where(weight > 0, share[:, None], np.inf), axis=0)


# Ray counts of the periodic trapezoid rule in phi (nested: each level adds the rays halfway
# between the previous ones; 8 rays, the even half of the first level, give the first
# error estimate).  The ray integrals of a continuum model are analytic and 2 pi-periodic in
# phi (with Gamma > 0 the traces of Green's functions are analytic in k), so the rule
# converges geometrically; at the benchmark's in-plane and tilted points 16 rays are within
# 4e-8 (at worst) of 96, against the 48 rays of Gauss-12 on the quadrants.  Near a tangent
# contour or a Dirac cone at the Fermi energy the convergence is slow (y_strong: 2e-4 at 16
# and at 32 rays) and the adaptive panels between the model's breakpoints take over.  Of
# 112 random points (benchmarks.random_points' ranges), 4 needed 128 rays: 10-40% fewer
# k-points than on the panels.
PERIODIC_RAYS = (16, 32, 64, 128)
# Give up on the rule when the error estimate falls by less than this factor per doubling
# (the convergence is not yet geometric): panels cost less than more doublings then.
PERIODIC_MIN_DECAY = 8.0


def _periodic_rays(radial, n_components, atol, pilot=False, stop=None):
    """Angular integral by the periodic trapezoid rule on 2 pi j / N, N doubling through
    PERIODIC_RAYS; returns (total, angular error) like the panels, or None when it does not
    reach atol (the caller then integrates on panels).

    Error estimate of T_N: |T_N - T_(N/2)| per component (the error of the coarser rule;
    for geometric convergence that of T_N is smaller by orders).  The rays 2 pi j / N are
    symmetric under phi -> -phi and phi -> pi - phi, so components that mirror symmetry
    forbids cancel ray by ray as on the quadrant panels.  ``pilot``: the first level only,
    unchecked (the pilot estimates scales; the main run continues on the same rays).
    ``stop(n_rays)``: True when the next level's rays would exceed the k-point budget; the
    current level is then returned unconverged, with its error estimate.
    """
    n = PERIODIC_RAYS[0]
    values = radial(2.0 * np.pi * np.arange(n) / n)  # (n, 2C): estimates, radial errors
    coarse = values[::2].mean(axis=0) * (2.0 * np.pi)
    previous = None
    for level, n in enumerate(PERIODIC_RAYS):
        if level and stop is not None and stop(n // 2):
            return total, error
        if level:
            new = radial(2.0 * np.pi * (np.arange(n // 2) + 0.5) / (n // 2))
            values = np.stack([values, new], axis=1).reshape(n, -1)  # angles in order
        total = values.mean(axis=0) * (2.0 * np.pi)
        error = np.abs(total[:n_components] - coarse[:n_components])
        if pilot or np.all(error <= atol):
            return total, error
        scaled = np.max(error / np.maximum(atol, 1e-300))
        if previous is not None and scaled > previous / PERIODIC_MIN_DECAY:
            return None
        previous, coarse = scaled, total
    return None


def _polar(model, integrand, fermi_energy, energy_width, atol, n_jobs,
           radial_iterations=None, angular_iterations=None, partitions=None, record=False,
           angular_average=None, grading=None, max_kpoints=None):
    """Angular quadrature of the radial integrals, target absolute tolerance atol.

    ``partitions``: radial partitions per chunk of rays, filled by a pilot run (``record``)
    and continued from by the main run (:func:`_parallel_radial`).  ``max_kpoints``: the
    k-point budget (None: unbounded).  The radial quadratures get what is left of it; new
    rays (trapezoid levels, angular panels) are not started when they would exceed it at
    the mean cost per ray so far.  Then the result is returned unconverged with its error
    estimate and ``budget_exhausted`` set.
    """
    norm = (2.0 * np.pi) ** 2
    atol = np.asarray(atol, float) * norm  # tolerance on Int dphi Int k dk F
    isotropic = getattr(model, "isotropic", False)
    if not isotropic:
        angular_average = None  # it holds only for rotation-invariant models
    ray_tol = (0.5 * atol / (2.0 * np.pi) if angular_average is None
               else _single_ray_tolerance(angular_average, atol))
    n_components = atol.size
    counter = [0, 0, False]  # k-points, rays, budget exhausted

    def radial(phi):
        """Ray integrals and their error estimates, side by side: (n_rays, 2C)."""
        left = None if max_kpoints is None else max(max_kpoints - counter[0], 0)
        est, err, n, exhausted = _parallel_radial(
            model, integrand, phi, fermi_energy, energy_width, ray_tol, n_jobs,
            radial_iterations, partitions, record, grading, left)
        counter[0] += n
        counter[1] += np.size(phi)
        counter[2] |= exhausted
        return np.concatenate([est, err], axis=1)

    def stop(n_rays):
        """Whether n_rays more rays would exceed the budget at the mean cost per ray."""
        if max_kpoints is None:
            return False
        per_ray = counter[0] / max(counter[1], 1)
        if counter[0] + n_rays * per_ray > max_kpoints:
            counter[2] = True
        return counter[2]

    def result(total, angular_error):
        estimate = total[:n_components] / norm
        error = (angular_error + total[n_components:]) / norm
        converged = bool(np.all(error <= atol / norm))
        return KSpaceIntegral(estimate, error, converged, counter[0],
                              budget_exhausted=counter[2] and not converged)

    if isotropic:
        return result(*_isotropic_rays(radial, n_components, angular_average))

    features = getattr(model, "has_angular_features", None)
    if np.all(np.isinf(model.ray_length(np.zeros(1)))) and not (
            features is not None and features(fermi_energy, energy_width)):
        periodic = _periodic_rays(radial, n_components, 0.5 * atol,
                                  pilot=angular_iterations == 1, stop=stop)
        if periodic is not None:
            return result(*periodic)
    try:
        edges = model.angular_breakpoints(fermi_energy, energy_width)
    except TypeError:  # a model written for the earlier protocol, without arguments
        edges = model.angular_breakpoints()
    edges = np.asarray(edges, float)
    outer_tol = np.concatenate([0.5 * atol, np.full(n_components, np.inf)])[None, :]
    kwargs = {} if angular_iterations is None else {"max_iterations": angular_iterations}
    res = adaptive_integrate(lambda phi, _owner: radial(phi), np.zeros(edges.size - 1),
                             edges[:-1], edges[1:], 1, outer_tol, stop=stop, **kwargs)
    return result(res.estimate[0], res.error[0, :n_components])


def _with_magnitude(integrand):
    """The integrand followed by its absolute value, (P, 2C)."""
    def both(kx, ky):
        values = integrand(kx, ky)
        return np.concatenate([values, np.abs(values)], axis=1)
    if hasattr(integrand, "ray_rule"):
        both.ray_rule = functools.partial(integrand.ray_rule, magnitude=True)
    return both


def integrate_kspace(model, integrand, fermi_energy, energy_width, tolerance, n_jobs=1,
                     angular_average=None, grading=None, max_kpoints=MAX_KPOINTS):
    """Int d^2k/(2 pi)^2 integrand(kx, ky) with an error estimate.

    Parameters
    ----------
    model : BandModel
        Supplies the ray geometry and the places where the integrand is sharp.
    integrand : callable
        ``integrand(kx, ky) -> (P, C)`` for arrays of P wave vectors (nm^-1).
    fermi_energy : float
        Chemical potential in eV (where the Fermi contours are).
    energy_width : float
        Energy scale of the sharp features, max(Gamma, k_B T), in eV.
    tolerance : callable or array_like
        ``tolerance(estimate, magnitude) -> (C,)`` absolute tolerances on the result, given
        a first (pilot) estimate of it and of the integral of |integrand| (the scale below
        which cancellations leave only rounding); e.g. rtol times the largest element of
        each tensor.  An array gives the absolute tolerances directly (no pilot).
    n_jobs : int
        joblib workers for the radial integrals (1: serial).  Same numbers either way.
    angular_average : (C, C) array, optional
        For an isotropic model: A with (2 pi)^-1 Int dphi I(phi) = A I(0), where I(phi) is
        the ray integral of the integrand (how its components rotate); one ray is then
        integrated instead of three.  Ignored for anisotropic models.
    grading : (float, int), optional
        (factor, steps) of the initial radial intervals around each Fermi crossing of width
        w, which end at w * factor^s, s < steps; default (GRADING_FACTOR, GRADING_STEPS).
        Coarser ones suit loose tolerances (the error estimate refines where needed).
    max_kpoints : int or None
        Budget of integrand evaluations, pilot included (default MAX_KPOINTS; None:
        unbounded).  No refinement pass is started that would exceed it (a new set of
        rays is costed at the mean k-points per ray so far); the result is then returned
        unconverged with its error estimate and ``budget_exhausted = True``, for the
        caller to report.  The initial mesh (the pilot) is always evaluated, even when it
        alone exceeds the budget.

    Returns
    -------
    KSpaceIntegral
    """
    if not callable(tolerance):
        return _polar(model, integrand, fermi_energy, energy_width,
                      np.asarray(tolerance, float), n_jobs, angular_average=angular_average,
                      grading=grading, max_kpoints=max_kpoints)
    # Pilot: the initial mesh, unrefined, gives the scale of the result and of |integrand|.
    # The main run continues refining the pilot's radial partitions (values only, without
    # the |integrand| columns), so no k-point is evaluated twice.
    n = integrand(np.array([0.1]), np.array([0.0])).shape[1]
    partitions = {}
    pilot_average = (None if angular_average is None  # |integrand| columns: |A| for a scale
                     else block_diag(angular_average, np.abs(angular_average)))
    pilot = _polar(model, _with_magnitude(integrand), fermi_energy,
                   energy_width, np.full(2 * n, np.inf), n_jobs,
                   radial_iterations=1, angular_iterations=1, partitions=partitions,
                   record=True, angular_average=pilot_average, grading=grading,
                   max_kpoints=max_kpoints)
    partitions = {key: p.columns(slice(0, n)) for key, p in partitions.items()}
    atol = np.asarray(tolerance(pilot.estimate[:n], pilot.estimate[n:]), float)
    left = None if max_kpoints is None else max(max_kpoints - pilot.n_kpoints, 0)
    result = _polar(model, integrand, fermi_energy, energy_width, atol, n_jobs,
                    partitions=partitions, angular_average=angular_average, grading=grading,
                    max_kpoints=left)
    result.n_kpoints += pilot.n_kpoints
    result.magnitude = pilot.estimate[n:]
    return result
