"""Many Fermi energies at once, from mu-independent spectral densities.

A k-mesh has to resolve the Fermi contours of each Fermi energy on the scale Gamma / v, so
integrating N energies one by one costs N points.  Here the integrand is first written
with coefficients that do not depend on mu (:mod:`kubo_sot.kernels.pole_expansion`):
Re sum_l [c1_l G_l + c2_l G_l^2 + cL_l Log(mu - z_l)], z_l = E_l - i Gamma.  The ray
integral of band l then becomes an integral over its energy,

    Int k dk Re[c_l(k) g(mu - E_l(k))] = Int deps Re[rho_l(eps) g(mu - eps)],
    rho_l = k c_l / |E_l'(k)|,

whose density rho_l is smooth and independent of Gamma and mu: panels resolve it once, and
on the panels near each mu its Legendre series is integrated exactly against the sharp
kernels (:mod:`kubo_sot.kernels.product_rules`); elsewhere the Gauss rule does.  Next to the
ring minimum of a Mexican-hat band (alpha^2 > 2 c J), where rho has a 1/sqrt singularity,
the panel variable is s = sqrt(eps - eps_min).  The region k > K, where the lower band lies
MARGIN widths above the largest mu, is integrated per mu with both bands together (the
sea's logarithms cancel between the bands only at equal k), through k = K / t.

Scope: the continuum RashbaFerromagnet with M along +-z (one ray and the tensors' rotation,
:func:`kubo_sot.integrate.kspace.rotation_average`), J > 0, one constant Gamma, one
temperature; :func:`kubo_sot.linear_response` uses it for arrays of at least MIN_POINTS
Fermi energies.  At T > 0 every term is its T = 0 form, as a function of mu, convolved
with -f': the T = 0 sweep on a grid, convolved (:func:`thermal_sweep`).  M with an
in-plane part: :mod:`kubo_sot.observables.spectral_sweep_anisotropic`.

Error estimate: per panel and mu, the part of the product integral carried by the two
highest Legendre coefficients of rho, in absolute value (the null rule of
:mod:`kubo_sot.integrate.quadrature`, with the exact kernel instead of a bound), floored
by the rounding of the cancelling band contributions (ERROR_FLOOR of the sum of the
panels' |values|, which also floors the tolerances as Int |integrand| does the engine's);
panels are bisected until every mu meets its tolerance (or MAX_ROUNDS, MAX_CELLS).  The
outer region: the null rule of the integrand per t-panel.  The densities bend on the
scale J where the bands come closest (k = 0), so the first panels are graded from there;
a feature that no node sees escapes any null rule.
"""

from dataclasses import dataclass

import numpy as np

from ..constants import BOLTZMANN_EV_PER_K
from ..integrate.kspace import KSpaceIntegral, rotation_average
from ..integrate.quadrature import GAUSS_ORDER, _rule
from ..kernels.kubo_bastin import response_elements
from ..kernels import pole_expansion_numba
from ..kernels.pole_expansion import pole_coefficients
from ..kernels.product_rules import NEAR_PANEL, legendre_moments
from ..models.base import rotates_with_spin
from ..models.rashba import RashbaFerromagnet
from . import packed_integral as _r
from .packed_integral import LAYOUT, N_COMPONENTS, _pack, group_scale
from .results import BandData

ORDER = GAUSS_ORDER
X_GL, W_GL = _rule(ORDER).nodes, _rule(ORDER).weights
_VANDER = np.polynomial.legendre.legvander(X_GL, ORDER - 1)  # P_j(t_i)
VINV = np.linalg.inv(_VANDER)  # node values -> Legendre coefficients
# Gamma widths between the largest mu and the lower band at the start of the outer region.
MARGIN = 60.0
SQRT_PANEL = 0.1  # largest first panel in s = sqrt(eps - eps_min) from a ring, sqrt(eV)
MIN_EDGE = 1e-9  # smallest first panel (in s: 1e-18 eV from the branch point)
MAX_ROUNDS = 12  # bisection rounds; energies still above tolerance fall back per point
OUTER_PANELS = 4  # initial t-panels of the outer region
# Highest Legendre coefficients of a panel's density that make up its error estimate.
TOP = 2
# From this many Fermi energies on, one sweep costs less than integrating each on its own
# k-mesh (a sweep ~4-12 ms, a point ~0.6 ms along z).
MIN_POINTS = 8
# Rounding of the sum over panels, relative to each tensor's largest magnitude (the sum of
# its panels' |values|, the analogue of Int |integrand|, whose rounding floors the
# engine's tolerances at 1e-11 likewise): where the bands' contributions cancel (far below
# the bands) the sweep and the engine differed by 3e-12 of it, and at mu exactly on a band
# edge by 5e-12 of the tensor.
ERROR_FLOOR = 1e-11
# Smallest initial panel at the k = 0 end of a branch, in units of J: without it, the
# strong-Rashba point alpha = 0.3 eV nm, J = 0.005 eV erred 10x beyond its estimate.
EDGE_FRACTION = 0.25


@dataclass
class Branch:
    """A stretch of one band on which the panel variable v is monotone in k:
    eps = v ("eps") or eps = origin + v^2 ("sqrt", v = s >= 0, origin the branch point
    eps_min of the roots, at or below the band)."""

    band: int
    kind: str
    origin: float
    inner: bool  # the smaller of the two k roots
    lo: float
    hi: float
    graded_end: str = "lo"  # the end the initial panels are graded from ("lo" or "hi")
    edge_width: float = 0.0  # the smallest initial panel there, in the panel variable


def _parameters(model):
    """c = hbar^2 / 2m (eV nm^2), alpha (eV nm), J (eV): E_+-(k) = c k^2 +- sqrt(alpha^2 k^2
    + J^2) along any ray."""
    return model._kinetic, model.alpha, model.exchange


def _branch_point(model):
    """eps_min, where the two k^2 roots of a band energy meet (the ring minimum of a
    Mexican hat), and s_top = sqrt(-J - eps_min) = |alpha^2 - 2 c J| / (2 alpha sqrt(c))
    (k = 0), in closed form without cancellation.  None for alpha = 0."""
    c, a, j = _parameters(model)
    if a == 0:
        return None, None
    return -(a**4 + 4 * c * c * j * j) / (4 * c * a * a), abs(a * a - 2 * c * j) / (
        2 * a * np.sqrt(c))


def _roots(model, eps, s=None):
    """The two k >= 0 with (c k^2 - eps)^2 = alpha^2 k^2 + J^2, (smaller, larger).

    k^2 = (b +- 2 alpha sqrt(c) s) / (2 c^2) with b = 2 c eps + alpha^2, written as
    2 c (eps + J) + (alpha^2 - 2 c J), s = sqrt(eps - eps_min) = sqrt((eps + J) + s_top^2),
    and the smaller root from the product of the two, (eps - J)(eps + J) / c^2.  Near a
    flat band bottom (alpha^2 ~ 2 c J) b is the difference of two numbers ~J and the direct
    formula loses ~1e-10 of the density; this form loses nothing.  ``s``: given on the
    s-branches, where eps + J = (s - s_top)(s + s_top)."""
    c, a, j = _parameters(model)
    eps = np.asarray(eps, float)
    if a == 0:
        return (np.sqrt(np.maximum((eps - j) / c, 0.0)),
                np.sqrt(np.maximum((eps + j) / c, 0.0)))
    _, s_top = _branch_point(model)
    if s is None:
        e_plus_j = eps + j
        s = np.sqrt(np.maximum(e_plus_j + s_top * s_top, 0.0))
    else:
        e_plus_j = (s - s_top) * (s + s_top)
    b = 2 * c * e_plus_j + (a * a - 2 * c * j)
    large = (b + 2 * a * np.sqrt(c) * s) / (2 * c * c)
    product = (eps - j) * e_plus_j / (c * c)
    small = np.where(large > 0, product / np.where(large > 0, large, 1.0), 0.0)
    return np.sqrt(np.maximum(small, 0.0)), np.sqrt(np.maximum(large, 0.0))


def _slope_over_k(model, k, band):
    """|dE/dk| / k along the ray (finite at k = 0); for the lower band in the form that
    does not cancel near a flat bottom: (4 c^2 alpha^2 k^2 + (2 c J - alpha^2)(2 c J +
    alpha^2)) / (R (2 c R + alpha^2)), R = sqrt(alpha^2 k^2 + J^2)."""
    c, a, j = _parameters(model)
    r = np.sqrt(a * a * k * k + j * j)
    if band == 1:
        return 2 * c + a * a / r
    return np.abs((4 * c * c * a * a * k * k + (2 * c * j - a * a) * (2 * c * j + a * a))
                  / (r * (2 * c * r + a * a)))


def branches(model, e_end, k_end):
    """Branches of both bands out to k_end (nm^-1), where the lower band is at e_end (eV).

    The lower band's k(eps) has a square-root branch point at eps_min (the ring minimum of
    a Mexican hat, alpha^2 > 2 c J, else below the band bottom -J, and close to it when
    alpha^2 ~ 2 c J, where the bottom is flat and the density peaks): its panels are in
    s = sqrt(eps - eps_min), in which the density is smooth, unless the branch point lies
    farther below the edge than the branch spans.  The upper band's branch point lies 2 J
    or more below its edge J: panels in eps.
    """
    c, a, j = _parameters(model)
    upper_end = c * k_end**2 + np.sqrt(a * a * k_end**2 + j * j)
    edge = EDGE_FRACTION * j
    out = [Branch(1, "eps", 0.0, True, j, upper_end, "lo", edge)]
    if a == 0:  # no branch point: k^2 = (eps + J) / c
        out.append(Branch(0, "eps", 0.0, False, -j, e_end, "lo", edge))
        return [b for b in out if b.hi > b.lo]  # empty below the band
    e_min, s_top = _branch_point(model)
    if a * a <= 2 * c * j and s_top**2 > e_end + j:
        # The branch point lies farther below the band edge than the branch spans: the
        # density is smooth in eps (and eps = eps_min + s^2 would cancel).
        out.append(Branch(0, "eps", 0.0, False, -j, e_end, "lo", edge))
        return [b for b in out if b.hi > b.lo]  # empty below the band
    s_end = np.sqrt(e_end - e_min)
    # In s, the scales are s_top (from the branch point to k = 0: near the threshold
    # alpha^2 = 2 c J the band bottom is flat and the density peaks within it) and, at
    # k = 0, the energy scale J of the gap.
    at_k0 = max(min(np.sqrt(s_top**2 + edge) - s_top, EDGE_FRACTION * s_top), MIN_EDGE)
    if a * a > 2 * c * j:  # Mexican hat: k = 0 is a maximum, the minimum is a ring
        out.append(Branch(0, "sqrt", e_min, True, 0.0, s_top, "hi", at_k0))
        out.append(Branch(0, "sqrt", e_min, False, 0.0, s_end, "lo",
                          max(min(EDGE_FRACTION * s_top, SQRT_PANEL), MIN_EDGE)))
    else:
        out.append(Branch(0, "sqrt", e_min, False, s_top, s_end, "lo", at_k0))
    return [b for b in out if b.hi > b.lo]


def _initial_edges(branch):
    """Panel edges of a branch, graded by factors of 2 from branch.edge_width at its graded
    end to the far end: the densities vary on a scale that grows with the distance from
    where they bend, and the error estimate refines where that is not enough."""
    span, width = branch.hi - branch.lo, branch.edge_width
    offsets = [0.0]
    while offsets[-1] + 3.0 * width < span:  # the last panel at least twice the previous
        offsets.append(offsets[-1] + width)
        width *= 2.0
    offsets = np.append(offsets, span)
    if branch.graded_end == "hi":
        return branch.hi - offsets[::-1]
    return branch.lo + offsets


def _branch_nodes(model, branch, v):
    """eps, k and the density factor k / |E'| (times d eps / d v) at panel variable v."""
    if branch.kind == "eps":
        eps, s, factor = v, None, 1.0
    else:
        eps, s, factor = branch.origin + v * v, v, 2 * v
    k = _roots(model, eps, s)[0 if branch.inner else 1]
    return eps, k, factor / _slope_over_k(model, k, branch.band)


def packed_pole_coefficients(model, kx, ky, gamma, kernel="auto"):
    """(P, 3 basis, 26 packed, 2 bands) complex pole-expansion coefficients at the wave
    vectors (kx, ky) (nm^-1), such that the packed integrand at mu is Re sum over basis and
    band of coefficient x (G, G^2, Log)(mu - E_band + i Gamma), and the band energies (P, 2).

    kernel: "numpy" (the reference) or "auto" (the compiled loop of
    :mod:`kubo_sot.kernels.pole_expansion_numba` for a continuum RashbaFerromagnet when
    numba is installed, ~25x less time per k-point)."""
    if kernel == "auto" and pole_expansion_numba.AVAILABLE and type(model) is RashbaFerromagnet:
        return pole_expansion_numba.packed_pole_coefficients(model, kx, ky, gamma)
    e, ops, vel = response_elements(model, kx, ky)
    co = pole_coefficients(e, np.einsum("Mknm,Mjmn->Mkjnm", ops, vel), gamma)
    out = np.empty((e.shape[0], 3, N_COMPONENTS, 2), complex)
    for basis in range(3):
        parts = [co[t][basis] for t in ("surface_a", "surface_b", "sea")]
        for band in range(2):
            out[:, basis, :, band] = _pack(*(p[..., band] for p in parts))
    return e, out


def packed_coefficients(model, k, gamma):
    """:func:`packed_pole_coefficients` on the ray phi = 0, averaged over the rotation of
    the tensors and divided by 2 pi (so that Int k dk of them is the packed result).

    Averaged first, the densities are even in k (a smooth function of (k_x, k_y) averaged
    over the circle is a function of k^2): no square-root point at k = 0 for the error
    estimate to stumble over, and the tolerances apply to them directly."""
    e, out = packed_pole_coefficients(model, k, np.zeros_like(k), gamma)
    average = rotation_average(LAYOUT) / (2 * np.pi)
    return e, np.einsum("cd,pbdn->pbcn", average, out)


def _kernels(x, gamma):
    """g(x) = (G, G^2, Log) at x = mu - eps, stacked on the last axis."""
    z = x + 1j * gamma
    g1 = 1.0 / z
    return np.stack([g1, g1 * g1, np.log(z)], axis=-1)


def _scaled_poles(branch, mid, half, mus, gamma):
    """The kernels' singular points in the panel variable t of panels (mid, half), for
    broadcast arrays of them and of mus: w = (mu + i Gamma - mid) / half on eps-panels;
    on s-panels r = sqrt(mu + i Gamma - eps_min) (Re r, Im r > 0) and w1 = (r - mid) /
    half, w2 = (-r - mid) / half (Im w1 > 0 > Im w2).  Returns (r, [w...])."""
    if branch.kind == "eps":
        return None, [(mus + 1j * gamma - mid) / half]
    r = np.sqrt(mus + 1j * gamma - branch.origin)
    return r, [(r - mid) / half, (-r - mid) / half]


def _near(branch, mid, half, mus, gamma):
    """(mu, panel) pairs that need product integration: a singular point within NEAR_PANEL
    (in units of the half-width) of the panel's centre."""
    _, poles = _scaled_poles(branch, mid[None], half[None], mus[:, None], gamma)
    return np.min([np.abs(w) for w in poles], axis=0) < NEAR_PANEL


def _near_moments(branch, mid, half, mus, gamma):
    """Product-integration weights of P_0..P_(ORDER-1) per basis: (n, ORDER, 3), for the
    (mu, panel) pairs given as arrays mus, mid, half (all (n,))."""
    h = half[:, None]
    delta0 = np.zeros(ORDER)
    delta0[0] = 1.0
    r, poles = _scaled_poles(branch, mid, half, mus, gamma)
    if branch.kind == "eps":
        pole, double, log = (m.T for m in legendre_moments(poles[0], ORDER - 1))
        return np.stack([pole, double / h, h * (log + 2.0 * np.log(h) * delta0)], axis=-1)
    p1, d1, l1 = (m.T for m in legendre_moments(poles[0], ORDER - 1))
    p2, d2, l2 = (m.T for m in legendre_moments(poles[1], ORDER - 1))
    r = r[:, None]
    m1 = (p1 - p2) / (2 * r)
    m2 = (d1 + d2) / (4 * r * r * h) + (p1 - p2) / (4 * r**3)
    ml = h * (l1 + l2 + (4.0 * np.log(h) + 2j * np.pi) * delta0)
    return np.stack([m1, m2, ml], axis=-1)


def _branch_integrals(model, branch, mus, gamma, lo, hi):
    """Values and error estimates (mu, panel, 26) of the panels [lo, hi] of a branch."""
    v = 0.5 * (lo + hi)[:, None] + 0.5 * (hi - lo)[:, None] * X_GL
    eps, k, factor = _branch_nodes(model, branch, v.ravel())
    _, co = packed_coefficients(model, k, gamma)
    rho = (co[..., branch.band] * factor[:, None, None]).reshape(lo.size, ORDER, 3, -1)
    return panel_integrals(branch, mus, gamma, lo, hi, eps.reshape(lo.size, ORDER), rho)


def panel_integrals(branch, mus, gamma, lo, hi, eps, rho):
    """Int dv Re sum_basis rho(v) g(mu - eps(v)) over the panels [lo, hi] of the panel
    variable v of ``branch`` (its kind and origin), and the null-rule error estimates, both
    (mu, panel, C), from the density ``rho`` (panel, node, 3 basis, C) and the energies
    ``eps`` (panel, node) at the Gauss nodes."""
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    coeffs = np.einsum("jn,pnbc->pjbc", VINV, rho)  # Legendre coefficients per panel
    near = _near(branch, mid, half, mus, gamma)
    # Far pairs: the Gauss rule; the weights of P_j(t_i) give the top coefficients' part.
    g = _kernels(mus[:, None, None] - eps[None], gamma)  # (mu, panel, node, 3)
    g = np.where(near[:, :, None, None], 0.0, g * (W_GL * half[:, None])[None, :, :, None])
    value = np.real(np.einsum("mpnb,pnbc->mpc", g, rho, optimize=True))
    top = np.einsum("mpnb,nj->mpjb", g, _VANDER[:, -TOP:])  # (mu, panel, TOP, 3)
    # Near pairs: exact moments.
    mi, pi = np.nonzero(near)
    if mi.size:
        mom = _near_moments(branch, mid[pi], half[pi], mus[mi], gamma)
        for i in range(0, mi.size, NEAR_PAIRS):  # coeffs[pi] copies a panel's per pair
            q, p = mi[i:i + NEAR_PAIRS], pi[i:i + NEAR_PAIRS]
            value[q, p] = np.real(np.einsum("qjb,qjbc->qc", mom[i:i + NEAR_PAIRS], coeffs[p],
                                            optimize=True))
        top[mi, pi] = mom[:, -TOP:, :]
    error = np.einsum("mpjb,pjbc->mpc", np.abs(top), np.abs(coeffs[:, -TOP:]), optimize=True)
    return value, error


def _outer_integrals(model, k_end, mus, gamma, lo, hi):
    """Values and null-rule errors (mu, panel, 26) of Int_K^inf k dk F on t-panels, k = K/t."""
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    t = (mid[:, None] + half[:, None] * X_GL).ravel()
    k = k_end / t
    jacobian = k * k_end / (t * t)
    e, co = packed_coefficients(model, k, gamma)
    g = _kernels(mus[:, None, None] - e[None], gamma)  # (mu, P, band, basis)
    f = np.real(np.einsum("mpnb,pbcn,p->mpc", g, co, jacobian, optimize=True))
    f = f.reshape(mus.size, lo.size, ORDER, -1)
    value = np.einsum("mpnc,n,p->mpc", f, W_GL, half)
    coeffs = np.einsum("jn,mpnc->mpjc", VINV[-TOP:], f)
    error = np.abs(coeffs).sum(axis=2) * (2 * half)[None, :, None]
    return value, error


@dataclass
class Piece:
    """Panels [lo, hi] of one part of a sweep (``kind``: what the evaluation integrates)
    and their values and error estimates (mu, panel, 26); ``angular`` is the part of
    ``error`` that an angular trapezoid rule of ``kind.n_rays`` rays contributes (None
    without one)."""

    kind: object
    lo: np.ndarray
    hi: np.ndarray
    value: np.ndarray = None
    error: np.ndarray = None
    angular: np.ndarray = None


def sweep(model, mus, gamma, tolerance):
    """Packed k-integrals (as in linear_response) at every mu: a KSpaceIntegral whose
    estimate, error and magnitude are stacks (n_mu, 26), converged is per mu (n_mu,) and
    n_kpoints the k-points of the final panels, shared by all mu.

    ``tolerance(estimate, magnitude)`` as for integrate_kspace, applied to the stacks
    (response._tolerances accepts them); the magnitude is the sum of the panels' |values|
    (the analogue of Int |integrand|, whose rounding floors the tolerances).
    """
    mus = np.asarray(mus, float)
    e_end = mus.max() + MARGIN * gamma
    k_end = float(_roots(model, e_end)[1])
    pieces = []
    for branch in branches(model, e_end, k_end):
        edges = _initial_edges(branch)
        pieces.append(Piece(branch, edges[:-1], edges[1:]))
    edges = np.linspace(0.0, 1.0, OUTER_PANELS + 1)
    pieces.append(Piece("outer", edges[:-1], edges[1:]))

    def panels(kind, lo, hi):
        if kind == "outer":
            return _outer_integrals(model, k_end, mus, gamma, lo, hi) + (None,)
        return _branch_integrals(model, kind, mus, gamma, lo, hi) + (None,)
    return refine(pieces, in_chunks(panels, ORDER * (mus.size + 3)), tolerance)


# (mu, panel) pairs of product integration contracted at once (their coefficients copied
# per pair: ~30 kB each with 52 components).
NEAR_PAIRS = 1024
# Largest (k-points x (mu + basis)) per evaluation: arrays of 7 MB with 26 components, of
# which an evaluation holds ~4 at once (2**17 took 110 MB at a 300 K point's thermal grid).
CHUNK = 2**15


def in_chunks(evaluate, per_panel):
    """``evaluate(kind, lo, hi)`` over chunks of at most CHUNK / per_panel panels (at least
    one), results joined along the panel axis; ``per_panel`` may be a function of kind."""
    def chunked(kind, lo, hi):
        cost = per_panel(kind) if callable(per_panel) else per_panel
        size = max(CHUNK // cost, 1)
        parts = [evaluate(kind, lo[i:i + size], hi[i:i + size])
                 for i in range(0, lo.size, size)]
        return tuple(None if p[0] is None else np.concatenate(p, axis=1) for p in zip(*parts))
    return chunked


# Largest number of rays of an angular trapezoid rule (kind.n_rays) that refine doubles.
MAX_RAYS = 256
# Largest (Fermi energies x panels) that refine keeps: the values, errors and angular
# errors (26 floats per cell each) stay below 170 MB; energies then left above their tolerance
# (e.g. many of them far below the bands, where the sea cancels between the bands) go to
# their own k-meshes.
MAX_CELLS = 2**18


def refine(pieces, evaluate, tolerance):
    """Bisect panels until every mu meets its tolerance, or MAX_ROUNDS, or MAX_CELLS: the
    KSpaceIntegral of :func:`sweep`.

    ``evaluate(kind, lo, hi)`` -> (value, error, angular) of panels of one piece.  A piece
    whose flagged panels' errors come more from its angular rule than from the panels has
    its rays doubled instead (all its panels evaluated again).
    """
    for piece in pieces:
        piece.value, piece.error, piece.angular = evaluate(piece.kind, piece.lo, piece.hi)
    n_mu = pieces[0].value.shape[0]
    for round_ in range(MAX_ROUNDS + 1):
        estimate = sum(p.value.sum(axis=1) for p in pieces)
        magnitude = sum(np.abs(p.value).sum(axis=1) for p in pieces)
        # Rounding: the bands' contributions cancel (their coefficients grow like
        # 1/(E_m - E_n)^2), so it scales with the sum of their magnitudes.
        error = np.maximum(sum(p.error.sum(axis=1) for p in pieces),
                           ERROR_FLOOR * group_scale(magnitude))
        tol = tolerance(estimate, magnitude)
        n_panels = sum(p.lo.size for p in pieces)
        if (np.all(error <= tol) or round_ == MAX_ROUNDS
                or 2 * n_panels * n_mu > MAX_CELLS):
            break
        scale = np.maximum(tol[:, None, :], 1e-300)
        for piece in pieces:
            scaled = np.max(piece.error / scale, axis=(0, 2))
            flagged = scaled > 0.5 / n_panels
            if not flagged.any():
                continue
            if piece.angular is not None and piece.kind.n_rays < MAX_RAYS:
                angular = np.max(piece.angular[:, flagged] / scale, initial=0.0)
                radial = np.max((piece.error - piece.angular)[:, flagged] / scale, initial=0.0)
                if angular > radial:
                    piece.kind.n_rays *= 2
                    piece.value, piece.error, piece.angular = evaluate(piece.kind, piece.lo,
                                                                       piece.hi)
                    continue
            lo, hi = piece.lo[flagged], piece.hi[flagged]
            mid = 0.5 * (lo + hi)
            new_lo, new_hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
            value, err, angular = evaluate(piece.kind, new_lo, new_hi)
            keep = ~flagged
            piece.lo = np.concatenate([piece.lo[keep], new_lo])
            piece.hi = np.concatenate([piece.hi[keep], new_hi])
            piece.value = np.concatenate([piece.value[:, keep], value], axis=1)
            piece.error = np.concatenate([piece.error[:, keep], err], axis=1)
            if angular is not None:
                piece.angular = np.concatenate([piece.angular[:, keep], angular], axis=1)
    n_kpoints = sum(p.lo.size * ORDER * getattr(p.kind, "n_rays", 1) for p in pieces)
    return KSpaceIntegral(estimate, error, np.all(error <= tol, axis=1), n_kpoints, magnitude)


# T > 0 (thermal_sweep): the trapezoid rule on a grid of spacing 2 pi d / THERMAL_LOG, with d
# = 0.9 min(Gamma, pi k T) inside the strip where the T = 0 result (singular at Im eps =
# -+Gamma) and -f' (poles at +-i pi k T) are analytic: it errs by ~exp(-THERMAL_LOG) of the
# integral; the grid reaches THERMAL_RANGE k T beyond the energies (-f' < 1e-15 / k T
# there).  A grid energy costs ~60 us along z, a point at 300 K ~0.8 ms: grids of more
# than THERMAL_GRID_PER_ENERGY energies per Fermi energy (Gamma << k T) or MAX_THERMAL_GRID
# in all are left to the k-meshes.
THERMAL_LOG = 30.0
THERMAL_RANGE = 36.0
THERMAL_GRID_PER_ENERGY = 12
MAX_THERMAL_GRID = 20000


def thermal_grid(mus, gamma, thermal_energy, per_energy=THERMAL_GRID_PER_ENERGY):
    """The energies (eV) of :func:`thermal_sweep`: an even number of steps h, or None when
    there would be more than ``per_energy`` per mu or MAX_THERMAL_GRID."""
    step = 2 * np.pi * 0.9 * min(gamma, np.pi * thermal_energy) / THERMAL_LOG
    lo = np.min(mus) - THERMAL_RANGE * thermal_energy
    hi = np.max(mus) + THERMAL_RANGE * thermal_energy
    n = 2 * int(np.ceil(0.5 * (hi - lo) / step))
    if n + 1 > min(MAX_THERMAL_GRID, per_energy * np.size(mus)):
        return None
    return np.linspace(lo, hi, n + 1)


def thermal_sweep(sweep_at, mus, grid, thermal_energy, tolerance):
    """The T > 0 k-integrals at every mu from T = 0 ones on ``grid`` (:func:`thermal_grid`):
    a KSpaceIntegral as :func:`sweep` returns it.

    Every T > 0 term of the integrand is its T = 0 form as a function of the Fermi energy
    convolved with -f' (the Fermi-sea integral of f by parts), so

        I_T(mu) = Int d eps (-f'(eps - mu)) I_0(eps),

    here the trapezoid rule on the grid of T = 0 results ``sweep_at(grid)``.  Error: the
    grid results' errors carried through, plus |T_h - T_2h|^2 / (the integral's scale) for
    the rule itself (it converges geometrically: the error of T_h is about the square of
    that of T_2h, relative to the scale), plus rounding."""
    zero = sweep_at(grid)
    step = grid[1] - grid[0]
    x = np.abs(grid[None, :] - np.asarray(mus, float)[:, None]) / thermal_energy
    decay = np.exp(-x)
    weights = step * decay / (thermal_energy * (1.0 + decay) ** 2)  # h (-f'), (mu, grid)
    estimate = weights @ zero.estimate
    magnitude = weights @ zero.magnitude
    coarse = 2.0 * weights[:, ::2] @ zero.estimate[::2]
    scale = group_scale(magnitude)
    rule = (estimate - coarse) ** 2 / np.maximum(scale, 1e-300)
    error = np.maximum(weights @ zero.error + rule, ERROR_FLOOR * scale)
    return KSpaceIntegral(estimate, error, np.all(error <= tolerance(estimate, magnitude),
                                                  axis=1), zero.n_kpoints, magnitude)


def at_temperature(sweep_at, mus, gamma, thermal_energy, tolerance,
                   per_energy=THERMAL_GRID_PER_ENERGY):
    """``sweep_at(mus)`` at T = 0; at T > 0 :func:`thermal_sweep` on its grid, or None when
    that grid would have more than ``per_energy`` energies per mu."""
    if thermal_energy <= 0:
        return sweep_at(mus)
    grid = thermal_grid(mus, gamma, thermal_energy, per_energy)
    return None if grid is None else thermal_sweep(sweep_at, mus, grid, thermal_energy,
                                                   tolerance)


def applies(model, route):
    """True for the continuum Rashba model with M along +-z (one ray) and J > 0 (at J = 0
    the bands touch at k = 0, where the pole expansion's coefficients diverge), on the
    eigenbasis route; the caller groups the points by constant Gamma and temperature."""
    return (type(model) is RashbaFerromagnet and rotates_with_spin(model)
            and model.exchange > 0 and route == "eigenbasis")


def band_data_along_z(model, mus):
    """BandData at every mu in closed form (M along z: circular contours), as
    :func:`kubo_sot.observables.bands.band_data` computes it ray by ray."""
    _, a, j = _parameters(model)
    mus = np.asarray(mus, float)
    small, large = _roots(model, mus)
    lower_inner = np.where(mus < -j, small, 0.0)  # inside the ring of a Mexican hat
    upper = np.where(mus > j, small, 0.0)
    out = []
    for k_in, k_out, k_up in zip(lower_inner, large, upper):
        occupations = ((k_out**2 - k_in**2) / (4 * np.pi), k_up**2 / (4 * np.pi))
        ratio = a * k_out / j if j > 0 else float("inf")
        out.append(BandData((float(k_out), float(k_up)), tuple(map(float, occupations)),
                            float(ratio)))
    return out


def swept_responses(model, mus, gamma, rtol, temperature, sweep_at, bands_at,
                    per_energy=THERMAL_GRID_PER_ENERGY):
    """LinearResponse at every mu (constant Gamma, one temperature in K) from
    ``sweep_at(energies, tolerance)`` (at T > 0 on its thermal grid, :func:`at_temperature`)
    and the band data ``bands_at(mus)``; None for a mu whose tolerance the sweep did not
    meet, or for all when the thermal grid would be too fine (the caller integrates them
    per point)."""
    mus = np.asarray(mus, float)
    exchange, magnetization = _r._exchange_and_magnetization(model)
    tolerance = _r._tolerances(rtol, exchange, magnetization)
    swept = at_temperature(lambda energies: sweep_at(energies, tolerance), mus, gamma,
                           BOLTZMANN_EV_PER_K * temperature, tolerance, per_energy)
    out = [None] * mus.size
    if swept is None:
        return out
    done = np.flatnonzero(swept.converged)
    for i, bands in zip(done, bands_at(mus[done])):
        result = KSpaceIntegral(swept.estimate[i], swept.error[i], True, swept.n_kpoints,
                                swept.magnitude[i])
        response = _r._assemble(model, result, exchange, magnetization, float(mus[i]), gamma,
                                temperature, rtol, "eigenbasis", bands)
        response.provenance.update(engine="spectral_sweep", points_sharing_kpoints=mus.size)
        out[i] = response
    return out


def linear_responses(model, mus, gamma, rtol, temperature=0.0):
    """:func:`swept_responses` of the sweep along z (band data in closed form)."""
    return swept_responses(model, mus, gamma, rtol, temperature,
                           lambda energies, tolerance: sweep(model, energies, gamma, tolerance),
                           lambda energies: band_data_along_z(model, energies))
