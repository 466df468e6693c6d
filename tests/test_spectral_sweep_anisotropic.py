"""Spectral-density sweep for M with an in-plane part (spectral_sweep_anisotropic.py),
in-plane and tilted, against the adaptive k-space engine and the per-point linear_response,
and its parts: the band geometry (minima, convexity bound), the rays from the minima, the
compiled coefficients, the band data, the mirror symmetry of M = x and the scope (applies,
usable)."""

import functools

import mpmath
import numpy as np
import pytest

from conftest import assert_agree_within_errors, miss_every_second_energy

import kubo_sot
from kubo_sot.integrate import kspace
from kubo_sot.kernels import pole_expansion_numba
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables import bands, spectral_sweep, spectral_sweep_anisotropic
from kubo_sot.observables.packed_integral import (_tolerances, group_scale,
                                                  response_integrand)
from kubo_sot.observables.spectral_sweep_anisotropic import (CLEARANCE, MARGIN, applies,
                                                          band_data_from_minima, exit_radius,
                                                          geometry, radius_from_minimum,
                                                          sweep, usable)

EPS = np.finfo(float).eps
_C = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))._kinetic


def _strongish(exchange, mass=1.0):
    """alpha with alpha^2 / (2 c J) = 0.64, i.e. alpha = 0.8 sqrt(2 c J): weak Rashba, but
    close to the Mexican hat (alpha^2 = 2 c J)."""
    return float(0.8 * np.sqrt(2 * _C / mass * exchange))


def _top(model, gamma):
    """The largest usable Fermi energy (usable's scope: mu + MARGIN Gamma below E_CONV less
    CLEARANCE of the lower band's convex range)."""
    geo = geometry(model)
    if geo.e_conv == np.inf:
        return np.inf
    return geo.e_conv - CLEARANCE * (geo.e_conv - geo.minima[0]) - MARGIN * gamma


# (model kwargs, Gamma).  With x = alpha^2 / (2 c J), e_conv - E_-* = J / (2 x): a model has
# usable energies only if MARGIN Gamma < (1 - CLEARANCE) J / (2 x), and reaches the upper
# band's minimum (2 J above the lower one) only if x is small enough as well.
CASES = [
    # Weak Rashba: both minima and a spread up to 0.5 eV, far below e_conv (~380 eV).
    (dict(alpha=0.002, exchange=0.2, magnetization=(1, 0, 0)), 0.002),
    # x = 0.16: both minima usable; the regions beyond the branches close to the Dirac cone.
    (dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0)), 0.001),
    # Oblique M, mass 0.5, x = 0.11.
    (dict(alpha=0.05, exchange=0.15, magnetization=(0.6, -0.8, 0), mass=0.5), 0.003),
    # x = 0.64: only the ~65 widths above the lower band's bottom are usable.
    (dict(alpha=_strongish(0.1), exchange=0.1, magnetization=(0, 1, 0)), 0.0005),
    # Tilted M: a gap J |M_z| = 0.12 eV at k_D, the lower band convex everywhere.
    (dict(alpha=0.05, exchange=0.15, magnetization=(0.48, 0.36, 0.8), mass=0.7), 0.003),
    # Nearly in-plane (gap 0.006 eV < alpha^2 / 2 c = 0.033 eV): a finite e_conv.
    (dict(alpha=0.05, exchange=0.2, magnetization=(0.0, float(np.sqrt(1 - 0.03**2)), 0.03)),
     0.002),
]


def _energies(model, gamma):
    """Next to both band minima (1e-4 above, +-3 Gamma), and a spread over the usable range
    (up to 0.5 eV); only the usable ones."""
    geo = geometry(model)
    edges = [geo.minima[n] + d for n in (0, 1) for d in (1e-4, -3 * gamma, 3 * gamma)]
    spread = np.linspace(geo.minima[0], min(_top(model, gamma), 0.5), 10)[1:]
    mus = np.sort(np.concatenate([edges, spread]))
    return mus[usable(model, mus, gamma)]


@functools.lru_cache(maxsize=None)
def _reference(case, mu):
    """The adaptive k-space engine at rtol 1e-11 (shared by both rtol of a case)."""
    kwargs, gamma = CASES[case]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    integrand = response_integrand(model, mu, ConstantBroadening(gamma), 0.0)
    return kspace.integrate_kspace(model, integrand, mu, gamma,
                                   _tolerances(1e-11, model.exchange, model.magnetization))


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("rtol", [1e-5, 1e-10])
def test_sweep_equals_engine_within_errors(case, rtol):
    kwargs, gamma = CASES[case]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    mus = _energies(model, gamma)
    geo = geometry(model)
    assert mus.size >= 8 and mus.min() < geo.minima[0] + 2e-4
    if case < 3:  # both band minima in the usable range
        assert np.any(np.abs(mus - geo.minima[1]) < 2e-4)
    tolerance = _tolerances(rtol, model.exchange, model.magnetization)
    swept = sweep(model, mus, gamma, tolerance)
    assert swept.converged.all()
    estimate, error = swept.estimate, swept.error
    for mu, est, err in zip(mus, estimate, error):
        ref = _reference(case, float(mu))
        # Both error estimates bound their deviation from the exact integral; 1e-12 of the
        # tensor's largest element covers rounding of the two (their floors are 1e-11).
        for group in (slice(0, 8), slice(8, 26)):
            scale = np.max(np.abs(ref.estimate[group]))
            assert np.all(np.abs(est[group] - ref.estimate[group])
                          <= err[group] + ref.error[group] + 1e-12 * scale), (mu, group)


PARTS = ("total", "fermi_surface", "fermi_sea")  # the tensors and their split


def _assert_same_bands(a, b):
    """Band data of the sweep (band_data_from_minima, converged to 1e-13 relative between
    two ray rules) and of band_data (rounding): 1e-12 relative; 1e-14 absolute for the
    zeros of an empty band (exactly 0 in both)."""
    for x, y in ((a.occupations, b.occupations), (a.fermi_wavevectors, b.fermi_wavevectors),
                 ((a.rashba_to_exchange,), (b.rashba_to_exchange,))):
        x, y = np.array(x), np.array(y)
        assert np.all(np.abs(x - y) <= 1e-12 * np.abs(y) + 1e-14), (x, y)


def test_arrays_of_fermi_energies_use_the_sweep():
    """linear_response over an array of mu (in-plane M, one Gamma, T = 0): the usable
    energies come from the sweep and equal the per-point integrals within their error
    estimates (tensors and their Fermi-surface / Fermi-sea split, band data); above the
    usable range (mu + MARGIN Gamma too close to e_conv) each energy is integrated on its
    own k-mesh."""
    kwargs, gamma = CASES[2]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    geo = geometry(model)
    swept = _energies(model, gamma)
    assert swept.size >= 8
    # Just above the usable range, halfway from there to e_conv - MARGIN Gamma (unusable
    # by CLEARANCE only), and with mu + MARGIN Gamma beyond e_conv.
    top = _top(model, gamma)
    above = [top + 1e-6, 0.5 * (top + geo.e_conv - MARGIN * gamma),
             geo.e_conv - 0.5 * MARGIN * gamma]
    mus = np.concatenate([swept, above])
    assert not np.any(usable(model, above, gamma))
    results = kubo_sot.linear_response(model, mus, gamma, rtol=1e-7)
    for mu, r in zip(mus, results):
        assert (r.provenance.get("engine") == "spectral_sweep") == (mu in swept), mu
        assert r.provenance["fermi_energy_eV"] == mu
        single = kubo_sot.linear_response(model, mu, gamma, rtol=1e-9)
        assert "engine" not in single.provenance
        assert_agree_within_errors(r, single, PARTS)
        _assert_same_bands(r.bands, single.bands)


def test_energies_the_sweep_misses_are_integrated_per_point(monkeypatch):
    """A mu whose error estimate the sweep leaves above its tolerance (here every second one,
    its estimate inflated) comes from its own k-mesh, the others from the sweep, each at
    its place in the array (also past an unusable energy)."""
    miss_every_second_energy(monkeypatch, spectral_sweep_anisotropic)
    kwargs, gamma = CASES[2]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    swept = np.linspace(geometry(model).minima[0] + 0.01, _top(model, gamma) - 0.01, 9)
    mus = np.insert(swept, 4, _top(model, gamma) + 0.01)  # unusable, 5th
    results = kubo_sot.linear_response(model, mus, gamma, rtol=1e-6)
    engines = [r.provenance.get("engine") for r in np.delete(results, 4)]
    assert engines[::2] == [None] * 5 and engines[1::2] == ["spectral_sweep"] * 4
    assert usable(model, swept, gamma).all()
    assert "engine" not in results[4].provenance
    for mu, r in zip(mus, results):
        assert r.provenance["fermi_energy_eV"] == mu
        assert_agree_within_errors(r, kubo_sot.linear_response(model, mu, gamma, rtol=1e-9),
                                   PARTS)


# --- The rays from the band minima, in exact arithmetic (mpmath) ---------------------------

DIGITS = 40  # mpmath working precision (a context per test: mp.dps is global)
# Weak enough that the lower band's contours stay convex up to E_-* + 1 eV (e_conv = 1.3),
# oblique M, mass != 1; and tilted (a gap J |M_z| = 0.06 eV).
RAY_MODEL = dict(alpha=0.03, exchange=0.2, magnetization=(0.6, -0.8, 0), mass=0.9)
_M_PAR = float(np.sqrt(1 - 0.3**2))
RAY_MODELS = [RAY_MODEL, dict(RAY_MODEL, magnetization=(0.6 * _M_PAR, -0.8 * _M_PAR, 0.3))]


def _mp_energy(model, band, kx, ky):
    """E_n(k) = c k^2 -+ |b(k)| at mpf (kx, ky), the model's parameters taken as exact."""
    c, a, j = (mpmath.mpf(x) for x in (model._kinetic, model.alpha, model.exchange))
    mx, my, mz = (mpmath.mpf(x) for x in model.magnetization)
    b = mpmath.sqrt((a * ky - j * mx) ** 2 + (a * kx + j * my) ** 2 + (j * mz) ** 2)
    return c * (kx * kx + ky * ky) + (b if band == 1 else -b)


def _mp_gradient(model, band, kx, ky):
    """grad E_n = 2 c k +- alpha (-b_y, b_x) / |b| at mpf (kx, ky)."""
    c, a, j = (mpmath.mpf(x) for x in (model._kinetic, model.alpha, model.exchange))
    mx, my, mz = (mpmath.mpf(x) for x in model.magnetization)
    bx, by = a * ky - j * mx, -a * kx - j * my
    sign = (1 if band == 1 else -1) * a / mpmath.sqrt(bx * bx + by * by + (j * mz) ** 2)
    return 2 * c * kx - sign * by, 2 * c * ky + sign * bx


def _angles(model, n_random=24, seed=1):
    """Random directions and those along and across u (through the Dirac point)."""
    theta_u = np.arctan2(*geometry(model).u[::-1])
    theta = np.concatenate([np.random.default_rng(seed).uniform(0, 2 * np.pi, n_random),
                            theta_u + np.pi / 2 * np.arange(4)])
    return np.cos(theta), np.sin(theta)


@pytest.mark.parametrize("kwargs", RAY_MODELS)
def test_mp_energy_is_the_model(kwargs):
    """The exact energies below are the model's (|E| < 1 eV here: 1e-14 is ~50 ulp)."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    kx, ky = np.random.default_rng(2).uniform(-3, 3, (2, 20))
    with mpmath.workdps(DIGITS):
        exact = np.array([[float(_mp_energy(model, n, mpmath.mpf(x), mpmath.mpf(y)))
                           for n in (0, 1)] for x, y in zip(kx, ky)])
    assert np.allclose(model.band_energies(kx, ky), exact, rtol=0, atol=1e-14)


@pytest.mark.parametrize("kwargs", RAY_MODELS)
@pytest.mark.parametrize("band", [0, 1])
@mpmath.workdps(DIGITS)
def test_radius_from_minimum_lands_on_the_energy(band, kwargs):
    """E_n(k_n* + r e) - E_n* = s^2 for s from 1e-9 to 1 eV^(1/2) on many rays, and the
    returned slope / r = (dE_n / dr) / r."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    geo = geometry(model)
    c, a = model._kinetic, model.alpha
    cos, sin = _angles(model)
    s_values = np.array([1e-9, 1e-7, 1e-5, 1e-3, 0.03, 0.3, 1.0])
    assert geo.e_conv > geo.minima[0] + s_values.max() ** 2  # convex contours only
    s = np.repeat(s_values, cos.size)
    cos, sin = np.tile(cos, s_values.size), np.tile(sin, s_values.size)
    p = geo.centers[band]
    r, slope = radius_from_minimum(model, band, p, s, cos, sin)

    # Float check with the model: band_energies rounds each of c k^2 and |b| (and the
    # subtraction of E_n*) to a few ulp, 4 eps of their sizes; above that, 1e-13 s^2.
    kx, ky = p[0] + r * cos, p[1] + r * sin
    bx, by, bz = model.exchange_rashba_field(kx, ky)
    b_at = np.sqrt(bx * bx + by * by + bz * bz)
    rounding = 4 * EPS * (c * (kx**2 + ky**2) + b_at + abs(geo.minima[band]))
    deviation = model.band_energies(kx, ky)[:, band] - geo.minima[band] - s * s
    assert np.all(np.abs(deviation) <= 1e-13 * s * s + rounding)

    # Exact arithmetic at the float center p, ray and r: the energy above E_n(p), less the
    # linear term grad E_n(p) . e r (p is the minimum only to rounding), is s^2 to 1e-13
    # (Newton stops at 1e-14 in r; the closed form F to ~10 ulp), for every s.
    px, py = mpmath.mpf(p[0]), mpmath.mpf(p[1])
    e_p = _mp_energy(model, band, px, py)
    gx, gy = _mp_gradient(model, band, px, py)
    # The origin of the panels, E_n* = minima[n]: E_n(p) to rounding (p to an ulp).
    assert abs(float(e_p) - geo.minima[band]) <= 4 * EPS * (abs(geo.minima[band]) + 2 * c)
    for si, ci, sn, ri, sl, b_mid in zip(s, cos, sin, r, slope, b_at):
        ex, ey, rr = mpmath.mpf(ci), mpmath.mpf(sn), mpmath.mpf(ri)
        energy = _mp_energy(model, band, px + rr * ex, py + rr * ey)
        remainder = energy - e_p - (gx * ex + gy * ey) * rr
        assert abs(float(remainder) - si * si) <= 1e-13 * si * si, (si, ci, sn)
        # Centred difference with step h = 1e-6 r: its error is at most h^2 / 6 max|E'''|
        # on the stencil, and |E'''| <= 3 alpha^3 / |b|^2 (c k^2 is quadratic; |b| is
        # alpha times the distance to k_D along the line); 40 digits make rounding nil.
        h = rr * mpmath.mpf("1e-6")
        upper = _mp_energy(model, band, px + (rr + h) * ex, py + (rr + h) * ey)
        lower = _mp_energy(model, band, px + (rr - h) * ex, py + (rr - h) * ey)
        # less the linear term (see above), which the closed form takes as 0
        derivative = float((upper - lower) / (2 * h) - (gx * ex + gy * ey))
        b_min = b_mid - a * float(h)  # |b| is alpha-Lipschitz along the line
        truncation = float(h) ** 2 * a**3 / (2 * b_min**2)
        # sl: a closed form of ~10 terms, rounded to ~1e-14 of its largest, 2 c + a^2/|b|.
        assert abs(sl * ri - derivative) <= truncation + 1e-13 * (2 * c + a * a / b_min) * ri


@pytest.mark.parametrize("kwargs", RAY_MODELS)
def test_exit_radius_lands_on_the_lower_band_contour(kwargs):
    """exit_radius from k_+* on the lower band's contour at e (E_+* < e < e_conv): E_-(k) =
    e there, E_- < e on the way out, and > e just beyond (the first crossing)."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    geo = geometry(model)
    p = geo.centers[1]
    cos, sin = _angles(model, n_random=60)
    top = min(geo.e_conv, geo.minima[0] + 1.2)  # e_conv = inf: convex everywhere
    for e in np.linspace(geo.minima[1], top, 7)[1:-1]:
        r = exit_radius(model, p, e, cos, sin)
        assert np.all(r > 0)
        # The root to ~1e-15 (polished); E_- to rounding (4 eps of c k^2 + |b| ~ 1 eV).
        energy = model.band_energies(p[0] + r * cos, p[1] + r * sin)[:, 0]
        assert np.all(np.abs(energy - e) <= 1e-12 * max(abs(e), model.exchange))
        t = np.linspace(0, 1 - 1e-6, 200)[:, None]
        inside = model.band_energies(p[0] + t * r * cos, p[1] + t * r * sin)[..., 0]
        assert np.all(inside < e)
        beyond = model.band_energies(p[0] + (1 + 1e-6) * r * cos,
                                     p[1] + (1 + 1e-6) * r * sin)[:, 0]
        assert np.all(beyond > e)


# --- The band geometry -------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", RAY_MODELS + [c[0] for c in CASES])
def test_geometry(kwargs):
    """minima[0] is the band bottom, both centers are stationary points of their bands with
    the minima as values, u points to k_D (the Dirac point of an in-plane M), and e_conv is
    the lower band's minimum over the disk around k_D where |b| < alpha^2 / 2 c and the
    band is not convex (below the energy at k_D), or inf without that disk."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    geo = geometry(model)
    c, a, j = model._kinetic, model.alpha, model.exchange
    # band_bottom: a bounded scalar minimization (xatol 1e-14), its value to rounding.
    assert abs(geo.minima[0] - model.band_bottom()) <= 1e-12 * abs(geo.minima[0])
    h = 1e-4
    for n in (0, 1):
        p = geo.centers[n]
        b_p = np.linalg.norm(model.exchange_rashba_field(*p))
        assert abs(model.band_energies(*p)[n] - geo.minima[n]) <= 4 * EPS * (
            c * (p @ p) + b_p + abs(geo.minima[n]))
        # Centred differences of E_n along x and y at k_n*: truncation h^2 / 6 max|E'''|
        # <= h^2 alpha^3 / (2 |b|^2) (see above), rounding 4 eps of c k^2 + |b| over h.
        # The bound (2e-12 to 1e-9 eV nm here) is the gradient E'' d of a center off by d
        # ~ 3e-11 to 2e-8 nm^-1 (E'' >= 2 c - alpha^2 / |b_p|, 0.05 to 0.15 eV nm^2).
        b_min = b_p - a * h
        bound = h**2 * a**3 / (2 * b_min**2) + 4 * EPS * (c * (np.hypot(*p) + h) ** 2
                                                          + b_p + a * h) / h
        for step in (np.array([h, 0.0]), np.array([0.0, h])):
            slope = (model.band_energies(*(p + step))[n]
                     - model.band_energies(*(p - step))[n]) / (2 * h)
            assert abs(slope) <= bound, (n, step, slope, bound)
    m_par = np.hypot(*model.magnetization[:2])
    k_d = j * m_par / a * geo.u
    assert np.all(np.abs(model.exchange_rashba_field(*k_d)[:2]) <= 4 * EPS * j)
    if model.magnetization[2] == 0:
        assert np.allclose(k_d, model.dirac_point(), rtol=1e-15, atol=0)  # ~4 ulp
    r0, gap = a / (2 * c), j * abs(model.magnetization[2])
    assert geo.gap == gap
    if gap >= a * r0:
        assert geo.e_conv == np.inf
        return
    assert geo.e_conv < model.band_energies(*k_d)[0]
    # The lower band over the disk |b| <= alpha r0 (polar samples): never below e_conv (to
    # rounding), and e_conv reached at k_D - r0' u.
    r_disk = np.sqrt(r0**2 - (gap / a) ** 2)
    rho, phi = np.meshgrid(np.linspace(0, r_disk, 41), np.linspace(0, 2 * np.pi, 181))
    disk = model.band_energies(k_d[0] + rho * np.cos(phi), k_d[1] + rho * np.sin(phi))[..., 0]
    rounding = 8 * EPS * c * (np.hypot(*k_d) + r0) ** 2
    assert disk.min() >= geo.e_conv - rounding
    nearest = model.band_energies(*(k_d - r_disk * geo.u))[0]
    assert abs(nearest - geo.e_conv) <= rounding


# --- Compiled coefficients ----------------------------------------------------------------

@pytest.mark.skipif(not pole_expansion_numba.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("magnetization", [(1, 0, 0), (0.6, -0.8, 0), (0.48, 0.36, 0.8),
                                           (0, 0, -1)])
@pytest.mark.parametrize("gamma", [0.002, 0.03])
def test_compiled_coefficients_equal_numpy(magnetization, gamma):
    model = kubo_sot.RashbaFerromagnet(alpha=0.05, exchange=0.15,
                                       magnetization=magnetization, mass=0.7)
    kx, ky = np.random.default_rng(3).uniform(-4, 4, (2, 400))
    e_fast, fast = pole_expansion_numba.packed_pole_coefficients(model, kx, ky, gamma)
    e_ref, ref = spectral_sweep.packed_pole_coefficients(model, kx, ky, gamma,
                                                         kernel="numpy")
    assert fast.shape == ref.shape == (kx.size, 3, 26, 2)
    assert np.all(np.abs(e_fast - e_ref) <= 4 * EPS * np.max(np.abs(e_ref)))
    # Rounding of the two routes: the same algebra in another order, a few ulp of the
    # largest coefficient of the k-point's basis function (their sizes span 1 / Gamma).
    scale = np.max(np.abs(ref), axis=(2, 3), keepdims=True)
    assert np.all(np.abs(fast - ref) <= 1e-12 * scale)


# --- Band data ---------------------------------------------------------------------------

BAND_MODEL = kubo_sot.RashbaFerromagnet(alpha=0.05, exchange=0.2, magnetization=(0.6, -0.8, 0))


def _band_energies_for_data():
    """(pockets, plain): Fermi energies just above each band's minimum, where the contour
    does not enclose k = 0 and rays are tangent to it, and ones where none is."""
    geo = geometry(BAND_MODEL)
    pockets = np.array([geo.minima[0] + 1e-6, geo.minima[0] + 1e-3, geo.minima[1] + 1e-6,
                        geo.minima[1] + 1e-3])
    plain = np.array([-0.19, -0.05, 0.1, 0.21, 0.3, 0.5])
    assert all(BAND_MODEL.tangent_directions(mu).size > 0 for mu in pockets)
    assert all(BAND_MODEL.tangent_directions(mu).size == 0 for mu in plain)
    return np.concatenate([plain[:3], pockets, plain[3:]])


def _assert_band_data_equal(many, mus, rtol):
    for mu, b in zip(mus, many):
        one = bands.band_data(BAND_MODEL, float(mu))
        for x, y in ((b.occupations, one.occupations),
                     (b.fermi_wavevectors, one.fermi_wavevectors),
                     ((b.rashba_to_exchange,), (one.rashba_to_exchange,))):
            x, y = np.array(x), np.array(y)
            assert np.all(np.abs(x - y) <= rtol * np.abs(y)), (mu, x, y)


def test_band_data_from_minima_equals_band_data():
    """The sweep's band data (rays from the band minima, doubled until two rules agree to
    BAND_DATA_ACCURACY = 1e-13) against band_data (96 rays, rounding): 1e-13 relative; the
    pockets and energies at or above e_conv fall back to band_data itself."""
    mus = np.concatenate([_band_energies_for_data(),
                          [geometry(BAND_MODEL).e_conv + 0.01, 1.0]])
    _assert_band_data_equal(band_data_from_minima(BAND_MODEL, mus), mus, 1e-13)


# --- Mirror symmetry of M = x --------------------------------------------------------------

# Mirror x -> -x (k_x -> -k_x, spin (s_x, -s_y, -s_z), see tests/test_symmetry.py) maps
# M = (1, 0, 0) to itself and the integrand at (k_x, k_y) to the one at (-k_x, k_y) with
# currents and fields (polar) times (-1, 1) and spins (axial) times (1, -1, -1): every
# part (surface I(a), I(b), sea) of sigma_ij with polar_i polar_j = -1 and of chi_aj with
# axial_a polar_j = -1 vanishes.  Packed (response._pack): sigma 2 i + j (+4 for the sea),
# chi 8 + 2 a + j (+6 for I(b), +12 for the sea).
_POLAR, _AXIAL = np.array([-1, 1]), np.array([1, -1, -1])
_SIGMA_ODD = [2 * i + j for i in range(2) for j in range(2) if _POLAR[i] * _POLAR[j] < 0]
_CHI_ODD = [2 * a + j for a in range(3) for j in range(2) if _AXIAL[a] * _POLAR[j] < 0]
MIRROR_ODD = np.array(_SIGMA_ODD + [4 + i for i in _SIGMA_ODD]
                      + [offset + i for offset in (8, 14, 20) for i in _CHI_ODD])


def test_mirror_odd_components_vanish():
    kwargs, gamma = CASES[1]  # M = (1, 0, 0)
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    mus = _energies(model, gamma)
    tolerance = _tolerances(1e-8, model.exchange, model.magnetization)
    swept = sweep(model, mus, gamma, tolerance)
    assert swept.converged.all()
    estimate, error = swept.estimate, swept.error
    # The derivation against the per-point engine at one mu: the odd components are zero
    # to its error estimate (+ 1e-12 of the tensor: rounding).  (Others vanish too, for
    # any in-plane M, e.g. the sea's sigma_xx and the I(b) part of chi: see below.)
    mu = float(mus[mus.size // 2])
    ref = _reference(1, mu)
    scale = group_scale(ref.estimate)
    assert np.all(np.abs(ref.estimate[MIRROR_ODD]) <= ref.error[MIRROR_ODD]
                  + 1e-12 * scale[MIRROR_ODD])
    # Without the mirror (oblique M) some of them are there, in both tensors.
    oblique = _reference(2, float(_energies(kubo_sot.RashbaFerromagnet(**CASES[2][0]),
                                            CASES[2][1])[5]))
    odd = np.zeros(26, bool)
    odd[MIRROR_ODD] = True
    relative = np.abs(oblique.estimate) / group_scale(oblique.estimate)
    assert relative[odd & (np.arange(26) < 8)].max() > 1e-3
    assert relative[odd & (np.arange(26) >= 8)].max() > 1e-3
    # The sweep's rays are mirror-symmetric about u = (0, 1): its odd components are
    # within their error estimates of zero at every mu.
    assert np.all(np.abs(estimate[:, MIRROR_ODD]) <= error[:, MIRROR_ODD])


# --- Scope ---------------------------------------------------------------------------------

def test_applies_only_in_scope():
    base = dict(alpha=0.05, exchange=0.2, magnetization=(0.6, -0.8, 0))
    assert applies(kubo_sot.RashbaFerromagnet(**base), "eigenbasis")
    assert not applies(kubo_sot.RashbaFerromagnet(**base), "green")
    tilted = dict(base, magnetization=(0.6, -0.8 * np.sqrt(1 - 1e-6), 0.8e-3))
    assert applies(kubo_sot.RashbaFerromagnet(**tilted), "eigenbasis")
    assert not applies(kubo_sot.RashbaFerromagnet(**dict(base, magnetization=(0, 0, 1))),
                       "eigenbasis")
    # alpha^2 = 2 c J |M_par| (to rounding) and above, in-plane and tilted (|M_par| = 0.6)
    for m_par, magnetization in ((1.0, base["magnetization"]), (0.6, (0.0, 0.6, -0.8))):
        threshold = float(np.sqrt(2 * _C * 0.2 * m_par))
        for alpha in (threshold * (1 + 1e-12), threshold * 1.5):
            assert not applies(kubo_sot.RashbaFerromagnet(
                **dict(base, alpha=alpha, magnetization=magnetization)), "eigenbasis")
        assert applies(kubo_sot.RashbaFerromagnet(
            **dict(base, alpha=threshold * (1 - 1e-9), magnetization=magnetization)),
            "eigenbasis")
    for zero in (dict(alpha=0.0), dict(exchange=0.0)):
        assert not applies(kubo_sot.RashbaFerromagnet(**dict(base, **zero)), "eigenbasis")
    lattice = kubo_sot.SquareLatticeRashbaFerromagnet(
        hopping=3.81, lattice_constant=0.1, alpha=0.05, exchange=0.2,
        magnetization=(1, 0, 0))
    assert not applies(lattice, "eigenbasis")


def test_usable_energies():
    """Above the band bottom, and mu + MARGIN Gamma below e_conv less CLEARANCE of
    e_conv - E_-*."""
    kwargs, gamma = CASES[2]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    geo = geometry(model)
    top = _top(model, gamma)
    assert MARGIN > 0.0 and 0.0 < CLEARANCE < 1.0
    assert geo.minima[0] < top < geo.e_conv - MARGIN * gamma
    mus = np.array([geo.minima[0] - 1e-3, geo.minima[0], geo.minima[0] + 1e-9,
                    0.5 * (geo.minima[0] + top), top - 1e-9, top + 1e-9,
                    geo.e_conv - MARGIN * gamma, geo.e_conv, geo.e_conv + 1.0])
    expected = [False, False, True, True, True, False, False, False, False]
    assert usable(model, mus, gamma).tolist() == expected


@pytest.mark.parametrize("kwargs, gamma, temperature", [
    (dict(alpha=0.02, exchange=0.3, magnetization=(0, 0.6, 0.8), mass=2.0), 0.02, 300.0),
    (dict(alpha=0.002, exchange=0.2, magnetization=(1, 0, 0)), 0.002, 30.0)])
def test_arrays_at_finite_temperature_use_the_sweep(kwargs, gamma, temperature):
    """Tilted at 300 K and in-plane at 30 K: the T = 0 sweep on a grid convolved with -f'
    equals the per-point integrals within their error estimates (tensors and parts)."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    # enough energies for a grid of at most 40 per energy (spectral_sweep_anisotropic)
    mus = np.linspace(0.0, 0.5, 60)
    swept = kubo_sot.linear_response(model, mus, gamma, temperature=temperature, rtol=1e-7)
    assert all(r.provenance.get("engine") == "spectral_sweep" for r in swept)
    for mu, r in zip(mus[::11], swept[::11]):
        alone = kubo_sot.linear_response(model, mu, gamma, temperature=temperature, rtol=1e-9)
        assert_agree_within_errors(r, alone, PARTS)
