"""The lattice section of the validation report (validation/lattice.py): its expansion,
that its checks hold on the quick settings, and that they can fail."""

import numpy as np
import pytest
from scipy.optimize import brentq

from validation import lattice as L


def _fermi_sea_cos(qa, n_phi=256, n_k=64):
    """Int_{E < mu} d^2k/(2 pi)^2 cos(k_x a) for E = 2t(2 - cos k_x a - cos k_y a) with
    mu = t (q a)^2, in units of 1/a^2 (t = a = 1), by polar quadrature: the Fermi radius
    k(phi) from brentq, Gauss-Legendre in k, the periodic trapezoid rule in phi."""
    mu = qa ** 2
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    x, w = np.polynomial.legendre.leggauss(n_k)
    total = 0.0
    for p in phi:
        c, s = np.cos(p), np.sin(p)
        kf = brentq(lambda k: 2 * (2 - np.cos(k * c) - np.cos(k * s)) - mu, 0.0, np.pi)
        k = 0.5 * kf * (x + 1)
        total += 0.5 * kf * np.sum(w * k * np.cos(k * c))
    return total * (2 * np.pi / n_phi) / (2 * np.pi) ** 2


@pytest.mark.parametrize("qa", [0.2, 0.4, 0.8])
def test_lattice_correction_is_the_fermi_sea_integral_of_cos(qa):
    """sigma_xx = (pi/Gamma) 2 t a^2 Int_sea cos k_x a (module docstring): its ratio to the
    continuum q^2/(4 pi) is 1 - (qa)^2/16 - (qa)^4/256, the rest of relative order (qa)^2
    to the last term kept."""
    ratio = _fermi_sea_cos(qa) / (qa ** 2 / (4 * np.pi))
    kinetic = L.kinetic_coefficient()
    # one band: J = 0, mu = c q^2 with a = 1 nm
    predicted = L.lattice_correction("sigma_xx", 1.0, kinetic * qa ** 2, 0.0)
    assert predicted == pytest.approx(-qa ** 2 / 16, rel=1e-12)
    next_order = -qa ** 4 / 256
    assert abs((ratio - 1) - predicted - next_order) <= qa ** 2 * abs(next_order)


def test_lattice_correction_weights_of_two_bands():
    """Both bands: sigma weights q_n^2 by 1, the spin quantities by the spin sign."""
    c = L.kinetic_coefficient()
    mu, j, a = 0.5, 0.2, 0.1
    q2 = np.array([(mu + j) / c, (mu - j) / c])
    assert L.lattice_correction("sigma_xx", a, mu, j) == pytest.approx(
        -(a ** 2 / 16) * np.sum(q2 ** 2) / np.sum(q2), rel=1e-12)
    assert L.lattice_correction("damping_like_torque", a, mu, j) == pytest.approx(
        -(a ** 2 / 16) * np.sum(q2), rel=1e-12)
    assert L.lattice_correction("field_like_torque", a, 0.1, j) == pytest.approx(
        -(a ** 2 / 16) * (0.1 + j) / c, rel=1e-12)


@pytest.fixture(scope="module")
def limit_data():
    cfg = L.settings(True)
    data = {("continuum",): L._continuum_response(L.continuum_model(), cfg["rtol_limit"])}
    for x in cfg["kfa"]:
        data[("limit", x)] = L._continuum_response(L.square_lattice_for(x), cfg["rtol_limit"])
    return cfg, data


def test_continuum_limit_holds_with_the_right_mass(limit_data):
    cfg, data = limit_data
    records = L.continuum_limit_records(cfg, data)
    assert len(records) == len(L.QUANTITIES) * (len(cfg["kfa"]) + 1)
    for r in records:
        assert r["kind"] == "lattice" and r["holds"], (r["formula"], r["variant"])


@pytest.mark.parametrize("mass_error", [1.1, 0.9])
def test_continuum_limit_fails_with_a_mass_off_by_ten_percent(limit_data, mass_error):
    """t = 1.1 c/a^2 (or 0.9): the spin density and the torques (~ 1/m) are off by ~10 %,
    far beyond the lattice correction, at every k_F a, and their deviation no longer goes
    as (k_F a)^2.  sigma_xx = (mu + J)/(2 Gamma) of a parabolic band does not depend on the
    mass: only its lattice correction does, by the same 10 %, which the tolerance of the
    coefficient (the next orders, ~20 %) admits; its records are not asserted on."""
    cfg, data = limit_data
    records = L.continuum_limit_records(cfg, data, mass_error=mass_error)
    spin = [r for r in records if r["formula"] != "lattice_sigma_xx"]
    assert len(spin) == 3 * (len(cfg["kfa"]) + 1)
    for r in spin:
        assert not r["holds"], (r["formula"], r["variant"])
        if r["variant"].startswith("continuum_limit"):
            # off by ~10 % of X, i.e. ~0.1 / ((k_F a)^2/16) times the lattice correction
            assert r["relative_deviation"] > 5, (r["formula"], r["variant"])


def test_worst_route_ratio_flags_a_difference_beyond_the_errors():
    est = np.array([1.0, 2.0, 0.0])
    err = np.array([1e-6, 1e-6, 0.0])
    coarse, fine = est + 1e-6, est.copy()
    assert L._worst(est, err, coarse, fine) == 0.0
    fine[1] += 3e-6  # 3e-6 > adaptive 1e-6 + mesh |fine - coarse| = 2e-6
    assert L._worst(est, err, coarse, fine) > 1.0
