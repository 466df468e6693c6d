"""Closed-form energy integrals of products of band Green's functions.

In the eigenbasis of H(k) the retarded Green's function of band n is
G^R_n(eps) = 1 / (eps - z_n), z_n = E_n - i Gamma (a simple pole in the lower half plane).
The Kubo-Bastin terms (docs/conventions.md §4.2) need, for every band pair (m, n),

    surface_ra[n, m] = Int deps (-df/deps) G^R_m G^A_n
    surface_rr[n, m] = Int deps (-df/deps) G^R_m G^R_n
    sea[n, m]        = (E_m - E_n) Int deps f(eps) (G^R_m)^2 (G^R_n)^2

All follow from two primitives of a pole c in the lower half plane:

    P_p(c) = Int deps (-df/deps) (eps - c)^-p
           = (mu - c)^-p                                         (T = 0)
           = (-1)^(p-1) psi^(p)(x) / ((p-1)! kappa^p),           (T > 0)
    L(a, b) = Int deps (-df/deps) [Log(eps - a) - Log(eps - b)]
           = Log(mu - a) - Log(mu - b)                           (T = 0)
           = psi(x_a) - psi(x_b),                                (T > 0)

with kappa = 2 pi i k_B T and x = 1/2 + (mu - c)/kappa (sum over the Matsubara poles of
-df/deps).  The sea integral, by partial fractions, with d = a - b,

    Int f G_a^2 G_b^2 = [ -P_1(a) - P_1(b) - (2/d) L(a, b) ] / d^2 ,

cancels catastrophically when the bands nearly touch (|d| small); there the expansion
about the midpoint c = (a + b)/2, delta = d/2,

    Int f G_a^2 G_b^2 = - sum_j (j + 1) delta^(2j) P_(3+2j)(c) / (3 + 2j)

is used instead (and likewise Int (-f') G_a G_b = sum_j delta^(2j) P_(2+2j)(c)).  The switch
is at |delta| = NEAR_DEGENERATE_RATIO * |mu + i pi k_B T - c|, the radius that controls both
the cancellation and the convergence of the series.
"""

from math import factorial

import numpy as np

from .polygamma import polygamma

NEAR_DEGENERATE_RATIO = 0.15
SERIES_TERMS = 11  # ratio^(2 * SERIES_TERMS) < 1e-18


class EnergyIntegrals:
    """Primitives P_p and L for a chemical potential and temperature (energies in eV).

    Parameters
    ----------
    fermi_energy : float
        Chemical potential mu in eV.
    thermal_energy : float
        k_B T in eV (0 for T = 0).
    """

    def __init__(self, fermi_energy, thermal_energy):
        self.mu = float(fermi_energy)
        self.kt = float(thermal_energy)
        self.kappa = 2j * np.pi * self.kt

    def _x(self, c):
        return 0.5 + (self.mu - c) / self.kappa

    def power(self, p, c):
        """P_p(c) = Int (-df/deps) (eps - c)^-p for poles c in the lower half plane."""
        if self.kt == 0.0:
            return (self.mu - c) ** (-p)
        return ((-1) ** (p - 1) * polygamma(p, self._x(c))
                / (factorial(p - 1) * self.kappa**p))

    def scaled_power(self, p, c):
        """s^p P_p(c) with s = series_radius(c); of modulus <~ 1 for any c."""
        s = self.series_radius(c)
        if self.kt == 0.0:
            return (s / (self.mu - c)) ** p
        x = self._x(c)
        # s / kappa = |x| (-i), since |kappa x| = |mu - c + i pi k_B T| = s.
        return ((-1) ** (p - 1) * (-1j) ** p * polygamma(p, x, scale=np.abs(x))
                / factorial(p - 1))

    def log_difference(self, a, b):
        """L(a, b) = Int (-df/deps) [Log(eps - a) - Log(eps - b)]."""
        if self.kt == 0.0:
            return np.log(self.mu - a) - np.log(self.mu - b)
        return polygamma(0, self._x(a)) - polygamma(0, self._x(b))

    def series_radius(self, c):
        """|mu + i pi k_B T - c|: convergence radius of the near-degenerate expansions."""
        return np.abs(self.mu + 1j * np.pi * self.kt - c)


def band_pair_integrals(energies, broadening, integrals):
    """Energy integrals of the Kubo-Bastin terms for all band pairs.

    Parameters
    ----------
    energies : (..., N) array
        Band energies E_n in eV.
    broadening : float
        Gamma in eV (> 0).
    integrals : EnergyIntegrals
        Chemical potential and temperature.

    Returns
    -------
    surface_ra, surface_rr, sea : (..., N, N) complex arrays
        Indexed [n, m] as in the module docstring, so that a trace
        Tr[B G^R V G^X] = sum_{n,m} B_nm V_mn weight[n, m].
    """
    return pole_pair_integrals(np.asarray(energies, float) - 1j * broadening, integrals)


def pole_pair_integrals(poles, integrals):
    """As :func:`band_pair_integrals` for arbitrary poles z_n of G^R in the lower half plane.

    With a constant matrix self-energy Sigma, G^R = (eps - H - Sigma)^-1 has the poles
    z_n = eigenvalues of the non-Hermitian H + Sigma (Im z_n < 0), and the same closed
    forms hold with E_m - E_n replaced by z_m - z_n (complex).

    Parameters
    ----------
    poles : (..., N) complex array, eV
    integrals : EnergyIntegrals
    """
    z = np.asarray(poles, complex)
    a = z[..., None, :]  # pole of band m (second index)
    b = z[..., :, None]  # pole of band n (first index)
    d = a - b  # = z_m - z_n (E_m - E_n for constant Gamma)
    mid = 0.5 * (a + b)
    delta = 0.5 * d
    near = np.broadcast_to(
        np.abs(delta) < NEAR_DEGENERATE_RATIO * integrals.series_radius(mid), np.broadcast(a, b).shape)
    safe_d = np.where(near, 1.0, d)

    # Int (-f') G^R_m G^A_n: poles z_m and conj(z_n) are on opposite sides of the axis.
    p1 = integrals.power(1, z)  # once per band, not per band pair
    pa = p1[..., None, :]
    pb = p1[..., :, None]
    if integrals.kt == 0.0:
        # (mu - z_m)^-1 (mu - conj z_n)^-1 directly: the difference quotient below loses
        # digits when a band's broadening is much smaller than its distance from mu.
        surface_ra = pa * np.conj(pb)
    else:
        surface_ra = (pa - np.conj(pb)) / (a - np.conj(b))

    # Int (-f') G^R_m G^R_n and (E_m - E_n) Int f G_m^2 G_n^2: closed forms, replaced by
    # the midpoint expansions where the two poles nearly coincide.
    closed_rr = (pa - pb) / safe_d
    closed_sea = (-pa - pb - 2.0 * integrals.log_difference(a, b) / safe_d) / safe_d**2
    shape = np.broadcast(a, b).shape
    surface_rr = np.broadcast_to(closed_rr, shape).copy()
    sea_integral = np.broadcast_to(closed_sea, shape).copy()
    if np.any(near):
        # In units of the series radius s, so that no power over- or underflows.
        c = np.broadcast_to(mid, shape)[near]
        s = integrals.series_radius(c)
        ratio2 = (np.broadcast_to(delta, shape)[near] / s) ** 2
        term = np.ones_like(c)
        rr = np.zeros_like(c)
        ss = np.zeros_like(c)
        for j in range(SERIES_TERMS):
            rr += term * integrals.scaled_power(2 + 2 * j, c)
            ss -= (j + 1) * term * integrals.scaled_power(3 + 2 * j, c) / (3 + 2 * j)
            term = term * ratio2
        surface_rr[near] = rr / s**2
        sea_integral[near] = ss / s**3
    sea = d * sea_integral
    return surface_ra, surface_rr, sea
