"""Compiled (numba) per-k Kubo-Bastin integrand of the continuum Rashba ferromagnet.

The readable reference is the numpy eigenbasis route,
``kubo_sot.observables.packed_integral.response_integrand(model, mu, ConstantBroadening(gamma),
0.0, "eigenbasis")``, built from :mod:`kubo_sot.kernels.kubo_bastin` and
:mod:`kubo_sot.kernels.energy_integrals`; ``tests/test_numba_kernel.py`` compares the two.
This module fuses the same steps into one compiled loop over k-points for the model
:class:`kubo_sot.models.rashba.RashbaFerromagnet` with a constant broadening, at T = 0
and T > 0: closed-form 2x2 eigensystem and spin elements, the band-pair energy integrals
(closed forms, with the polygamma functions compiled at T > 0, and near-degenerate
midpoint series, same switch) and the contraction into the 26
packed components of ``response._pack``, using the Hermiticity of the operators instead of
general matrix products.  ``_ray_rule_loop`` also applies the k-space integrator's Gauss
rule inside the loop, so that the integrand's values are never stored.
``benchmarks/kernel_speed.py`` times it against the reference (about 18x less time per
k-point).

numba is an optional dependency (``pip install kubo_sot[fast]``); the module imports without
it and then reports ``AVAILABLE = False``.
"""

import cmath
import math

import numpy as np

from ..models.rashba import RashbaFerromagnet
from .energy_integrals import NEAR_DEGENERATE_RATIO, SERIES_TERMS
from .polygamma import _BERNOULLI_EVEN, ASYMPTOTIC_TERMS, RECURRENCE_SHIFT

try:
    from numba import njit
except ImportError:  # the extra kubo_sot[fast] is not installed
    njit = None

AVAILABLE = njit is not None
"""True when numba is installed and the compiled kernel can be used."""

N_COMPONENTS = 26  # layout of kubo_sot.observables.packed_integral._pack


# Recurrence shift of psi, psi', psi'' (_polygamma_012): at |z| >= 10.5 (Re x >= 1/2) the
# first Stirling term left out, B_30 (n + 29)! / (30! z^(30 + n)), is below 1e-20 of the
# leading one for n <= 2; the numpy reference (and the high orders) shift by
# RECURRENCE_SHIFT = 30, needed there because the coefficients grow with n.
LOW_ORDER_SHIFT = 10
# The near-degenerate series stops where its next terms fall below this (relative to its
# first, of order 1); the numpy reference always sums SERIES_TERMS terms.
SERIES_CUTOFF = 1e-18
# Highest polygamma order of the T > 0 weights: the near-degenerate series needs
# P_p up to p = 3 + 2 (SERIES_TERMS - 1).
_MAX_ORDER = 3 + 2 * (SERIES_TERMS - 1)
_FACTORIAL = np.array([float(math.factorial(n)) for n in range(_MAX_ORDER + 1)])
# Asymptotic-series coefficients of polygamma.polygamma: B_2k (2k + n - 1)! / (2k)!.
_STIRLING = np.array([[_BERNOULLI_EVEN[k - 1] * math.factorial(2 * k + n - 1)
                       / math.factorial(2 * k) if n > 0 else 0.0
                       for k in range(1, ASYMPTOTIC_TERMS + 1)]
                      for n in range(_MAX_ORDER + 1)])
# Digamma: psi(z) ~ log z - 1/(2z) - sum_k B_2k / (2k z^2k) (A&S 6.3.18).
_DIGAMMA = np.array([_BERNOULLI_EVEN[k - 1] / (2 * k) for k in range(1, ASYMPTOTIC_TERMS + 1)])


def _compiled(function):
    """``numba.njit(cache=True)`` when numba is installed, else the plain function."""
    return njit(cache=True)(function) if AVAILABLE else function


def _inlined(function):
    """As :func:`_compiled`, inlined into its callers (numba IR): the small helpers shared
    by the kernels cost ~12% of the per-k time as calls returning tuples."""
    return njit(cache=True, inline="always")(function) if AVAILABLE else function


@_compiled
def _lower_eigenvector(bx, by, bz):
    """(u0, u1): the eigenvector of b.s with eigenvalue -|b|, as in the reference.

    Same construction as ``models.rashba._two_band_eigensystem`` (the better conditioned of
    two formulas), so that both routes round alike; the upper one is (-conj u1, conj u0).
    At b = 0 the bands are degenerate, every band pair has the same energy weights, and the
    traces do not depend on the basis; (1, 0) is returned there, as in the reference.
    """
    norm = math.sqrt(bx * bx + by * by + bz * bz)
    if bz >= 0:
        u0 = complex(bx, -by)
        u1 = complex(-(norm + bz), 0.0)
    else:
        u0 = complex(norm - bz, 0.0)
        u1 = complex(-bx, -by)
    size = math.sqrt(abs(u0) ** 2 + abs(u1) ** 2)
    if size == 0.0:
        return 1.0 + 0j, 0j
    return u0 / size, u1 / size


@_compiled
def _hamiltonian(qx, qy, kinetic, alpha, exchange, mx, my, mz):
    """H(k) = eps s_0 + b.s of the continuum model: (eps, bx, by, bz) in eV."""
    return (kinetic * (qx * qx + qy * qy), alpha * qy - exchange * mx,
            -alpha * qx - exchange * my, -exchange * mz)


@_compiled
def _polygamma_orders(x, scale, n_max, out):
    """out[n] = scale^n psi^(n)(x) for n = 1 .. n_max <= _MAX_ORDER and Re x > 0: the
    algorithm of :func:`kubo_sot.kernels.polygamma.polygamma` (upward recurrence, then the
    Stirling series), compiled, with all orders in one pass: the recurrence terms
    scale^n / (x + k)^(n+1) and the Stirling powers (scale / z)^n are built up order by
    order instead of anew for each."""
    for n in range(1, n_max + 1):
        out[n] = 0j
    for k in range(RECURRENCE_SHIFT):
        t = 1.0 / (x + k)
        st = scale * t
        power = st * t  # scale^n t^(n+1) for n = 1
        for n in range(1, n_max + 1):
            out[n] += power
            power *= st
    z = x + RECURRENCE_SHIFT
    zinv = 1.0 / z
    z2inv = zinv * zinv
    st = scale * zinv
    lead = st  # (scale / z)^n
    for n in range(1, n_max + 1):
        series = _FACTORIAL[n - 1] * lead + 0.5 * _FACTORIAL[n] * lead * zinv
        power = lead
        for k in range(ASYMPTOTIC_TERMS):
            power *= z2inv
            series += _STIRLING[n, k] * power
        sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
        out[n] = sign * series + sign * _FACTORIAL[n] * out[n]
        lead *= st


@_compiled
def _polygamma_012(x, scale):
    """(psi(x), scale psi'(x), scale^2 psi''(x)) in one pass: the recurrence and Stirling
    series of _polygamma (for psi: log z - 1/(2z) - sum_k B_2k / (2k z^2k), A&S 6.3.18),
    sharing the powers of 1/(x + k) and 1/z."""
    c0 = 0j
    c1 = 0j
    c2 = 0j
    for k in range(LOW_ORDER_SHIFT):
        t = 1.0 / (x + k)
        st = scale * t
        c0 += t
        c1 += st * t
        c2 += st * st * t
    z = x + LOW_ORDER_SHIFT
    zinv = 1.0 / z
    z2inv = zinv * zinv
    lead1 = scale * zinv
    lead2 = lead1 * lead1
    s0 = cmath.log(z) - 0.5 * zinv
    s1 = _FACTORIAL[0] * lead1 + 0.5 * _FACTORIAL[1] * lead1 * zinv
    s2 = _FACTORIAL[1] * lead2 + 0.5 * _FACTORIAL[2] * lead2 * zinv
    power = 1.0 + 0j
    for k in range(ASYMPTOTIC_TERMS):
        power *= z2inv
        s0 -= _DIGAMMA[k] * power
        s1 += _STIRLING[1, k] * lead1 * power
        s2 += _STIRLING[2, k] * lead2 * power
    # psi^(n) = (-1)^(n+1) [series + n! correction]
    return s0 - c0, s1 + _FACTORIAL[1] * c1, -(s2 + _FACTORIAL[2] * c2)


@_compiled
def _scaled_powers(c, fermi_energy, thermal_energy, p_max, out):
    """out[p] = s^p P_p(c) for p = 1 .. p_max, s = |mu + i pi k_B T - c|
    (EnergyIntegrals.scaled_power): at T = 0 (s / (mu - c))^p, at T > 0
    (-1)^(p-1) (-i)^p |x|^p psi^(p)(x) / (p-1)! with x = 1/2 + (mu - c) / kappa,
    kappa = 2 pi i k_B T."""
    if thermal_energy == 0.0:
        r = abs(fermi_energy - c) / (fermi_energy - c)
        power = r
        for p in range(1, p_max + 1):
            out[p] = power
            power *= r
        return
    x = 0.5 + (fermi_energy - c) / (2j * math.pi * thermal_energy)
    _polygamma_orders(x, abs(x), p_max, out)
    phase = -1.0 + 0j  # (-1)^(p-1) (-i)^p = -i^p
    for p in range(1, p_max + 1):
        phase *= 1j
        out[p] *= phase / _FACTORIAL[p - 1]


@_compiled
def _log_ratio(fermi_energy, z_m, z_n):
    """L(z_m, z_n) at T = 0 as one log of the ratio: both mu - z lie in the upper half plane
    (Im z < 0), so their arguments differ by less than pi and the principal branches agree."""
    return cmath.log((fermi_energy - z_m) / (fermi_energy - z_n))


@_compiled
def _pole_pair(z_n, z_m, fermi_energy, thermal_energy, p_n, p_m, log_difference):
    """(surface_rr, sea)[n, m] of ``energy_integrals.pole_pair_integrals``, n != m.

    Int (-f') G^R_m G^R_n and (z_m - z_n) Int f (G^R_m)^2 (G^R_n)^2 for complex poles z in
    the lower half plane, from p_n = P_1(z_n) and log_difference = L(z_m, z_n): the closed
    forms, or, when |delta| < NEAR_DEGENERATE_RATIO s (delta = (z_m - z_n) / 2, c the
    midpoint of the poles, s = |mu + i pi k_B T - c|), the midpoint series in units of s,
    term by term as in the reference.
    """
    d = z_m - z_n
    delta = 0.5 * d
    mid = 0.5 * (z_m + z_n)
    s = abs(complex(fermi_energy, math.pi * thermal_energy) - mid)
    if abs(delta) < NEAR_DEGENERATE_RATIO * s:
        ratio2 = (delta / s) ** 2  # complex, |.| < 0.0225
        # Terms needed: the scaled powers grow at most like their order (|x|^p psi^(p)(x) /
        # (p-1)! <= ~2p at Re x >= 1/2), so the series stops where |ratio2|^j (2j + 3) is
        # below SERIES_CUTOFF; near band touchings |ratio2| is often ~1e-4 (5 terms of 11).
        n_terms = SERIES_TERMS
        size = 1.0
        for j in range(1, SERIES_TERMS):
            size *= abs(ratio2)
            if size * (2 * j + 3) < SERIES_CUTOFF:
                n_terms = j
                break
        powers = np.empty(2 * n_terms + 2, np.complex128)
        _scaled_powers(mid, fermi_energy, thermal_energy, 2 * n_terms + 1, powers)
        term = 1.0 + 0j
        rr = 0j
        ss = 0j
        for j in range(n_terms):
            rr += term * powers[2 + 2 * j]
            ss -= (j + 1) * term * powers[3 + 2 * j] / (3 + 2 * j)
            term *= ratio2
        return rr / s**2, d * (ss / s**3)
    return (p_m - p_n) / d, d * ((-p_m - p_n - 2.0 * log_difference / d) / d**2)


@_inlined
def _band_elements(qx, qy, kinetic, alpha, exchange, mx, my, mz):
    """eps and |b| (the bands are eps -+ |b|) and the eigenbasis elements at one k-point:
    ``spin`` = (s_x,
    s_y, s_z, e_x, e_y, e_z), ``vel`` = (vx0, vx1, vy0, vy1, vx_10, vy_10).

    With u the lower eigenvector and v = (-conj u1, conj u0): <u|s|u> = -<v|s|v> = s (real;
    2 Re(conj u0 u1), 2 Im(conj u0 u1), |u0|^2 - |u1|^2) and <u|s|v> = e = (conj u0^2 -
    conj u1^2, -i (conj u0^2 + conj u1^2), -2 conj u0 conj u1).  hbar v_x = 2 c k_x -
    alpha s_y, hbar v_y = 2 c k_y + alpha s_x: the s_0 part is exactly diagonal; diagonal
    elements (lower, upper) and <v|V|u> = conj <u|V|v>.
    """
    eps, bx, by, bz = _hamiltonian(qx, qy, kinetic, alpha, exchange, mx, my, mz)
    norm = math.sqrt(bx * bx + by * by + bz * bz)
    u0, u1 = _lower_eigenvector(bx, by, bz)
    c0 = u0.conjugate()
    c1 = u1.conjugate()
    cross = c0 * u1
    s_x, s_y, s_z = 2.0 * cross.real, 2.0 * cross.imag, abs(u0) ** 2 - abs(u1) ** 2
    c0c0 = c0 * c0
    c1c1 = c1 * c1
    e_x = c0c0 - c1c1
    e_y = -1j * (c0c0 + c1c1)
    e_z = -2.0 * c0 * c1
    vel = (2.0 * kinetic * qx - alpha * s_y, 2.0 * kinetic * qx + alpha * s_y,
           2.0 * kinetic * qy + alpha * s_x, 2.0 * kinetic * qy - alpha * s_x,
           (-alpha * e_y).conjugate(), (alpha * e_x).conjugate())
    return eps, norm, (s_x, s_y, s_z, e_x, e_y, e_z), vel


@_inlined
def _operator_products(k, j, alpha, spin, vel):
    """(X_00, X_11, X_01) of X_nm = B_nm V_mn for B_k of (-v_x, -v_y, s_x, s_y, s_z) and
    the velocity V_j (elements of :func:`_band_elements`); X_10 = conj X_01."""
    s_x, s_y, s_z, e_x, e_y, e_z = spin
    vx0, vx1, vy0, vy1, vx_10, vy_10 = vel
    if k == 0:
        b0, b1, b01 = -vx0, -vx1, alpha * e_y
    elif k == 1:
        b0, b1, b01 = -vy0, -vy1, -alpha * e_x
    elif k == 2:
        b0, b1, b01 = s_x, -s_x, e_x
    elif k == 3:
        b0, b1, b01 = s_y, -s_y, e_y
    else:
        b0, b1, b01 = s_z, -s_z, e_z
    if j == 0:
        return b0 * vx0, b1 * vx1, b01 * vx_10
    return b0 * vy0, b1 * vy1, b01 * vy_10


@_compiled
def _integrand_point(qx, qy, kinetic, alpha, exchange, mx, my, mz, fermi_energy, gamma,
                     thermal_energy, out):
    """Fill ``out`` (26,) with the packed integrand at one k-point.

    Two-band structure used instead of general matrix products (same algebra as the
    reference, other rounding; elements from :func:`_band_elements`).  For Hermitian B and
    V, P_nm = B_nm V_mn is real on the diagonal (d_n) and P_10 = conj P_01, so with the
    energy weights w
        Re sum_nm P_nm w_nm = d_0 Re w_00 + d_1 Re w_11 + Re(P_01 (w_01 + conj w_10)),
    and w_01 + conj w_10 is 2 w_01 (RA), 2 Re rr (RR) and 2i Im sea_01 (sea).
    """
    eps, norm, spin, vel = _band_elements(qx, qy, kinetic, alpha, exchange, mx, my, mz)
    e0 = eps - norm
    e1 = eps + norm

    z0 = complex(e0, -gamma)
    z1 = complex(e1, -gamma)
    if thermal_energy == 0.0:
        p0 = 1.0 / (fermi_energy - z0)  # P_1(E_n - i Gamma)
        p1 = 1.0 / (fermi_energy - z1)
        rr, sea_01 = _pole_pair(z0, z1, fermi_energy, 0.0, p0, p1,
                                _log_ratio(fermi_energy, z1, z0))
        # Weights: RA w_nm = p_m conj(p_n); RR w_nn = p_n^2, w_01 = w_10 = rr; sea w_nn = 0,
        # w_01 = -w_10 = sea_01.
        ra_00, ra_11, ra_off = abs(p0) ** 2, abs(p1) ** 2, 2.0 * p1 * p0.conjugate()
        rr_00, rr_11 = (p0 * p0).real, (p1 * p1).real
    else:
        # T > 0 (energy_integrals): RA w_nm = (P_1(z_m) - conj P_1(z_n)) / (z_m - conj z_n),
        # so w_nn = -Im P_1(z_n) / Gamma; RR w_nn = P_2(z_n).
        # P_1 = psi'(x) / kappa, P_2 = -psi''(x) / kappa^2, x = 1/2 + (mu - z) / kappa.
        kappa = 2j * math.pi * thermal_energy
        psi0, p0, q0 = _polygamma_012(0.5 + (fermi_energy - z0) / kappa, 1.0 / kappa)
        psi1, p1, q1 = _polygamma_012(0.5 + (fermi_energy - z1) / kappa, 1.0 / kappa)
        rr, sea_01 = _pole_pair(z0, z1, fermi_energy, thermal_energy, p0, p1, psi1 - psi0)
        ra_00, ra_11 = -p0.imag / gamma, -p1.imag / gamma
        ra_off = 2.0 * (p1 - p0.conjugate()) / (z1 - z0.conjugate())
        rr_00, rr_11 = -q0.real, -q1.real
    rr_off = 2.0 * rr.real
    sea_off = 2.0 * sea_01.imag

    for k in range(5):
        for j in range(2):
            d0, d1, off = _operator_products(k, j, alpha, spin, vel)
            total_a = -(d0 * ra_00 + d1 * ra_11 + (off * ra_off).real)
            total_b = d0 * rr_00 + d1 * rr_11 + off.real * rr_off
            total_sea = off.imag * sea_off  # -Re(off * 2i Im sea_01)
            if k < 2:
                out[2 * k + j] = total_a + total_b
                out[4 + 2 * k + j] = total_sea
            else:
                out[8 + 2 * (k - 2) + j] = total_a
                out[14 + 2 * (k - 2) + j] = total_b
                out[20 + 2 * (k - 2) + j] = total_sea


@_compiled
def _integrand_loop(kx, ky, kinetic, alpha, exchange, mx, my, mz, fermi_energy, gamma,
                    thermal_energy, out):
    """Fill ``out`` (P, 26) with the packed integrand at the k-points (kx, ky)."""
    for i in range(kx.shape[0]):
        _integrand_point(kx[i], ky[i], kinetic, alpha, exchange, mx, my, mz, fermi_energy,
                         gamma, thermal_energy, out[i])


@_compiled
def _radial_point(x, k_end, infinite):
    """(k, dk/dx * k) at the radial coordinate x of
    :func:`kubo_sot.integrate.kspace.radial_integrals`: k = x, or in the tail of an
    infinite ray (x > k_end) k = k_end / t with t = k_end + 1 - x."""
    if infinite and x > k_end:
        t = k_end + 1.0 - x
        k = k_end / t
        return k, k * k_end / (t * t)
    return x, x


@_compiled
def _accumulate(row, jacobian, weight, top, p, value_row, coefficients, magnitude):
    """Add node p's values (row, times the Jacobian) to an interval's rule sum, its |.| sum
    (when ``magnitude``) and its top Legendre coefficients; contiguous inner loops over the
    components (vectorized by the compiler)."""
    n_comp = row.shape[0]
    for c in range(n_comp):
        row[c] *= jacobian
    for c in range(n_comp):
        value_row[c] += weight * row[c]
    if magnitude:
        for c in range(n_comp):
            value_row[n_comp + c] += weight * abs(row[c])
    for j in range(top.shape[0]):
        t_jp = top[j, p]
        for c in range(n_comp):
            coefficients[j, c] += t_jp * row[c]


@_compiled
def _null_rule_errors(coefficients, width, decay_ratio, decay_power, error_row):
    """The error estimate of ``kubo_sot.integrate.quadrature._Rule`` from an interval's top
    Legendre coefficients: last = |c_{n-2}| + |c_{n-1}|, reduced by r^power where r < ratio
    is the largest decay ratio between consecutive pairs (same formula;
    tests/test_numba_kernel.py compares them)."""
    for c in range(coefficients.shape[1]):
        r = 0.0
        previous = abs(coefficients[0, c]) + abs(coefficients[1, c])
        for j in range(2, coefficients.shape[0], 2):
            pair = abs(coefficients[j, c]) + abs(coefficients[j + 1, c])
            step = pair / previous if previous > 0.0 else 1.0
            r = max(r, step)
            previous = pair
        factor = r**decay_power if r < decay_ratio else 1.0
        error_row[c] = previous * factor * width


@_compiled
def _ray_rule_loop(owner, a, b, cos, sin, k_end, infinite, nodes, weights, top,
                   decay_ratio, decay_power, kinetic, alpha, exchange, mx, my, mz,
                   fermi_energy, gamma, thermal_energy, value, error):
    """The quadrature rule on radial intervals, without storing the integrand's values.

    Interval i = [a_i, b_i] of ray owner[i] (direction cos, sin) in the radial coordinate
    of :func:`kubo_sot.integrate.kspace.radial_integrals` (``_radial_point``); value[i] =
    half-width * sum_p w_p g(x_p) (and, when value has 52 columns, the same sum of |g|
    after the 26 values); error[i] the rule's estimate (``_null_rule_errors``).
    """
    n_comp = 26
    magnitude = value.shape[1] > n_comp
    row = np.empty(n_comp)
    coefficients = np.empty((top.shape[0], n_comp))
    value[:] = 0.0
    error[:] = 0.0
    for i in range(a.shape[0]):
        o = owner[i]
        half = 0.5 * (b[i] - a[i])
        mid = 0.5 * (a[i] + b[i])
        coefficients[:] = 0.0
        for p in range(nodes.shape[0]):
            k, jacobian = _radial_point(mid + half * nodes[p], k_end[o], infinite[o])
            _integrand_point(k * cos[o], k * sin[o], kinetic, alpha, exchange, mx, my, mz,
                             fermi_energy, gamma, thermal_energy, row)
            _accumulate(row, jacobian, weights[p], top, p, value[i], coefficients, magnitude)
        for c in range(value.shape[1]):
            value[i, c] *= half
        _null_rule_errors(coefficients, 2.0 * half, decay_ratio, decay_power, error[i])


@_compiled
def _interval_nodes(owner, a, b, cos, sin, k_end, infinite, nodes, kx, ky, jacobian):
    """The rule's nodes on every interval, interval-major: wave vectors (kx, ky) and the
    radial Jacobian (``_radial_point``) at node p of interval i in row i * n + p."""
    n = nodes.shape[0]
    for i in range(a.shape[0]):
        o = owner[i]
        half = 0.5 * (b[i] - a[i])
        mid = 0.5 * (a[i] + b[i])
        for p in range(n):
            k, jac = _radial_point(mid + half * nodes[p], k_end[o], infinite[o])
            kx[i * n + p] = k * cos[o]
            ky[i * n + p] = k * sin[o]
            jacobian[i * n + p] = jac


@_compiled
def _apply_rule(rows, jacobian, a, b, weights, top, decay_ratio, decay_power, value, error):
    """The rule and its error estimate on each interval from the integrand's values at the
    nodes of ``_interval_nodes`` (``rows``, overwritten with values times the Jacobian); as
    ``_ray_rule_loop`` (|values| after the values when ``value`` has twice the columns)."""
    n = weights.shape[0]
    n_comp = rows.shape[1]
    magnitude = value.shape[1] > n_comp
    coefficients = np.empty((top.shape[0], n_comp))
    value[:] = 0.0
    error[:] = 0.0
    for i in range(a.shape[0]):
        coefficients[:] = 0.0
        for p in range(n):
            _accumulate(rows[i * n + p], jacobian[i * n + p], weights[p], top, p, value[i],
                        coefficients, magnitude)
        half = 0.5 * (b[i] - a[i])
        for c in range(value.shape[1]):
            value[i, c] *= half
        _null_rule_errors(coefficients, 2.0 * half, decay_ratio, decay_power, error[i])


def ray_rule_from_loop(fill, n_components):
    """A ``ray_rule`` (see :func:`fused_integrand`) for a compiled loop over k-points.

    ``fill(kx, ky, out)`` writes the (P, n_components) integrand at P wave vectors into
    ``out``.  The rule's nodes of all intervals (one block of the quadrature, at most
    ``CHUNK_POINTS`` of :mod:`kubo_sot.integrate.quadrature`) go through ``fill`` in one
    call, and the compiled ``_apply_rule`` reduces them; this replaces the numpy rule's
    array passes over the values (for kernels, such as the 58-component disorder loop,
    that lose speed when split into a function per k-point).
    """
    def ray_rule(owner, a, b, rays, rule, magnitude=False):
        cos, sin, k_end, infinite = rays
        n_points = a.size * rule.nodes.size
        kx, ky, jacobian = np.empty(n_points), np.empty(n_points), np.empty(n_points)
        _interval_nodes(owner, a, b, cos, sin, k_end, infinite, rule.nodes, kx, ky,
                        jacobian)
        rows = np.empty((n_points, n_components))
        fill(kx, ky, rows)
        value = np.empty((a.size, 2 * n_components if magnitude else n_components))
        error = np.empty_like(value)
        _apply_rule(rows, jacobian, a, b, rule.weights, rule.top_coefficients,
                    float(rule.decay_ratio), float(rule.decay_power), value, error)
        return value, error
    return ray_rule


def applies(model):
    """True when numba is installed and ``model`` is exactly the continuum model (a
    subclass may change the Hamiltonian the kernels hard-code)."""
    return AVAILABLE and type(model) is RashbaFerromagnet


def flat_wave_vectors(kx, ky):
    """kx, ky (nm^-1) broadcast against each other, as flat contiguous float arrays."""
    kx, ky = np.broadcast_arrays(np.asarray(kx, float), np.asarray(ky, float))
    return np.ascontiguousarray(kx).reshape(-1), np.ascontiguousarray(ky).reshape(-1)


def rashba_integrand(kx, ky, kinetic_coefficient, alpha, exchange, magnetization,
                     fermi_energy, gamma, thermal_energy=0.0):
    """Packed Kubo-Bastin integrand of the continuum Rashba ferromagnet (compiled).

    For H(k) = c k^2 s_0 + b(k).s with b = (alpha k_y - J M_x, -alpha k_x - J M_y, -J M_z),
    E_(-/+) = c k^2 -/+ |b| and G^R_n(eps) = 1 / (eps - E_n + i Gamma), returns per k

        surface_a = -Re sum_{n,m} B_nm V_mn Int (-f') G^A_n G^R_m
        surface_b = +Re sum_{n,m} B_nm V_mn Int (-f') G^R_n G^R_m
        sea       = -Re sum_{n,m} B_nm V_mn (E_m - E_n) Int f (G^R_m)^2 (G^R_n)^2

    (docs/conventions.md §4.2; Crépieux & Bruno, PRB 64, 014416 (2001)) for
    B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z) and V = hbar v_j (j = x, y), packed as
    ``kubo_sot.observables.packed_integral._pack`` does (sigma I(a) + I(b), sigma II, chi I(a),
    chi I(b), chi II).  At T > 0 the energy integrals are the polygamma closed forms of
    :mod:`kubo_sot.kernels.energy_integrals` (same recurrence and Stirling series as
    :mod:`kubo_sot.kernels.polygamma`); near-degenerate band pairs use the midpoint series
    of :func:`kubo_sot.kernels.energy_integrals.band_pair_integrals` with the same switch.
    This is the numpy eigenbasis route of
    :func:`kubo_sot.observables.packed_integral.response_integrand` (the readable reference, which
    the tests compare against) fused into one compiled loop.

    Parameters
    ----------
    kx, ky : array_like
        Wave vectors in nm^-1 (broadcast against each other, flattened to P points).
    kinetic_coefficient : float
        c = hbar^2 / 2m in eV nm^2.
    alpha : float
        Rashba parameter in eV nm.
    exchange : float
        J in eV.
    magnetization : sequence of 3 floats
        Unit vector M.
    fermi_energy : float
        mu in eV.
    gamma : float
        Constant broadening Gamma in eV (> 0).
    thermal_energy : float, optional
        k_B T in eV (>= 0), default 0.

    Returns
    -------
    (P, 26) float array
        In units of [B] nm / eV, before the prefactor -e hbar / 2 pi and the k-integral.

    Raises
    ------
    ModuleNotFoundError
        If numba is not installed (``pip install kubo_sot[fast]``).

    Examples
    --------
    >>> import numpy as np
    >>> from kubo_sot.kernels.kubo_bastin_numba import rashba_integrand
    >>> rashba_integrand(np.array([0.1, 0.5]), np.zeros(2), 0.0381, 0.1, 0.1,
    ...                  (0, 0, 1), 0.3, 0.01, thermal_energy=0.0259).shape
    (2, 26)
    """
    if not AVAILABLE:
        raise ModuleNotFoundError("rashba_integrand needs numba: pip install "
                                  "'kubo_sot[fast]' (or use the numpy route of "
                                  "kubo_sot.observables.packed_integral.response_integrand)")
    kx, ky = flat_wave_vectors(kx, ky)
    mx, my, mz = (float(x) for x in magnetization)
    out = np.empty((kx.size, N_COMPONENTS))
    _integrand_loop(kx, ky, float(kinetic_coefficient), float(alpha), float(exchange),
                    mx, my, mz, float(fermi_energy), float(gamma), float(thermal_energy), out)
    return out


def fused_integrand(model, fermi_energy, gamma, thermal_energy=0.0):
    """The compiled integrand ``f(kx, ky) -> (P, 26)`` for ``model``, or None.

    Parameters
    ----------
    model : BandModel
        Used only if it is exactly a :class:`kubo_sot.RashbaFerromagnet` (not a subclass,
        which may change the Hamiltonian).
    fermi_energy : float
        mu in eV.
    gamma : float
        Constant broadening Gamma in eV (> 0).
    thermal_energy : float, optional
        k_B T in eV (>= 0), default 0.

    Returns
    -------
    callable or None
        The closure, or None when the kernel does not apply (other model, or numba missing);
        the caller then uses the numpy route.

    Examples
    --------
    >>> import kubo_sot
    >>> from kubo_sot.kernels.kubo_bastin_numba import AVAILABLE, fused_integrand
    >>> model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> (fused_integrand(model, 0.3, 0.01) is not None) == AVAILABLE
    True
    """
    if not applies(model):
        return None
    parameters = (model.kinetic_coefficient, model.alpha, model.exchange,
                  model.magnetization, fermi_energy, gamma, thermal_energy)

    def integrand(kx, ky):
        return rashba_integrand(kx, ky, *parameters)

    scalars = (float(model.kinetic_coefficient), float(model.alpha), float(model.exchange),
               *(float(m) for m in model.magnetization), float(fermi_energy), float(gamma),
               float(thermal_energy))

    def ray_rule(owner, a, b, rays, rule, magnitude=False):
        """Compiled quadrature rule on radial intervals: (value, error), see
        ``_ray_rule_loop``."""
        value = np.empty((a.size, 2 * N_COMPONENTS if magnitude else N_COMPONENTS))
        error = np.zeros_like(value)  # the |F| columns carry no error
        _ray_rule_loop(owner, a, b, *rays, rule.nodes, rule.weights, rule.top_coefficients,
                       float(rule.decay_ratio), float(rule.decay_power), *scalars, value,
                       error)
        return value, error

    integrand.ray_rule = ray_rule
    return integrand
