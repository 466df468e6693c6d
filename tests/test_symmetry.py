"""Symmetries of the Rashba ferromagnet: mirror (M -> -M parities), Onsager, rotation
covariance, symmetry-forbidden components.  Tolerances are the reported error estimates."""

import numpy as np
import pytest

import kubo_sot

RTOL = 1e-7
BASE = dict(alpha=0.1, exchange=0.1, mass=0.7)
MU, GAMMA = 0.25, 0.01


def _response(m, **extra):
    model = kubo_sot.RashbaFerromagnet(**BASE, magnetization=tuple(m))
    return kubo_sot.linear_response(model, MU, GAMMA, rtol=RTOL, **extra)


def _assert_close(a, b, err_a, err_b, scale):
    assert np.all(np.abs(a - b) <= err_a + err_b + 1e-13 * scale), (a, b)


# Mirror x -> -x: k_x -> -k_x, spin (axial) s -> (s_x, -s_y, -s_z); the Rashba term is
# invariant and the exchange term maps M -> (M_x, -M_y, -M_z).  Fields and currents are
# polar vectors, E -> (-E_x, E_y).  Mirror y -> -y likewise with the roles exchanged.
MIRRORS = {
    "x": (np.array([1.0, -1.0, -1.0]), np.array([-1.0, 1.0])),
    "y": (np.array([-1.0, 1.0, -1.0]), np.array([1.0, -1.0])),
}


@pytest.mark.parametrize("mirror, m", [("x", (0.0, 0.0, 1.0)), ("x", (0.48, 0.36, 0.8)),
                                       ("y", (1.0, 0.0, 0.0)), ("y", (0.6, -0.64, 0.48))])
def test_mirror_maps_magnetization(mirror, m):
    axial, polar = MIRRORS[mirror]
    m = np.array(m)
    r, rm = _response(m), _response(axial * m)
    for part in ("total", "fermi_surface", "fermi_sea"):
        s = getattr(r.conductivity, part)
        _assert_close(getattr(rm.conductivity, part), polar[:, None] * s * polar[None, :],
                      r.conductivity.error, rm.conductivity.error,
                      np.max(np.abs(r.conductivity.total)))
        chi = getattr(r.spin_density, part)
        _assert_close(getattr(rm.spin_density, part), axial[:, None] * chi * polar[None, :],
                      r.spin_density.error, rm.spin_density.error,
                      np.max(np.abs(r.spin_density.total)))


def test_perpendicular_magnetization_reversal_parities():
    """M = +z -> -z (mirror x): sigma_xx even, sigma_xy (anomalous Hall) odd; chi_xx, chi_yy
    odd (damping-like), chi_xy, chi_yx even (field-like, Edelstein)."""
    up, down = _response((0, 0, 1)), _response((0, 0, -1))
    s_up, s_dn = up.conductivity.total, down.conductivity.total
    e = up.conductivity.error + down.conductivity.error
    assert abs(s_up[0, 0] - s_dn[0, 0]) <= e[0, 0]
    assert abs(s_up[0, 1] + s_dn[0, 1]) <= e[0, 1]
    assert abs(s_up[0, 1]) > 100 * e[0, 1]  # the anomalous Hall effect is there
    c_up, c_dn = up.spin_density.total, down.spin_density.total
    e = up.spin_density.error + down.spin_density.error
    assert abs(c_up[0, 0] + c_dn[0, 0]) <= e[0, 0] and abs(c_up[0, 1] - c_dn[0, 1]) <= e[0, 1]
    assert abs(c_up[0, 0]) > 100 * e[0, 0] and abs(c_up[0, 1]) > 100 * e[0, 1]


def test_onsager_reciprocity_of_conductivity():
    m = np.array([0.48, 0.36, 0.8])
    r, rm = _response(m), _response(-m)
    _assert_close(r.conductivity.total, rm.conductivity.total.T, r.conductivity.error,
                  rm.conductivity.error.T, np.max(np.abs(r.conductivity.total)))


@pytest.mark.parametrize("theta", [0.4, 2.3])
def test_rotating_magnetization_and_field_together_rotates_tensors(theta):
    m = np.array([0.48, 0.36, 0.8])
    c, s = np.cos(theta), np.sin(theta)
    r2 = np.array([[c, -s], [s, c]])
    r3 = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    r, rr = _response(m), _response(r3 @ m)
    for name, left in (("conductivity", r2), ("spin_density", r3), ("torkance", r3)):
        a, b = getattr(r, name), getattr(rr, name)
        rotated = left @ a.total @ r2.T
        err = np.abs(left) @ a.error @ np.abs(r2.T) + b.error
        _assert_close(b.total, rotated, err, 0.0, np.max(np.abs(a.total)))


def test_forbidden_components_perpendicular_magnetization():
    r = _response((0, 0, 1))
    s, chi, t = r.conductivity, r.spin_density, r.torkance
    # C_inf about z: sigma_xx = sigma_yy, sigma_xy = -sigma_yx; chi likewise; no s_z response.
    assert abs(s.total[0, 0] - s.total[1, 1]) <= 2 * s.error[0, 0]
    assert abs(s.total[0, 1] + s.total[1, 0]) <= 2 * s.error[0, 1]
    assert abs(chi.total[0, 0] - chi.total[1, 1]) <= 2 * chi.error[0, 0]
    assert abs(chi.total[0, 1] + chi.total[1, 0]) <= 2 * chi.error[0, 1]
    assert np.all(np.abs(chi.total[2]) <= chi.error[2])
    assert np.all(t.total[2] == 0.0)  # t = J M x chi has no component along M = z


def test_forbidden_components_in_plane_magnetization():
    # M = x is invariant under the mirror x -> -x: components odd under it vanish.
    r = _response((1, 0, 0))
    s, chi = r.conductivity, r.spin_density
    assert np.all(np.abs([s.total[0, 1], s.total[1, 0]]) <= [s.error[0, 1], s.error[1, 0]])
    for a, j in ((0, 0), (1, 1), (2, 1)):
        assert abs(chi.total[a, j]) <= chi.error[a, j]
    assert abs(chi.total[2, 0]) > 100 * chi.error[2, 0]  # allowed and present
