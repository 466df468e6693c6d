"""Analytic limits: pure exchange (alpha = 0), pure Rashba (J = 0), lattice -> continuum."""

import numpy as np
import pytest

import kubo_sot

RTOL = 1e-8


def parabolic_band_conductivity(mu_from_bottom, gamma):
    """Exact constant-Gamma Kubo-Bastin sigma_xx (e^2/h) of one parabolic band at T = 0.

    sigma = (1/2pi) Int_0^inf de e 2 Gamma^2 / ((e - mu)^2 + Gamma^2)^2
          = (1/2pi) [1 + (mu/Gamma)(pi/2 + arctan(mu/Gamma))]  -> mu / (2 Gamma),
    the Drude result e^2 nu v_F^2 tau / 2 with tau = hbar / (2 Gamma), for Gamma << mu.
    Independent of the mass.
    """
    x = mu_from_bottom / gamma
    return (1.0 + x * (0.5 * np.pi + np.arctan(x))) / (2 * np.pi)


@pytest.mark.parametrize("mu, gamma, mass, m", [
    (0.3, 0.01, 1.0, (0, 0, 1)),
    (0.05, 0.002, 0.4, (0.6, 0, 0.8)),  # only the majority band occupied
    (-0.08, 0.05, 2.0, (1, 0, 0)),
])
def test_pure_exchange_is_two_parabolic_bands(mu, gamma, mass, m):
    model = kubo_sot.RashbaFerromagnet(alpha=0.0, exchange=0.1, magnetization=m, mass=mass)
    r = kubo_sot.linear_response(model, mu, gamma, rtol=RTOL)
    expected = parabolic_band_conductivity(mu + 0.1, gamma) + \
        parabolic_band_conductivity(mu - 0.1, gamma)
    s = r.conductivity
    assert abs(s.total[0, 0] - expected) <= s.error[0, 0] + 1e-12 * expected
    assert abs(s.total[1, 1] - expected) <= s.error[1, 1] + 1e-12 * expected
    assert np.all(np.abs(s.total[[0, 1], [1, 0]]) <= 1e-12 * expected)  # no Hall effect
    # No spin-orbit coupling: spin along M is conserved; no spin density, no torque
    # (zero within the error estimate, which here is the rounding floor).
    for t in (r.spin_density, r.torkance):
        assert np.all(np.abs(t.total) <= t.error)


def test_drude_limit_of_pure_exchange():
    # Gamma << mu: sigma -> sum_n (mu - E_n,0) / (2 Gamma) with relative correction
    # 1/x + O(1/x^2), x = (mu - E_0)/Gamma (from the closed form above).
    model = kubo_sot.RashbaFerromagnet(alpha=0.0, exchange=0.1, magnetization=(0, 0, 1))
    r = kubo_sot.linear_response(model, 0.3, 0.001, rtol=1e-6)
    drude = (0.4 + 0.2) / (2 * 0.001)
    assert abs(r.conductivity.total[0, 0] / drude - 1) <= 2 * 0.001 / 0.2


@pytest.fixture(scope="module")
def pure_rashba():
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.0, magnetization=(0, 0, 1))
    return model, {g: kubo_sot.linear_response(model, 0.3, g, rtol=1e-7)
                   for g in (0.004, 0.002)}


def test_pure_rashba_drude_and_edelstein(pure_rashba):
    """J = 0, both bands occupied (Boltzmann, tau = hbar / 2 Gamma):
    sigma_xx = (mu + alpha^2 / 4c) / Gamma (e^2/h) (equal v_F, total DOS m / pi hbar^2),
    chi_yx = -chi_xy = -alpha / (8 pi c Gamma) (1/(V nm)) (Edelstein; k_- - k_+ = alpha/c).
    The constant-Gamma Kubo result deviates at second order in Gamma / E_F: the tolerance
    is 2 (Gamma / E_F)^2 and halving Gamma must divide the deviation by 4."""
    model, results = pure_rashba
    c = model.kinetic_coefficient
    e_f = 0.3 + 0.01 / (4 * c)
    dev = {}
    for g, r in results.items():
        sigma = e_f / g
        chi = -0.1 / (8 * np.pi * c * g)
        d = np.array([r.conductivity.total[0, 0] / sigma - 1,
                      r.conductivity.total[1, 1] / sigma - 1,
                      r.spin_density.total[1, 0] / chi - 1,
                      r.spin_density.total[0, 1] / -chi - 1])
        assert np.all(np.abs(d) <= 2 * (g / e_f) ** 2), d
        dev[g] = d
    ratio = dev[0.004] / dev[0.002]
    assert np.all((ratio > 3.5) & (ratio < 4.5)), ratio


def test_pure_rashba_forbidden(pure_rashba):
    _, results = pure_rashba
    r = results[0.002]
    scale = np.max(np.abs(r.spin_density.total))
    # Time reversal: no anomalous Hall effect, no Fermi-sea spin density, no s_z response.
    assert abs(r.conductivity.total[0, 1]) <= r.conductivity.error[0, 1] + 1e-12
    assert np.all(np.abs(r.spin_density.fermi_sea) <= r.spin_density.error + 1e-12 * scale)
    assert np.all(np.abs(r.spin_density.total[2]) <= r.spin_density.error[2] + 1e-12 * scale)


def test_lattice_converges_to_continuum_as_a_squared():
    """Square lattice with hbar^2/2m = t a^2: corrections O((k_F a)^2); halving a divides
    the deviation by 4 (within 10 %), and it is below (k_F a)^2."""
    cont = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    ref = kubo_sot.linear_response(cont, 0.3, 0.02, rtol=1e-7)
    k_f = ref.bands.fermi_wavevectors[0]
    dev = []
    for a in (0.04, 0.02):
        lat = kubo_sot.SquareLatticeRashbaFerromagnet.from_continuum(cont, a)
        r = kubo_sot.linear_response(lat, 0.3, 0.02, rtol=1e-7)
        d = [np.max(np.abs(getattr(r, n).total - getattr(ref, n).total))
             / np.max(np.abs(getattr(ref, n).total))
             for n in ("conductivity", "spin_density", "torkance")]
        assert max(d) < (k_f * a) ** 2
        dev.append(np.array(d))
    assert np.all(np.abs(dev[0] / dev[1] - 4) < 0.4)
