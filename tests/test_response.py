"""linear_response: identities, convergence, accuracy, parallel, serialization."""

import json

import numpy as np
import pytest

from conftest import PARAMETER_POINTS, TENSORS, assert_agree_within_errors
import kubo_sot
from kubo_sot import ConvergenceError, ConvergenceWarning, ParameterError
from kubo_sot.integrate import kspace
from kubo_sot.integrate.kspace import rotation_average
from kubo_sot.models.base import PAULI, rotates_with_spin
from kubo_sot.observables import response

# A representative subset for the expensive convergence studies: in-plane and tilted M,
# weak and strong Rashba, T > 0.
STUDY = {p[0]: p for p in PARAMETER_POINTS}
STUDY_POINTS = [STUDY[n] for n in ("z_weak_both", "x_strong_both", "tilted_mass",
                                   "y_weak_gap", "tilted_300K")]


def _response(point, **kwargs):
    _, model_kwargs, mu, gamma, temperature = point
    model = kubo_sot.RashbaFerromagnet(**model_kwargs)
    return kubo_sot.linear_response(model, mu, gamma, temperature, **kwargs)


@pytest.fixture(scope="module", params=STUDY_POINTS, ids=[p[0] for p in STUDY_POINTS])
def study(request):
    point = request.param
    return {rtol: _response(point, rtol=rtol) for rtol in (1e-6, 5e-7, 1e-9)}


def test_total_is_surface_plus_sea(study):
    r = study[1e-6]
    for name in TENSORS:
        t = getattr(r, name)
        scale = np.max(np.abs(t.total))
        assert np.allclose(t.total, t.fermi_surface + t.fermi_sea, rtol=0, atol=1e-14 * scale)
        if t.surface_a is not None:
            assert np.allclose(t.fermi_surface, t.surface_a + t.surface_b, rtol=0,
                               atol=1e-14 * scale)
    assert r.conductivity.surface_a is None  # diverges on its own: never reported


def test_halving_rtol_changes_less_than_reported_error(study):
    coarse, fine = study[1e-6], study[5e-7]
    for name in TENSORS:
        a, b = getattr(coarse, name), getattr(fine, name)
        for part in ("total", "fermi_surface", "fermi_sea"):
            assert np.all(np.abs(getattr(a, part) - getattr(b, part)) <= a.error + 1e-300)


def test_accuracy_target(study):
    """Every element at rtol = 1e-6 is within 1e-6 of the converged value, relative to the
    largest element of its tensor (reference: rtol = 1e-9)."""
    r, ref = study[1e-6], study[1e-9]
    for name in TENSORS:
        a, b = getattr(r, name), getattr(ref, name)
        scale = np.max(np.abs(b.total))
        assert np.max(np.abs(a.total - b.total)) <= 1e-6 * scale
        # and the reported error is an upper bound of the actual one
        assert np.all(np.abs(a.total - b.total) <= a.error + b.error + 1e-15 * scale)
        assert np.max(a.error) <= 1e-6 * scale


def test_torque_coefficients_reconstruct_torque(study):
    r = study[1e-6]
    m = np.asarray(r.provenance["model"]["magnetization"])
    for angle in (0.3, 1.1, 2.0):  # none makes z x E parallel to an axis-aligned M
        e = np.array([np.cos(angle), np.sin(angle)])
        tc = r.torque_coefficients(e)
        e3 = np.append(e, 0.0)
        e_fl = np.cross(m, np.cross([0, 0, 1], e3))
        e_dl = np.cross(m, e_fl)
        tau = r.torkance.total @ e
        assert np.allclose(tc.field_like * e_fl + tc.damping_like * e_dl, tau,
                           atol=1e-12 * np.max(np.abs(tau)))
        for key in ("field_like", "damping_like"):
            part = tc.parts[key]
            assert np.isclose(part["total"], part["fermi_surface"] + part["fermi_sea"],
                              rtol=0, atol=1e-12 * np.max(np.abs(tau)))


def test_parallel_gives_the_same_numbers():
    point = STUDY["tilted_mass"]
    serial = _response(point, rtol=1e-5)
    parallel = _response(point, rtol=1e-5, n_jobs=2)
    for name in TENSORS:
        a, b = getattr(serial, name), getattr(parallel, name)
        assert np.array_equal(a.total, b.total) and np.array_equal(a.error, b.error)


def test_result_converts_to_json():
    r = _response(STUDY["tilted_mass"], rtol=1e-3)
    data = json.loads(r.to_json())
    assert data["conductivity"]["unit"] == "e^2/h"
    assert np.allclose(data["torkance"]["total"], r.torkance.total)
    assert data["provenance"]["version"] == kubo_sot.__version__
    assert data["provenance"]["rtol"] == 1e-3
    assert len(data["bands"]["occupations_per_nm2"]) == 2


def test_band_data_against_closed_form():
    # M || z: contours are circles, E_-(k_F) = mu; n = k^2 / (4 pi) per filled disk.
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    r = kubo_sot.linear_response(model, 0.3, 0.01, rtol=1e-3)
    c = model.kinetic_coefficient
    for band, sign in ((0, -1), (1, 1)):
        # c k^2 + sign sqrt(alpha^2 k^2 + J^2) = mu  ->  solve the quadratic in k^2.
        ks = np.roots([c * c, -(2 * c * 0.3 + 0.01), 0.09 - 0.01])
        k2 = ks[np.isreal(ks)].real
        k2 = [x for x in k2 if x > 0 and np.isclose(c * x + sign * np.sqrt(0.01 * x + 0.01), 0.3)]
        kf = np.sqrt(k2[0])
        assert abs(r.bands.fermi_wavevectors[band] - kf) < 1e-6 * kf
        assert abs(r.bands.occupations[band] - kf**2 / (4 * np.pi)) < 1e-5 * kf**2
    assert np.isclose(r.bands.rashba_to_exchange, 0.1 * r.bands.fermi_wavevectors[0] / 0.1)


def test_unconverged_integral_warns_or_raises(monkeypatch):
    from kubo_sot.integrate import quadrature
    monkeypatch.setattr(quadrature, "MAX_ITERATIONS", 1)
    with pytest.raises((ConvergenceWarning, ConvergenceError), match="error estimate"):
        _response(STUDY["tilted_mass"], rtol=1e-9)


@pytest.mark.parametrize("ratio, expected", [(5.0, ConvergenceWarning), (500.0, ConvergenceError)])
def test_missed_tolerance_is_reported_with_its_error(ratio, expected):
    from kubo_sot.integrate.kspace import KSpaceIntegral
    from kubo_sot.observables.packed_integral import _report_convergence
    tol = np.full(3, 1e-6)
    result = KSpaceIntegral(np.ones(3), ratio * tol, False, 1000, np.ones(3))
    with pytest.raises(expected, match=f"{ratio:.3g} times the tolerance"):
        _report_convergence(result, tol, 1e-6)


@pytest.mark.parametrize("magnetization, mu, gamma", [((0, 0, 1), 0.4, 0.005),
                                                      ((0, 0, -1), 0.05, 0.02)])
def test_isotropic_rules_equal_the_anisotropic_angular_rule(magnetization, mu, gamma):
    """M along z: one ray and the rotation of the tensors give the angular integral (the
    constant-Gamma engine, and the white-noise engine: Born self-energy, ladder traces);
    the angular quadrature of an anisotropic model (the model declared non-isotropic: the
    periodic rule on 16 rays with its error estimate) must agree within the two error
    estimates."""
    kw = dict(alpha=0.1, exchange=0.1, magnetization=magnetization)
    not_isotropic = type("NotIsotropic", (kubo_sot.RashbaFerromagnet,),
                         {"isotropic": property(lambda self: False)})
    for broadening, vc in ((gamma, False),
                           (kubo_sot.WhiteNoiseDisorder.from_born_broadening(gamma, 1.0),
                            True)):
        three = kubo_sot.linear_response(kubo_sot.RashbaFerromagnet(**kw), mu, broadening,
                                         rtol=1e-8, vertex_corrections=vc)
        panels = kubo_sot.linear_response(not_isotropic(**kw), mu, broadening, rtol=1e-8,
                                          vertex_corrections=vc)
        assert_agree_within_errors(three, panels)


def _spy_periodic_rule(monkeypatch):
    """Record whether each call of kspace._periodic_rays returned a result."""
    calls = []
    original = kspace._periodic_rays

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append(out is not None)
        return out
    monkeypatch.setattr(kspace, "_periodic_rays", spy)
    return calls


PERIODIC_POINTS = [STUDY[n] for n in ("y_weak_gap", "x_strong_both", "tilted_mass",
                                      "x_mass_gap", "tilted_heavy", "tilted_300K")]


@pytest.mark.parametrize("point", PERIODIC_POINTS, ids=[p[0] for p in PERIODIC_POINTS])
def test_periodic_rule_equals_angular_panels(point, monkeypatch):
    """In-plane and tilted M, no contour tangent to rays: the periodic trapezoid rule in
    phi (16-128 nested rays) against the adaptive Gauss panels between the angular
    breakpoints, at rtol 1e-8: equal within the two error estimates."""
    calls = _spy_periodic_rule(monkeypatch)
    periodic = _response(point, rtol=1e-8)
    assert calls and all(calls)  # pilot and main run both on the periodic rule
    monkeypatch.setattr(kspace, "_periodic_rays", lambda *args, **kwargs: None)
    panels = _response(point, rtol=1e-8)
    assert_agree_within_errors(periodic, panels)


def test_periodic_rule_in_the_disorder_engine(monkeypatch):
    """The same comparison for the white-noise engine (SCBA self-energy, ladder traces)."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    disorder = kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, model)
    calls = _spy_periodic_rule(monkeypatch)
    periodic = kubo_sot.linear_response(model, 0.3, disorder, rtol=1e-7,
                                        vertex_corrections=True)
    assert calls and all(calls)
    monkeypatch.setattr(kspace, "_periodic_rays", lambda *args, **kwargs: None)
    panels = kubo_sot.linear_response(model, 0.3, disorder, rtol=1e-7, vertex_corrections=True)
    assert_agree_within_errors(periodic, panels)


def test_tangent_contours_go_to_panels(monkeypatch):
    """Strong Rashba at the Dirac cone (mu = 0): rays are tangent to the Fermi contour, the
    model says so (has_angular_features) and the panels are used at once.  Without that
    hint the rule is tried, does not converge geometrically (2e-4 at 16 and 32 rays), hands
    over to the panels, and the result is the same within the error estimates."""
    point = STUDY["y_strong_gap"]
    model = kubo_sot.RashbaFerromagnet(**point[1])
    assert model.has_angular_features(point[2], point[3])
    assert model.tangent_directions(point[2]).size > 0
    calls = _spy_periodic_rule(monkeypatch)
    hinted = _response(point, rtol=1e-6)
    assert calls == []
    monkeypatch.setattr(kubo_sot.RashbaFerromagnet, "has_angular_features",
                        lambda self, mu, width: False)
    tried = _response(point, rtol=1e-6)
    assert calls and not any(calls[1:])  # the pilot's first level is never checked
    assert tried.provenance["n_kpoints"] > hinted.provenance["n_kpoints"]
    assert_agree_within_errors(tried, hinted)


def test_periodic_rule_error_estimate():
    """The rule on known periodic functions: 1 / (a - cos phi) (poles at distance
    arccosh(a) from the real axis, error ~ (a + sqrt(a^2 - 1))^-N) is accepted at the first level whose
    estimate |T_N - T_N/2| meets the tolerance, and the estimate bounds the actual error;
    |sin phi|^(1/2) (algebraic convergence) is refused; the pilot takes the first level."""
    def rays(f, counter):
        def radial(phi):
            counter.append(phi.size)
            return np.stack([f(phi), np.zeros_like(phi)], axis=1)
        return radial

    # |T_16 - T_8|, |T_32 - T_16|, |T_64 - T_32|: 3e-6, 3e-12, 0 (a = 3); 0.13, 9e-4,
    # 4e-8 (a = 1.2); 3.2, 0.25, 2e-3 (a = 1.05).
    for a, atol, n_rays in ((3.0, 1e-6, 32), (3.0, 1e-5, 16), (1.2, 1e-6, 64),
                            (1.05, 1e-2, 64)):
        counter = []
        total, error = kspace._periodic_rays(rays(lambda p: 1 / (a - np.cos(p)), counter), 1,
                                             np.array([atol]))
        exact = 2 * np.pi / np.sqrt(a * a - 1)
        assert sum(counter) == n_rays
        assert abs(total[0] - exact) <= error[0] <= atol
    counter = []
    assert kspace._periodic_rays(rays(lambda p: np.sqrt(np.abs(np.sin(p))), counter), 1,
                                 np.array([1e-6])) is None
    assert sum(counter) <= 32  # refused once the error stops falling geometrically
    counter = []
    kspace._periodic_rays(rays(np.cos, counter), 1, np.array([0.0]), pilot=True)
    assert counter == [kspace.PERIODIC_RAYS[0]]


def test_brillouin_zone_uses_panels(monkeypatch):
    """A lattice model's ray lengths have kinks at the zone boundary's corners: no
    periodic rule there."""
    model = kubo_sot.SquareLatticeRashbaFerromagnet(hopping=1.0, lattice_constant=0.4,
                                                    alpha=0.1, exchange=0.1,
                                                    magnetization=(1, 0, 0))
    calls = _spy_periodic_rule(monkeypatch)
    kubo_sot.linear_response(model, 0.3, 0.02, rtol=1e-4)
    assert calls == []


@pytest.mark.parametrize("kwargs, mu, gamma, temperature", [
    (dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.4, 0.005, 0.0),
    (dict(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1)), 0.1, 0.01, 0.0),
    (dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, -1)), 0.05, 0.02, 300.0)])
def test_single_ray_equals_three_rays(monkeypatch, kwargs, mu, gamma, temperature):
    """Isotropic model: the ray phi = 0 with the rotation of the tensors
    (kspace.rotation_average) against the three-ray trapezoid rule (exact for the
    degree <= 2 angular dependence, no assumption on how the components rotate): equal
    within the two error estimates; chi_z vanishes exactly (a vector average)."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    assert rotates_with_spin(model)
    one = kubo_sot.linear_response(model, mu, gamma, temperature, rtol=1e-8)
    monkeypatch.setattr(response, "angular_average", lambda model, layout: None)
    three = kubo_sot.linear_response(model, mu, gamma, temperature, rtol=1e-8)
    assert 2.5 * one.provenance["n_kpoints"] < three.provenance["n_kpoints"]
    assert_agree_within_errors(one, three)
    assert np.all(one.spin_density.total[2] == 0) and np.all(one.spin_density.error[2] == 0)


class _DresselhausFerromagnet:
    """H = c k^2 + beta (k_x s_x - k_y s_y) + J s_z: isotropic, but its spin rotates
    against k, so chi_xx + chi_yy is not rotation invariant (chi_xx - chi_yy is)."""

    isotropic = True
    n_bands = 2

    def spin_operators(self):
        return PAULI

    def hamiltonian(self, kx, ky):
        kx, ky = np.asarray(kx, float), np.asarray(ky, float)
        k2 = (kx**2 + ky**2)[..., None, None]
        return (0.04 * k2 * np.eye(2) + 0.1 * (kx[..., None, None] * PAULI[0]
                - ky[..., None, None] * PAULI[1]) + 0.1 * PAULI[2])


def test_single_ray_needs_spin_rotating_with_k():
    """The one-ray average is used only where H(R k) = U H(k) U^dagger is verified: not for
    a spin rotating against k (Dresselhaus), nor for a model that claims isotropy wrongly."""
    assert not rotates_with_spin(_DresselhausFerromagnet())
    liar = type("Liar", (kubo_sot.RashbaFerromagnet,), {"isotropic": property(lambda s: True)})
    assert not rotates_with_spin(liar(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0)))
    assert rotates_with_spin(kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1,
                                                        magnetization=(0, 0, -1)))


def test_rotation_average_of_tensors():
    """The average of R T R^T over angles, written out: (T_xx + T_yy)/2 on the diagonal,
    (T_xy - T_yx)/2 off it; a spin-z (or s_0) index is invariant, so s_z v_j averages to 0
    and s_z s_z, s_0 s_z survive; n scalars are invariant."""
    rank2 = 0.5 * np.array([[1, 0, 0, 1], [0, 1, -1, 0], [0, -1, 1, 0], [1, 0, 0, 1]])
    chi = rotation_average([("spin", "vector")])
    assert np.array_equal(chi[:4, :4], rank2) and not chi[4:].any() and not chi[:, 4:].any()
    ladder = rotation_average([("spin4", "spin4")]).reshape(4, 4, 4, 4)
    for a, b in ((0, 0), (0, 3), (3, 0), (3, 3)):
        assert ladder[a, b, a, b] == 1 and np.count_nonzero(ladder[a, b]) == 1
    assert np.array_equal(ladder[1:3, 1:3, 1:3, 1:3].reshape(4, 4), rank2)
    assert not ladder[0, 1].any() and not ladder[1, 3].any()
    assert np.array_equal(rotation_average([(3,), ("vector", 2)]),
                          np.diag([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]))


@pytest.mark.parametrize("rtol", [1e-3, 1e-4])
@pytest.mark.parametrize("kwargs, mu, gamma", [
    (dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0)), -0.1, 0.01),
    (dict(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8)), 0.3, 0.005),
    (dict(alpha=0.3, exchange=0.01, magnetization=(0, 1, 0)), 0.0, 0.002)])
def test_coarse_grading_at_loose_tolerances_is_honest(kwargs, mu, gamma, rtol):
    """At rtol >= 1e-4 the initial radial grading is coarser (factor 3 or 4, response._grading)
    and the error estimate drives the refinement: each tensor must still be within its
    error estimate of an rtol-1e-9 reference, and that estimate within the requested rtol
    of the tensor's largest element (no warning)."""
    import warnings
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    assert response._grading(rtol) is not None
    reference = kubo_sot.linear_response(model, mu, gamma, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = kubo_sot.linear_response(model, mu, gamma, rtol=rtol)
    for name in ("conductivity", "spin_density", "torkance"):
        a, b = getattr(result, name), getattr(reference, name)
        scale = np.max(np.abs(b.total))
        assert np.all(np.abs(a.total - b.total) <= a.error + b.error + 1e-13 * scale)
        assert np.all(a.error <= rtol * scale)


def test_arrays_of_fermi_energies_broadenings_temperatures():
    """Array arguments broadcast; each element is the scalar call's result (same numbers),
    serially and on 2 joblib workers."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    mu, gamma = np.array([0.05, 0.3]), np.array([[0.01], [0.02]])
    for n_jobs in (1, 2):
        out = kubo_sot.linear_response(model, mu, gamma, rtol=1e-4, n_jobs=n_jobs)
        assert out.shape == (2, 2)
        for i, j in np.ndindex(2, 2):
            one = kubo_sot.linear_response(model, mu[j], gamma[i, 0], rtol=1e-4)
            for name in ("conductivity", "spin_density", "torkance"):
                for part in ("total", "fermi_surface", "fermi_sea", "error"):
                    assert np.array_equal(getattr(getattr(out[i, j], name), part),
                                          getattr(getattr(one, name), part))
    warm = kubo_sot.linear_response(model, 0.3, 0.02, temperature=[0.0, 300.0], rtol=1e-3)
    assert [r.provenance["temperature_K"] for r in warm] == [0.0, 300.0]


def test_array_with_one_bad_point_fails_before_computing(monkeypatch):
    from kubo_sot.observables import response
    monkeypatch.setattr(response, "integrate_kspace",
                        lambda *a, **k: pytest.fail("computed before checking every point"))
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    with pytest.raises(ParameterError, match="broadening"):
        kubo_sot.linear_response(model, [0.1, 0.2, 0.3], [0.01, 0.01, -0.01])
    with pytest.raises(ParameterError, match="broadcast"):
        kubo_sot.linear_response(model, [0.1, 0.2], [0.01, 0.02, 0.03])
    with pytest.raises(ParameterError, match="vertex_corrections"):
        kubo_sot.linear_response(model, [0.1, 0.2], 0.01, vertex_corrections=True)


def test_array_of_fermi_energies_with_white_noise_disorder():
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    disorder = kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, model.mass)
    out = kubo_sot.linear_response(model, [0.2, 0.3], disorder, rtol=1e-4,
                                   vertex_corrections=True)
    one = kubo_sot.linear_response(model, 0.3, disorder, rtol=1e-4, vertex_corrections=True)
    assert np.array_equal(out[1].spin_density.total, one.spin_density.total)
    assert np.array_equal(out[1].bare.spin_density.total, one.bare.spin_density.total)
    with pytest.raises(ParameterError, match="T = 0"):
        kubo_sot.linear_response(model, [0.2, 0.3], disorder, temperature=[0.0, 300.0])
