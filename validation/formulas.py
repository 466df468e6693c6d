"""Analytic predictions: the seed paper's spin-force results, translated to the package's
per-area quantities, and closed forms of the literature for the same model.

Units as in kubo_sot (docs/conventions.md §1): energies eV, k nm^-1, alpha eV nm,
c = hbar^2/2m eV nm^2, conductivities e^2/h, spin densities 1/(V nm), torkances e/nm.
Useful reductions: m alpha / hbar^2 = alpha / (2c) (nm^-1), eta = m alpha^2/(hbar^2 J)
= alpha^2 / (2 c J), and (hbar/e) x (e^2/h) = e / (2 pi).

Translations of the paper (Ho et al.; equation numbers of the paper's text):

* Field-like torque, Eq. (5) and App. A: T1 = -gamma M x H_fl, H_fl = (m alpha/(e hbar)) z x j.
  As an energy-per-area torque tau = J M x delta<s> this reads
  tau_FL = -(m alpha/(e hbar)) M x (z x j), i.e. for j = sigma_xx E along x
  t_FL = -(alpha / (4 pi c)) sigma_xx   (e/nm, sigma in e^2/h).
  The paper's derivation takes one band with <s> = M.  With both bands occupied the minority
  band's spin is -M, so its current enters with the opposite sign (derivation in the
  report): j -> j_maj - j_min = P j, P = (sigma_- - sigma_+)/(sigma_- + sigma_+), with the
  band conductivities of the alpha -> 0 model (exact constant-Gamma parabolic bands).
* Damping-like torque, Eqs. (10), (13), (14): per electron T2 = (e alpha/(hbar J))
  M x (M x (E x z)) (a rate of the Pauli spin).  Per area, tau = hbar n T2 with n the
  density of electrons that carry it: t_DL = -alpha n / J on e_DL = M x (M x (z x E)).
  As written n = n_- (the one band); translated n = n_- - n_+ (minority spins are opposite,
  Omega -> -Omega in Eq. 12).
* AMR, Eq. (18): rho/rho_0 = 1 + eta cos^2 theta.  Translated for two bands: the extra Joule
  heating sum_n j_n . F_n / e has opposite forces in the two bands, eta -> eta P.
* Energy, Eqs. (15)-(17): Q_M = -eta rho_0 (M.j)^2 and Q_e = j.E + j.F_so/e with
  F_so = eta e (E.M) M (in-plane M, where Eq. 13 reduces to this form).
"""

import numpy as np

from kubo_sot.constants import kinetic_prefactor


def eta(alpha, exchange, mass=1.0):
    """eta = m alpha^2 / (hbar^2 J) = alpha^2 / (2 c J) (dimensionless)."""
    return alpha**2 / (2 * kinetic_prefactor(mass) * exchange)


def parabolic_band_conductivity(mu_from_bottom, gamma):
    """Exact constant-Gamma Kubo sigma_xx (e^2/h) of one parabolic band, T = 0:
    (1/2pi)[1 + x (pi/2 + arctan x)], x = (mu - E_0)/Gamma; -> Drude x/2 for x >> 1."""
    x = mu_from_bottom / gamma
    return (1.0 + x * (0.5 * np.pi + np.arctan(x))) / (2 * np.pi)


def band_conductivities(mu, exchange, gamma):
    """sigma_- (majority, bottom -J) and sigma_+ (minority, bottom +J) at alpha = 0."""
    return (parabolic_band_conductivity(mu + exchange, gamma),
            parabolic_band_conductivity(mu - exchange, gamma))


def current_polarization(mu, exchange, gamma):
    s_maj, s_min = band_conductivities(mu, exchange, gamma)
    return (s_maj - s_min) / (s_maj + s_min)


def field_like_paper(alpha, sigma_xx, mass=1.0, polarization=1.0):
    """t_FL (e/nm) of H_fl = (m alpha/(e hbar)) z x (P j), j = sigma_xx E."""
    return -alpha * polarization * sigma_xx / (4 * np.pi * kinetic_prefactor(mass))


def damping_like_paper(alpha, exchange, carrier_density):
    """t_DL (e/nm) of Eq. (14) summed over carrier_density electrons per nm^2."""
    return -alpha * carrier_density / exchange


def rashba_contours_perpendicular(alpha, exchange, mu, mass=1.0):
    """Fermi radii for M || z: roots of c k^2 -/+ sqrt(alpha^2 k^2 + J^2) = mu.

    Returns (lower_band_radii, upper_band_radii), each a sorted list (0, 1 or 2 radii).
    """
    c = kinetic_prefactor(mass)
    out = []
    for sign in (-1.0, 1.0):
        # (c k^2 - mu)^2 = alpha^2 k^2 + J^2 with sign(c k^2 - mu) = -sign
        roots = np.roots([c * c, -(2 * c * mu + alpha**2), mu * mu - exchange**2])
        radii = []
        for x in roots:
            if abs(x.imag) < 1e-12 and x.real > 0:
                k = np.sqrt(x.real)
                if np.isclose(c * k * k + sign * np.hypot(alpha * k, exchange), mu,
                              atol=1e-10):
                    radii.append(float(k))
        out.append(sorted(radii))
    return out


def drude_conductivity_perpendicular(alpha, exchange, mu, gamma, mass=1.0):
    """Boltzmann sigma_xx (e^2/h) for M || z, tau = hbar/(2 Gamma), summed over contours:
    sigma = sum_c k_c |dE/dk|_c / (4 Gamma), dE/dk = 2ck +/- alpha^2 k / Omega."""
    c = kinetic_prefactor(mass)
    total = 0.0
    for sign, radii in zip((-1.0, 1.0), rashba_contours_perpendicular(alpha, exchange, mu, mass)):
        for k in radii:
            slope = 2 * c * k + sign * alpha**2 * k / np.hypot(alpha * k, exchange)
            total += k * abs(slope) / (4 * gamma)
    return total


def intrinsic_anomalous_hall_perpendicular(alpha, exchange, mu, mass=1.0):
    """Berry-curvature sigma_xy (e^2/h) for M = +z, Gamma -> 0 (Culcer et al. PRB 68,
    045327 (2003); Nunner et al. PRB 76, 235312 (2007)): Omega_-(k) = -J alpha^2/(2 Omega^3),
    sigma_xy = -(e^2/hbar) sum_n Int f_n Omega_n = (1/2) sum_c s_c J / Omega(k_c), with
    s_c the orientation of contour c (+ for a lower-band outer contour)."""
    return 0.5 * _contour_sum(alpha, exchange, mu, mass)


def intrinsic_damping_like_perpendicular(alpha, exchange, mu, mass=1.0):
    """Berry-phase (adiabatic) spin density chi_xx (1/(V nm)) and t_DL (e/nm) for M = +z,
    E along x, Gamma -> 0 (Kurebayashi et al., Nat. Nanotech. 9, 211 (2014); Li et al.,
    PRB 91, 134402 (2015)).  Each occupied state's spin lags its field b(k(t)):
    delta s_-/+ = +/- (hbar / 2 Omega) b^ x d b^/dt, hbar dk/dt = -e E, giving
    chi_xx = (1 / 4 pi alpha) sum_c s_c (1 - J/Omega(k_c)) and t_DL = -J chi_xx."""
    chi = _contour_sum(alpha, exchange, mu, mass) / (4 * np.pi * alpha)
    return chi, -exchange * chi


def _contour_sum(alpha, exchange, mu, mass):
    """sum over occupied regions of [1 - J/Omega] at their boundaries, lower minus upper.

    For a band occupied on a disk k < k_F the Berry-type integral gives (1 - J/Omega(k_F));
    on an annulus k_1 < k < k_2 it gives J/Omega(k_1) - J/Omega(k_2)."""
    lower, upper = rashba_contours_perpendicular(alpha, exchange, mu, mass)
    total = 0.0
    for sign, radii in ((1.0, lower), (-1.0, upper)):
        if len(radii) == 1:
            total += sign * (1 - exchange / np.hypot(alpha * radii[0], exchange))
        elif len(radii) == 2:
            total += sign * (exchange / np.hypot(alpha * radii[0], exchange)
                             - exchange / np.hypot(alpha * radii[1], exchange))
    return total


def edelstein_field_like_perpendicular(alpha, exchange, mu, gamma, mass=1.0):
    """Edelstein spin density and field-like torkance for M = +z, E along x, to leading
    order in J / (alpha k_F): Boltzmann with tau = hbar/(2 Gamma) and the in-plane spin
    texture of the J = 0 Rashba bands (Edelstein, Solid State Commun. 73, 233 (1990);
    Manchon & Zhang, PRB 78, 212405 (2008)).  Each contour c contributes its radius with
    the sign of its band (lower +, upper -) times that of dE/dk there:
    chi_yx = -(sum_c s_c k_c) / (8 pi Gamma)  (1/(V nm)),
    t_FL = J chi_yx  (e/nm; tau = J M x chi on e_FL = M x (z x E) = -x)."""
    c = kinetic_prefactor(mass)
    signed = 0.0
    for band, radii in zip((1.0, -1.0), rashba_contours_perpendicular(alpha, 0.0, mu, mass)):
        for k in radii:
            slope = 2 * c * k - band * alpha  # dE/dk of c k^2 -/+ alpha k
            signed += band * np.sign(slope) * k
    chi_yx = -signed / (8 * np.pi * gamma)
    return chi_yx, exchange * chi_yx


def ladder_field_like_ratio_one_band(beta):
    """t_FL(ladder) / t_FL(bare) for one occupied band, M along z, leading order in Gamma.

    Derivation (this package, white noise, SCBA + ladder, intraband terms only, which carry
    the 1/Gamma order): on the Fermi contour the band spin is s = (-alpha k_y, alpha k_x,
    J)/|b|, with beta = J/|b| = s_z and gamma^2 = 1 - beta^2 its in-plane part squared.
    G^R X G^A -> (pi / Gamma_-) delta(mu - E_-) P X P with P = (1 + s.s)/2 and the band
    width Gamma_- = (pi n_i V^2 nu / 2)(1 + beta^2), so the ladder matrix is
    L = <s s^T> / (1 + beta^2) (s_0 = 1) and the source for E along x is
    y = (0, 0, v gamma / 2, 0) / (1 + beta^2).  With delta_0 = 0:
    delta_y = v gamma / (1 + 3 beta^2).  The I(a) spin density chi_yx ~ <s_y (v cos phi +
    delta s_y)> grows by 1 + gamma^2/(1 + 3 beta^2), i.e.

        R = 2 (1 + beta^2) / (1 + 3 beta^2),

    from 1 (weak Rashba, beta -> 1) to 2 (strong Rashba, beta -> 0: the Edelstein
    doubling).  beta uses the Fermi wave vector of the occupied (majority) band.
    """
    return 2.0 * (1.0 + beta**2) / (1.0 + 3.0 * beta**2)
