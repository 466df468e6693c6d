"""The Fermi-energy sweep of :mod:`kubo_sot.observables.spectral_sweep` for a magnetization
with an in-plane part (in-plane or tilted M).

The bands are then anisotropic, and the spectral density of band n at energy eps is a
contour integral.  With u = z x M / |M_par|, the exchange-Rashba field |b| is smallest
(J |M_z|, zero for an in-plane M: the Dirac point) at k_D = (J |M_par| / alpha) u.  For
weak Rashba coupling (alpha^2 < 2 c J |M_par|, c = hbar^2 / 2m) both bands have a single
minimum k_n* on the line through k = 0 along u (E_n* = -+J - alpha^2 / (4 c) for an
in-plane M), and the sublevel sets D_n(e) = {E_n < e} are convex as long as they stay
clear of the region around k_D where the lower band is not (below E_CONV, see
:func:`geometry`).  Rays from k_n* then cross each contour of band n once, and with k =
k_n* + r (cos theta, sin theta)

    Int d^2k F_n(k) g(mu - E_n(k)) = Int ds Int dtheta [2 s / |dE_n/dr / r|] F_n g,
    E_n = E_n* + s^2,

whose density in s (the theta-integral) is smooth: a 2D band minimum gives a step in
the density of states, analytic in s = sqrt(eps - E_n*).  The theta-integral is the
periodic trapezoid rule on mirror-symmetric rays, crowded towards k_D (near which the
coefficients are singular, in complex directions) by a circle automorphism (:func:`_rays`); the
difference to N / 2 rays, carried through the product integration, is its error
estimate, and a piece's rays double while that dominates its error.  The rest is
integrated per mu, where every band lies MARGIN widths or the range of mu
(REGION_DISTANCE) above the largest mu, so that the kernels are smooth there and the
integrals are interpolated in mu from Chebyshev nodes (:func:`_mu_interpolation`):

- band + over D_-(e_end) \\ D_+(e_end), on rays from k_+* (from k_-* when D_+ is empty);
- both bands together beyond D_-(e_end) (the pole expansion's coefficients cancel between
  the bands only at equal k; k_D lies there), on rays from k_-*, r = R / t.

The band data (occupations, mean Fermi radii) come from the same rays
(:func:`band_data_from_minima`).

Scope: continuum RashbaFerromagnet, |M_par| > 0, alpha^2 < 2 c J |M_par|, J > 0, one
constant Gamma and temperature (T > 0: :func:`kubo_sot.observables.spectral_sweep.
thermal_sweep`), and Fermi energies with mu + MARGIN Gamma a CLEARANCE below E_CONV
(:func:`usable`); the others fall back to a k-mesh each.  Strong Rashba (for an in-plane M
the upper band's minimum is the Dirac cone, the lower band a Mexican hat broken by M) is
not done.
"""

import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..constants import BOLTZMANN_EV_PER_K
from ..errors import ConvergenceWarning
from ..models.quartic import real_roots
from ..models.rashba import RashbaFerromagnet
from .bands import _band_data, band_data
from .packed_integral import N_COMPONENTS
from .spectral_sweep import (MAX_RAYS, MIN_POINTS, ORDER, THERMAL_RANGE, VINV, W_GL, X_GL,
                             Branch, Piece, _kernels, in_chunks, packed_pole_coefficients,
                             panel_integrals, refine, swept_responses)

FIRST_RAYS = 16  # fewest rays of the first angular trapezoid rule of a piece
ACCURACY_RAYS = 1e-8  # relative accuracy that first_rays aims at
BRANCH_PANELS = 4  # initial s-panels of a band's branch
REGION_PANELS = 2  # initial radial panels of the per-mu regions
NEWTON_STEPS = 40
# Gamma widths between the largest mu and the per-mu regions at least (the sweep along z
# keeps 60; here the regions must also stay below E_CONV, and a larger margin would leave
# fewer energies to the sweep, while the regions' radial panels and mu nodes adapt).
MARGIN = 10.0
# The per-mu regions start this fraction of the range of mu above the largest mu (or
# MARGIN widths, if more): their integrals are then smooth functions of mu, interpolated
# from few nodes, and smooth on their radial panels.
REGION_DISTANCE = 1.0
# Thermal grid energies per Fermi energy at most (spectral_sweep.thermal_grid): a grid
# energy costs ~60-200 us here, a point at 300 K 4-10 ms.
THERMAL_GRID_PER_ENERGY = 40
# Interpolation error in mu of the per-mu regions, relative to their size (a priori, from
# the distance of their singularities; the two highest Chebyshev coefficients check it).
CHEBYSHEV_ACCURACY = 1e-15
TOP = 2


@dataclass(frozen=True)
class Geometry:
    """Band minima, the gap and the energy below which the lower band's sublevel sets are
    convex (M with an in-plane part).

    u: unit vector z x M / |M_par|, towards k_D = (J |M_par| / alpha) u, where the gap
    2 |b| is smallest, 2 gap = 2 J |M_z| (the Dirac point of an in-plane M); centers[n] =
    k_n* (nm^-1), minima[n] = E_n* (eV); distances[n] = |k_D - k_n*|.  e_conv (eV): below
    it D_-(e) is convex and clear of the disk around k_D where the lower band is not
    (|b| < alpha^2 / 2 c, |k - k_D| < r0' = sqrt(r0^2 - (gap / alpha)^2), r0 = alpha / 2 c):
    the convex minorant that keeps c |q|^2 - |b| at its value on the circle r0' inside it
    is at least c (|k_D| - r0')^2 - alpha r0 there; inf when gap >= alpha r0 (the lower
    band is convex everywhere)."""

    u: np.ndarray
    centers: tuple
    minima: tuple
    distances: tuple
    gap: float
    e_conv: float


@functools.lru_cache(maxsize=64)
def geometry(model):
    """The :class:`Geometry` of a RashbaFerromagnet with |M_par| > 0 and alpha^2 < 2 c J
    |M_par|.  Along u the bands are c s^2 -+ sqrt((alpha s - J |M_par|)^2 + gap^2): in
    closed form for an in-plane M (s = -+ r0), else the roots of their slopes, bracketed
    in [-r0, 0] and [0, r0] (the only ones for alpha^2 < 2 c J |M_par|) and polished by
    Newton steps, so that the stationarity the ray formulas rely on holds to rounding."""
    c, a, j = model._kinetic, model.alpha, model.exchange
    mx, my, mz = model.magnetization
    m_par = float(np.hypot(mx, my))
    u = np.array([-my, mx]) / m_par
    r0, gap, k_d = a / (2 * c), j * abs(mz), j * m_par / a
    if gap == 0.0:
        s_min = (-r0, r0)
    else:
        def slope(s, sign):
            return 2 * c * s + sign * a * (a * s - j * m_par) / np.hypot(a * s - j * m_par, gap)

        def curvature(s, sign):
            return 2 * c + sign * a * a * gap * gap / np.hypot(a * s - j * m_par, gap) ** 3
        s_min = []
        for sign, bracket in ((-1.0, (-r0, 0.0)), (1.0, (0.0, r0))):
            ends = [slope(x, sign) for x in bracket]
            if ends[0] * ends[1] < 0:
                x = brentq(slope, *bracket, args=(sign,), xtol=1e-15)
            else:  # a gap below rounding: the in-plane root -+ r0 (the end with slope ~0)
                x = bracket[int(abs(ends[1]) < abs(ends[0]))]
            for _ in range(2):
                x -= slope(x, sign) / curvature(x, sign)
            s_min.append(x)
    energies = [c * x * x + sign * np.hypot(a * x - j * m_par, gap)
                for x, sign in zip(s_min, (-1.0, 1.0))]
    if gap >= a * r0:
        e_conv = np.inf
    else:
        r_disk = np.sqrt(r0 * r0 - (gap / a) ** 2)
        e_conv = c * (k_d - r_disk) ** 2 - a * r0
    return Geometry(u, tuple(x * u for x in s_min), tuple(energies),
                    tuple(abs(k_d - x) for x in s_min), gap, e_conv)


def applies(model, route):
    """True for the continuum Rashba model with an in-plane part of M, J > 0 and weak
    Rashba coupling alpha^2 < 2 c J |M_par| (single band minima), on the eigenbasis route
    (M along z: :mod:`kubo_sot.observables.spectral_sweep`)."""
    if type(model) is not RashbaFerromagnet or route != "eigenbasis":
        return False
    c, a, j = model._kinetic, model.alpha, model.exchange
    m_par = np.hypot(*model.magnetization[:2])
    return bool(m_par > 0 and a > 0 and j > 0 and a * a < 2 * c * j * m_par)


# Fermi energies stay this fraction of E_CONV - E_-* below E_CONV: closer, the contours of
# the lower band bend towards k_D and the per-mu regions shrink to a few
# widths, and the sweep cost more than a k-mesh per energy (a campaign point 10x more).
CLEARANCE = 0.2


def usable(model, mus, gamma, thermal_energy=0.0):
    """The Fermi energies the sweep integrates: the lower band has states at mu, and mu +
    MARGIN Gamma (plus the thermal grid's THERMAL_RANGE k T at T > 0) stays below E_CONV
    by CLEARANCE of the lower band's convex range."""
    geo = geometry(model)
    mus = np.asarray(mus, float)
    top = geo.e_conv - CLEARANCE * (geo.e_conv - geo.minima[0]) if np.isfinite(
        geo.e_conv) else np.inf
    reach = MARGIN * gamma + THERMAL_RANGE * thermal_energy
    return (mus + reach < top) & (mus > geo.minima[0])


def _field(model, kx, ky):
    """The in-plane part (alpha k_y - J M_x, -alpha k_x - J M_y) of b(k) and |b(k)| (with
    b_z = -J M_z)."""
    mx, my, mz = model.magnetization
    a, j = model.alpha, model.exchange
    bx, by = a * ky - j * mx, -a * kx - j * my
    return bx, by, np.sqrt(bx * bx + by * by + (j * mz) ** 2)


def _ray_terms(model, center, cos, sin):
    """|b_p|, beta = b_p . R e (R (x, y) = (y, -x)) of the rays e = (cos, sin) from p."""
    bx, by, norm = _field(model, *center)
    return norm, bx * sin - by * cos


def _from_minimum(model, band, center, r, cos, sin):
    """F = (E_n - E_n*) / r^2 and (dE_n / dr) / r on rays from the band's minimum, in
    forms that do not cancel as r -> 0 (stationarity 2 c p.e = -+ alpha beta / |b_p|):

        F = c +- [alpha^2 / S - alpha beta (alpha^2 r + 2 alpha beta) / (|b_p| S^2)]
        E' / r = 2 c +- [alpha^2 / |b| - alpha beta (alpha^2 r + 2 alpha beta) / (|b| |b_p| S)]

    with S = |b| + |b_p| and +- for the upper / lower band."""
    c, a = model._kinetic, model.alpha
    bp, beta = _ray_terms(model, center, cos, sin)
    _, _, b = _field(model, center[0] + r * cos, center[1] + r * sin)
    s_sum = b + bp
    sign = 1.0 if band == 1 else -1.0
    cross = a * beta * (a * a * r + 2 * a * beta)
    f = c + sign * (a * a / s_sum - cross / (bp * s_sum * s_sum))
    slope = 2 * c + sign * (a * a / b - cross / (b * bp * s_sum))
    return f, slope


def radius_from_minimum(model, band, center, s, cos, sin):
    """r >= 0 with E_n(k_n* + r e) = E_n* + s^2 on each ray (Newton on r sqrt(F) = s,
    monotone for a convex band) and (dE_n / dr) / r there."""
    f0, _ = _from_minimum(model, band, center, np.zeros_like(cos * s), cos, sin)
    r = s / np.sqrt(f0)
    for _ in range(NEWTON_STEPS):
        f, slope = _from_minimum(model, band, center, r, cos, sin)
        root_f = np.sqrt(f)
        step = (r * root_f - s) * 2 * root_f / slope
        r = np.maximum(r - step, 0.5 * r)
        if np.all(np.abs(step) <= 1e-14 * np.maximum(r, 1e-300)):  # quadratic: r to rounding
            break
    else:
        raise RuntimeError("spectral sweep: the band radius did not converge")
    return r, _from_minimum(model, band, center, r, cos, sin)[1]


def exit_radius(model, center, e, cos, sin):
    """r > 0 where the rays from ``center`` (inside the convex D_-(e)) leave it: the
    smallest positive root of (e - c |p + r e|^2)^2 = |b|^2 with e - c |k|^2 < 0."""
    c, a = model._kinetic, model.alpha
    p = np.asarray(center, float)
    bp, beta = _ray_terms(model, p, cos, sin)
    pe = p[0] * cos + p[1] * sin
    e0 = e - c * (p @ p)
    ones = np.ones_like(cos)
    coefficients = np.stack([c * c * ones, 4 * c * c * pe,
                             4 * c * c * pe * pe - 2 * c * e0 - a * a,
                             -4 * c * pe * e0 - 2 * a * beta,
                             (e0 * e0 - bp * bp) * ones], axis=1)
    roots = real_roots(coefficients)
    q = -c * roots**2 - 2 * c * pe[:, None] * roots + e0
    ok = (roots > 0) & (q < 0)
    out = np.nanmin(np.where(ok, roots, np.nan), axis=1)
    if not np.all(np.isfinite(out)):
        raise RuntimeError("spectral sweep: a ray did not leave the lower band's region")
    return out


def _rays(geo, n, q=0.0):
    """Mirror-symmetric trapezoid rays in theta = theta_u + psi(tau), tau = 2 pi (j + 1/2)
    / n, and their weights d theta (cos, sin, weight; broadcast with q[..., None]).  Offset
    by half a step, no ray points at k_D (the per-mu region beyond D_- contains it, where
    the bands' coefficients grow like 1 / |b|^2 and cancel to rounding).

    The integrands are singular near k_D (at the Dirac point of an in-plane M), which a
    contour of radius R around a center at distance D from it sees at |Im theta| ~
    log(D / R) (in-plane M): the plain rule (q = 0) converges like (R / D)^n.  The circle
    automorphism e^(i psi) = (e^(i tau) + q) / (1 + q e^(i tau)) crowds the rays towards
    k_D and moves that singularity out to rho' = (rho - q) / (1 - q rho), rho = D / R, at
    the price of a pole of d psi / d tau at 1 / q: q = rho - sqrt(rho^2 - 1) balances the
    two at rho' = rho + sqrt(rho^2 - 1) (:func:`crowding`), e.g. 1.37 instead of 1.05."""
    q = np.asarray(q, float)[..., None]
    tau = 2 * np.pi * (np.arange(n) + 0.5) / n
    z = np.exp(1j * tau)
    w = (z + q) / (1 + q * z)
    jacobian = (1 - q * q) / (1 + 2 * q * np.cos(tau) + q * q)
    cu, su = geo.u
    return (cu * w.real - su * w.imag, su * w.real + cu * w.imag,
            jacobian * (2 * np.pi / n))


def crowding(model, band, s):
    """q of :func:`_rays` for the contour of ``band`` at s = sqrt(eps - E_n*), of radius R
    towards k_D at distance D from it: the singularity |k - k_D|^2 = -(gap / alpha)^2 of
    the coefficients lies at |z| = rho = x + sqrt(x^2 - 1), x = (R^2 + D^2 + (gap /
    alpha)^2) / (2 R D) (rho = D / R for an in-plane M); q = rho - sqrt(rho^2 - 1)."""
    geo = geometry(model)
    s = np.asarray(s, float)
    ones = np.ones_like(s)
    radius, _ = radius_from_minimum(model, band, geo.centers[band], s, geo.u[0] * ones,
                                    geo.u[1] * ones)
    radius = np.maximum(radius, 1e-300)
    distance = geo.distances[band]
    x = (radius**2 + distance**2 + (geo.gap / model.alpha) ** 2) / (2 * radius * distance)
    rho = x + np.sqrt(np.maximum(x * x - 1, 0.0))
    return np.where(rho > 1, rho - np.sqrt(np.maximum(rho * rho - 1, 0.0)), 0.0)


def first_rays(q):
    """Rays to start a piece with, from its crowding q (the largest of its contours): the
    crowded rule converges like q^n (rho' = 1 / q), and the error estimate, the change from
    n / 2 rays, is small when q^(n / 2) <= ACCURACY_RAYS; a power of 2 from FIRST_RAYS to
    MAX_RAYS.  (Starting at FIRST_RAYS, the doubling evaluated every piece again and again:
    16 + 32 + 64 rays for 64 at a campaign point.)"""
    q = float(np.max(q))
    if q <= 0.0:
        return FIRST_RAYS
    n = 2.0 * np.log(ACCURACY_RAYS) / np.log(q)
    return int(min(max(FIRST_RAYS, 2 ** int(np.ceil(np.log2(n)))), MAX_RAYS))


def _halves(f, weights, axis):
    """Sums over the ray axis with all n rays and with every second one (weights doubled),
    ``weights`` broadcasting against f with the ray axis at ``axis``."""
    f = np.moveaxis(f * weights, axis, 0)
    return f.sum(axis=0), 2 * f[::2].sum(axis=0)


@dataclass
class ContourBranch(Branch):
    """Band ``band`` from its minimum: panels in s = sqrt(eps - origin), ``n_rays`` rays
    from ``center``."""

    center: np.ndarray = None
    n_rays: int = FIRST_RAYS


@dataclass
class Region:
    """Band(s) ``bands`` integrated per mu on n_rays rays from ``center``: r = inner +
    (outer - inner) t for t in [0, 1], or r = outer / t (``tail``)."""

    bands: tuple
    center: np.ndarray
    inner: object  # callable (cos, sin) -> radii, or None for 0
    outer: object
    tail: bool
    crowding: float = 0.0  # q of _rays
    n_rays: int = FIRST_RAYS


def _branch_values(model, branch, mus, gamma, lo, hi):
    """Values, error estimates and their angular part (mu, panel, 26) of a ContourBranch's
    s-panels [lo, hi]: the density at each s-node is the crowded trapezoid sum over the
    rays from the band's minimum; its difference to every second ray, carried through the
    product integration, is the angular error."""
    n = branch.n_rays
    s = (0.5 * (lo + hi)[:, None] + 0.5 * (hi - lo)[:, None] * X_GL)  # (panel, node)
    cos, sin, weights = _rays(geometry(model), n, crowding(model, branch.band, s))
    shape = cos.shape  # (panel, node, ray)
    s_all = np.broadcast_to(s[..., None], shape).ravel()
    r, slope = radius_from_minimum(model, branch.band, branch.center, s_all, cos.ravel(),
                                   sin.ravel())
    kx = branch.center[0] + r * cos.ravel()
    ky = branch.center[1] + r * sin.ravel()
    _, co = packed_pole_coefficients(model, kx, ky, gamma)
    density = co[..., branch.band] * (2 * s_all / np.abs(slope))[:, None, None]
    density = density.reshape(shape + (3, N_COMPONENTS)) / (2 * np.pi) ** 2
    full, half = _halves(density, weights[..., None, None], axis=2)
    eps = branch.origin + s * s
    value, error = panel_integrals(branch, mus, gamma, lo, hi, eps,
                                   np.concatenate([full, full - half], axis=-1))
    angular = np.abs(value[..., N_COMPONENTS:])
    return value[..., :N_COMPONENTS], error[..., :N_COMPONENTS] + angular, angular


def _mu_interpolation(mus, e_end):
    """(nodes, matrix, top) to evaluate the per-mu regions at Chebyshev-Lobatto nodes in
    mu and interpolate to ``mus`` (matrix (n_mu, n_nodes); top (TOP, n_nodes): node values
    -> the highest Chebyshev coefficients), or (mus, None, None) when that is not cheaper.  Every band lies at or above e_end in the regions, so their integrals are
    analytic in mu within the Bernstein ellipse of [mu_min, mu_max] through e_end, of
    parameter rho: n + 1 nodes with rho^-n <= CHEBYSHEV_ACCURACY."""
    lo, hi = mus.min(), mus.max()
    if hi <= lo:
        return mus, None, None
    x_end = 1.0 + 2.0 * (e_end - hi) / (hi - lo)
    rho = x_end + np.sqrt(x_end * x_end - 1.0)
    n = max(int(np.ceil(np.log(1.0 / CHEBYSHEV_ACCURACY) / np.log(rho))), 8)
    if n + 1 >= mus.size:
        return mus, None, None
    x = np.cos(np.pi * np.arange(n + 1) / n)
    nodes = 0.5 * (hi + lo) + 0.5 * (hi - lo) * x
    to_coefficients = np.linalg.inv(np.polynomial.chebyshev.chebvander(x, n))
    at_mus = np.polynomial.chebyshev.chebvander((2 * mus - hi - lo) / (hi - lo), n)
    return nodes, at_mus @ to_coefficients, to_coefficients[-TOP:]


def _region_values(model, region, mus, gamma, lo, hi, interpolation=(None, None, None)):
    """Values, error estimates and their angular part (mu, panel, 26) of a Region's
    t-panels [lo, hi]; with ``interpolation`` of :func:`_mu_interpolation`
    the integrals are taken at the nodes and interpolated (errors: their largest value at
    the nodes, plus the two highest Chebyshev coefficients)."""
    nodes, matrix, to_top = interpolation
    if matrix is not None:
        value, error, angular = _region_values(model, region, nodes, gamma, lo, hi)
        top = np.abs(np.einsum("jn,npc->jpc", to_top, value)).sum(axis=0)
        shape = (mus.size,) + value.shape[1:]
        return (np.einsum("mn,npc->mpc", matrix, value),
                np.broadcast_to(error.max(axis=0) + top, shape),
                np.broadcast_to(angular.max(axis=0), shape))
    n = region.n_rays
    cos, sin, weights = _rays(geometry(model), n, region.crowding)
    outer = region.outer(cos, sin)
    inner = np.zeros(n) if region.inner is None else region.inner(cos, sin)
    half_width = 0.5 * (hi - lo)
    t = (0.5 * (lo + hi)[:, None] + half_width[:, None] * X_GL)[..., None]  # (panel, node, 1)
    if region.tail:
        r = outer / t
        jacobian = r * outer / (t * t)
    else:
        r = inner + (outer - inner) * t
        jacobian = r * (outer - inner)
    shape = r.shape
    kx = (region.center[0] + r * cos).ravel()
    ky = (region.center[1] + r * sin).ravel()
    e, co = packed_pole_coefficients(model, kx, ky, gamma)
    bands = list(region.bands)
    g = _kernels(mus[:, None, None] - e[None, :, bands], gamma)  # (mu, P, band, basis)
    co = co[..., bands] * (jacobian.ravel() / (2 * np.pi) ** 2)[:, None, None, None]
    # Re(g co) as two real products: half the arithmetic of the complex one.
    f = (np.einsum("mpnb,pbcn->mpc", g.real, co.real, optimize=True)
         - np.einsum("mpnb,pbcn->mpc", g.imag, co.imag, optimize=True))
    f = f.reshape((mus.size,) + shape + (N_COMPONENTS,))
    full, half = _halves(f, weights[:, None], axis=3)  # (mu, panel, node, 26)
    value = np.einsum("mpnc,n,p->mpc", full, W_GL, half_width)
    angular = np.abs(value - np.einsum("mpnc,n,p->mpc", half, W_GL, half_width))
    coeffs = np.einsum("jn,mpnc->mpjc", VINV[-TOP:], full)
    error = np.abs(coeffs).sum(axis=2) * (2 * half_width)[None, :, None]
    return value, error + angular, angular


def sweep(model, mus, gamma, tolerance):
    """As :func:`kubo_sot.observables.spectral_sweep.sweep`, for M with an in-plane part;
    every mu must lie below the top of :func:`usable` (below the bands is allowed: the
    thermal grid reaches there)."""
    mus = np.asarray(mus, float)
    geo = geometry(model)
    # Clear of E_CONV: usable() leaves MARGIN widths below it.
    room = 0.5 * (geo.e_conv - mus.max())
    e_end = mus.max() + max(MARGIN * gamma, min(REGION_DISTANCE * np.ptp(mus), room))
    pieces = []
    for band in (0, 1):
        if e_end > geo.minima[band]:
            s_end = np.sqrt(e_end - geo.minima[band])
            branch = ContourBranch(band, "sqrt", geo.minima[band], False, 0.0, s_end,
                                   center=geo.centers[band],
                                   n_rays=first_rays(crowding(model, band, s_end)))
            edges = np.linspace(0.0, s_end, BRANCH_PANELS + 1)
            pieces.append(Piece(branch, edges[:-1], edges[1:]))
    s_lower = np.sqrt(e_end - geo.minima[0])

    def lower_edge(cos, sin):  # D_-(e_end) seen from k_-*
        return radius_from_minimum(model, 0, geo.centers[0], np.full(cos.shape, s_lower),
                                   cos, sin)[0]

    if e_end > geo.minima[1]:
        s_upper = np.sqrt(e_end - geo.minima[1])
        shell = Region((1,), geo.centers[1], lambda cos, sin: radius_from_minimum(
            model, 1, geo.centers[1], np.full(cos.shape, s_upper), cos, sin)[0],
            lambda cos, sin: exit_radius(model, geo.centers[1], e_end, cos, sin), False,
            float(crowding(model, 1, s_upper)))
    else:
        shell = Region((1,), geo.centers[0], None, lower_edge, False,
                       float(crowding(model, 0, s_lower)))
    tail = Region((0, 1), geo.centers[0], None, lower_edge, True,
                  float(crowding(model, 0, s_lower)))
    for region in (shell, tail):
        region.n_rays = first_rays(region.crowding)
    edges = np.linspace(0.0, 1.0, REGION_PANELS + 1)
    pieces += [Piece(shell, edges[:-1], edges[1:]), Piece(tail, edges[:-1], edges[1:])]

    interpolation = _mu_interpolation(mus, e_end)
    n_mu = interpolation[0].size

    def panels(kind, lo, hi):
        if isinstance(kind, Region):
            return _region_values(model, kind, mus, gamma, lo, hi, interpolation)
        return _branch_values(model, kind, mus, gamma, lo, hi)

    def per_panel(kind):  # elements (of 26 components) of a panel's largest arrays
        if isinstance(kind, Region):
            return ORDER * kind.n_rays * n_mu  # the integrand per mu node and k-point
        return ORDER * (6 * kind.n_rays + mus.size)  # densities (3 x 52); kernels per mu
    return refine(pieces, in_chunks(panels, per_panel), tolerance)


# Band data: rays from the band minima, doubled from BAND_DATA_RAYS until two rules agree
# to BAND_DATA_ACCURACY (relative); energies that do not converge go to bands.band_data.
BAND_DATA_RAYS = 16
BAND_DATA_MAX_RAYS = 1024
BAND_DATA_ACCURACY = 1e-13


def band_data_from_minima(model, mus):
    """BandData at every mu, as :func:`kubo_sot.observables.bands.band_data` defines them,
    from the contours seen from the band minima k_n* (star-shaped there, so one trapezoid
    rule in theta serves all mu): the occupation (2 pi)^-2 Int dtheta r^2 / 2 and, for a
    contour around k = 0, the mean outer radius (2 pi)^-1 Int dphi |K| = (2 pi)^-1 Int
    dtheta (K x K') / |K| with K = k_n* + r e, K' = r' e + r e_perp and r' = -r (grad E .
    e_perp) / (grad E . e).  A contour that does not enclose k = 0 (mu between E_n* and
    E_n(0) = -+J), the lower band at or above E_CONV (no longer star-shaped) and a rule
    that does not converge fall back to band_data."""
    geo = geometry(model)
    mus = np.asarray(mus, float)
    c, a = model._kinetic, model.alpha
    areas = np.zeros((2, mus.size))
    radii = np.zeros((2, mus.size))
    fallback = np.zeros(mus.size, bool)
    for band, (center, bottom, at_origin) in enumerate(zip(
            geo.centers, geo.minima, (-model.exchange, model.exchange))):
        filled = mus > bottom
        inside = mus > at_origin if band == 1 else (mus > at_origin) & (mus < geo.e_conv)
        fallback |= filled & ~inside
        use = filled & inside
        if not use.any():
            continue
        s = np.sqrt(mus[use] - bottom)[:, None]
        q = crowding(model, band, s[:, 0])
        n, previous = BAND_DATA_RAYS, None
        while n <= BAND_DATA_MAX_RAYS:
            cos, sin, weights = _rays(geo, n, q)
            r, _ = radius_from_minimum(model, band, center, np.broadcast_to(s, cos.shape),
                                       cos, sin)
            kx, ky = center[0] + r * cos, center[1] + r * sin
            bx, by, norm = _field(model, kx, ky)
            sign = 1.0 if band == 1 else -1.0
            # grad E = 2 c k +- alpha R^T b / |b|, R^T (x, y) = (-y, x)
            gx = 2 * c * kx - sign * a * by / norm
            gy = 2 * c * ky + sign * a * bx / norm
            dr = -r * (-gx * sin + gy * cos) / (gx * cos + gy * sin)
            tx, ty = dr * cos - r * sin, dr * sin + r * cos  # K'
            current = np.stack([0.5 * r * r, (kx * ty - ky * tx) / np.hypot(kx, ky)])
            current = (current * weights).sum(axis=-1)
            if previous is not None and np.all(
                    np.abs(current - previous) <= BAND_DATA_ACCURACY * np.abs(current)):
                break
            previous, n = current, 2 * n
        else:
            fallback[use] = True
            continue
        areas[band, use], radii[band, use] = current[0], current[1] / (2 * np.pi)
    return [band_data(model, float(mu)) if back else _band_data(model, areas[:, i], radii[:, i])
            for i, (mu, back) in enumerate(zip(mus, fallback))]


def linear_responses(model, mus, gamma, rtol, temperature=0.0):
    """:func:`kubo_sot.observables.spectral_sweep.swept_responses` of this sweep (band data
    from the minima) at the :func:`usable` Fermi energies; None for the others."""
    mus = np.asarray(mus, float)
    out = [None] * mus.size
    use = np.flatnonzero(usable(model, mus, gamma, BOLTZMANN_EV_PER_K * temperature))
    if use.size < MIN_POINTS:
        return out
    try:
        swept = swept_responses(
            model, mus[use], gamma, rtol, temperature,
            lambda energies, tolerance: sweep(model, energies, gamma, tolerance),
            lambda energies: band_data_from_minima(model, energies), THERMAL_GRID_PER_ENERGY)
    except RuntimeError as exc:  # a ray's root not found: every energy on its own k-mesh
        warnings.warn(f"spectral sweep abandoned ({exc}); the {use.size} Fermi "
                      "energies are integrated one by one", ConvergenceWarning, stacklevel=3)
        return out
    for i, response in zip(use, swept):
        out[i] = response
    return out
