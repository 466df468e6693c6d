"""White-noise disorder: Born self-energy, ladder vertex corrections, their limits.

Independent checks: the vertex equation in closed form vs the ladder series; the per-k
integrand from spectral projectors vs explicit Green's functions; analytic limits (pure
Rashba, pure exchange) to leading order in Gamma / E_F, with tolerances from that order;
the anomalous Hall and damping-like cancellations; cutoff (in)dependence of Sigma.
"""

import warnings

import numpy as np
import pytest
from scipy.integrate import quad

import kubo_sot
from kubo_sot import WhiteNoiseDisorder
from kubo_sot.errors import ParameterError
from kubo_sot.kernels.ladder import iterate_vertex, solve_vertex
from kubo_sot.observables.disordered_response import disordered_integrand
from kubo_sot.observables.self_energy import born_self_energy

from conftest import PER_K_AGREEMENT

RTOL = 1e-7


def _response(alpha, exchange, m, mu, gamma0, rtol=RTOL, **kw):
    model = kubo_sot.RashbaFerromagnet(alpha=alpha, exchange=exchange, magnetization=m, **kw)
    disorder = WhiteNoiseDisorder.from_born_broadening(gamma0, mass=model.mass)
    r = kubo_sot.linear_response(model, mu, disorder, rtol=rtol, vertex_corrections=True)
    return model, r


def _scba_width(r):
    """-Im c_0 of the self-consistent self-energy (eV)."""
    return -r.provenance["self_energy"]["sigma_components_eV"][0][1]


# ----------------------------------------------------------------- vertex equation routes

def test_vertex_closed_form_equals_ladder_series_on_a_ward_ladder():
    rng = np.random.default_rng(1)
    r0 = np.array([1.0, 0.2, -0.1, 0.3])  # diffusion mode, L r0 = r0
    w0 = np.array([1.0, -0.3, 0.2, 0.1])  # left zero mode of 1 - L
    # L = r0 w0^T / (w0.r0) + S, with S r0 = 0 and w0^T S = 0 (projected random part).
    p_right = np.eye(4) - np.outer(r0, w0) / (w0 @ r0)
    s = p_right @ (0.4 * rng.standard_normal((4, 4))) @ p_right
    ladder = np.outer(r0, w0) / (w0 @ r0) + s
    y = p_right @ rng.standard_normal((4, 2))  # the source obeys w0^T y = 0
    y = y.T
    closed, residual = solve_vertex(ladder, y)
    series, rungs = iterate_vertex(ladder, y, r0)
    assert np.all(residual < 1e-13)
    assert np.allclose(closed[:, 0], 0.0)
    assert np.allclose((np.eye(4) - ladder) @ closed.T, y.T, atol=1e-13)
    assert np.max(np.abs(series - closed)) <= 1e-10 * np.max(np.abs(closed))
    assert rungs > 3


@pytest.mark.parametrize("alpha, exchange, m, mu", [
    (0.1, 0.1, (0, 0, 1), 0.3), (0.1, 0.1, (1, 0, 0), 0.05), (0.3, 0.01, (0.6, 0, 0.8), 0.1),
    (0.002, 0.2, (0, 1, 0), 0.0),
])
def test_vertex_routes_agree_on_computed_ladders(alpha, exchange, m, mu):
    _, r = _response(alpha, exchange, m, mu, 0.005, rtol=1e-6)
    v = r.provenance["vertex"]
    scale = np.max(np.abs(v["delta_eV_nm"]))
    assert v["ladder_series_deviation_eV_nm"] <= 1e-8 * scale  # acceptance: 1e-8
    # The SCBA Sigma and the ladder obey the Ward identity to the k-integration error.
    assert max(v["ward_residual_eV_nm"]) <= np.max(v["delta_error_eV_nm"]) + 1e-12 * scale


# ----------------------------------------------------------------- per-k routes

@pytest.mark.parametrize("m, mu", [((0, 0, 1), 0.3), ((1, 0, 0), 0.05),
                                   ((0.6, 0.0, 0.8), -0.05)])
def test_projector_route_equals_green_route_per_k(m, mu):
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=m)
    sigma = born_self_energy(model, mu, WhiteNoiseDisorder.from_born_broadening(0.01, model)
                             ).self_energy
    rng = np.random.default_rng(7)
    k = np.concatenate([rng.uniform(-3, 3, (40, 2)), [[0.0, 0.0], [1e-3, 0], [0, 1.0]]])
    fast = disordered_integrand(model, mu, sigma, "eigenbasis")(k[:, 0], k[:, 1])
    check = disordered_integrand(model, mu, sigma, "green")(k[:, 0], k[:, 1])
    # Relative to the largest value of each block (a component that vanishes by symmetry
    # is compared with its block's scale, not with its own rounding).
    for block in np.split(np.arange(58), [4, 8, 14, 20, 26, 42, 50]):
        scale = max(np.max(np.abs(check[:, block])), 1e-6 * np.max(np.abs(check)))
        assert np.max(np.abs(fast[:, block] - check[:, block])) <= PER_K_AGREEMENT * scale


# ----------------------------------------------------------------- analytic limits

@pytest.fixture(scope="module")
def pure_rashba():
    return {g: _response(0.1, 0.0, (0, 0, 1), 0.3, g) for g in (0.004, 0.002)}


def test_pure_rashba_vertex_corrected_drude_and_edelstein(pure_rashba):
    """J = 0, both bands: the ladder cancels the anomalous velocity (Delta_x = alpha s_y),
    sigma = e^2 n tau / m = (mu + alpha^2/2c) / Gamma (e^2/h) with the quantum lifetime
    tau = hbar / 2 Gamma (transport time = quantum lifetime for white noise), and the
    Edelstein response doubles the bare bubble's: chi_yx = -alpha / (4 pi c Gamma).
    The bare bubble gives (mu + alpha^2/4c) / Gamma and -alpha / (8 pi c Gamma).
    Corrections are O(Gamma / E_F) (<= 2 Gamma / mu) and shrink ~ linearly with Gamma."""
    deviations = []
    for gamma0, (model, r) in pure_rashba.items():
        c, a, mu = model.kinetic_coefficient, model.alpha, 0.3
        g = _scba_width(r)
        bound = 2 * g / mu
        delta = np.asarray(r.provenance["vertex"]["delta_eV_nm"])
        assert abs(delta[0, 2] / a - 1) <= bound and abs(delta[1, 1] / a + 1) <= bound
        checks = [(r.conductivity.total[0, 0], (mu + a * a / (2 * c)) / g),
                  (r.bare.conductivity.total[0, 0], (mu + a * a / (4 * c)) / g),
                  (r.spin_density.total[1, 0], -a / (4 * np.pi * c * g)),
                  (r.bare.spin_density.total[1, 0], -a / (8 * np.pi * c * g))]
        devs = [abs(x / y - 1) for x, y in checks]
        assert max(devs) <= bound, devs
        deviations.append(devs)
    # The deviations are corrections in powers of Gamma: halving Gamma shrinks each one
    # at least like Gamma (measured: like Gamma^2, ratio 4).
    for coarse, fine in zip(*deviations):
        if coarse > 1e-5:
            assert coarse / fine >= 1.8


@pytest.mark.parametrize("mu", [0.3, 0.05])  # both bands / majority only
def test_pure_exchange_has_no_vertex_correction(mu):
    """alpha = 0: Y = Int G^R v G^A = 0 (odd in k), so Delta = 0 and transport time =
    quantum lifetime per spin band: sigma = sum_s (mu - E_s0) / (2 Gamma_s) with the SCBA
    widths Gamma_s = -Im (c_0 +/- c_z) and the exchange renormalized by Re c_z."""
    model, r = _response(0.0, 0.1, (0, 0, 1), mu, 0.003)
    c = r.provenance["self_energy"]["sigma_components_eV"]
    c0, cz = complex(*c[0]), complex(*c[3])
    assert np.max(np.abs(r.provenance["vertex"]["delta_eV_nm"])) <= 1e-9
    assert np.allclose(r.conductivity.total, r.bare.conductivity.total, rtol=0, atol=1e-9)
    # H + Re Sigma = c k^2 + (-J + Re c_z) s_z: band bottoms -J + Re c_z (majority, up)
    # and J - Re c_z; widths Gamma_up = -Im(c_0 + c_z), Gamma_down = -Im(c_0 - c_z).
    bottoms = (-0.1 + cz.real, 0.1 - cz.real)
    widths = (-(c0 + cz).imag, -(c0 - cz).imag)
    expected = sum((mu - e) / (2 * w) for e, w in zip(bottoms, widths) if mu > e)
    assert abs(r.conductivity.total[0, 0] / expected - 1) <= 2 * max(widths) / (mu + 0.1)


def test_anomalous_hall_effect_cancels_with_both_bands_occupied():
    """M along z, both bands: the ladder cancels the intrinsic + bare-bubble sigma_xy
    (Nunner et al. 2007; Ado et al. 2017) up to O(Gamma / E_F) of it."""
    results = {g: _response(0.1, 0.1, (0, 0, 1), 0.3, g) for g in (0.004, 0.002)}
    for g, (_, r) in results.items():
        bare, dressed = r.bare.conductivity.total[0, 1], r.conductivity.total[0, 1]
        assert abs(dressed) <= 4 * g / 0.3 * abs(bare)
    # ... and the residue vanishes with Gamma (at least linearly).
    coarse, fine = (abs(results[g][1].conductivity.total[0, 1]) for g in (0.004, 0.002))
    assert fine <= 0.6 * coarse


@pytest.mark.parametrize("m", [(0, 0, 1), (1, 0, 0), (0.6, 0.0, 0.8), (0.0, 0.6, 0.8)])
def test_only_the_edelstein_spin_density_survives_with_both_bands(m):
    """Ado, Tretiakov, Titov (2017): with spin-independent disorder and both bands
    occupied the torques cancel except the M-independent Edelstein one:
    chi = -(alpha / 4 pi c Gamma) (z x E^), so t_DL -> 0 and t_FL = J M x chi."""
    model, r = _response(0.1, 0.1, m, 0.3, 0.002)
    c, g = model.kinetic_coefficient, _scba_width(r)
    edelstein = 0.1 / (4 * np.pi * c * g)
    expected = np.array([[0.0, edelstein], [-edelstein, 0.0], [0.0, 0.0]])
    assert np.max(np.abs(r.spin_density.total - expected)) <= 4 * g / 0.3 * edelstein
    tq = r.torque_coefficients((1.0, 0.0))
    assert abs(tq.damping_like) <= 4 * g / 0.3 * abs(tq.field_like)


def test_onsager_reciprocity_with_vertex_corrections():
    """sigma_ij(M) = sigma_ji(-M) holds for the dressed response too (M -> -M with the
    mirror-free Onsager relation of a time-reversal-odd M)."""
    m = (0.48, 0.36, 0.8)
    _, plus = _response(0.1, 0.1, m, 0.05, 0.005, rtol=1e-7)
    _, minus = _response(0.1, 0.1, tuple(-x for x in m), 0.05, 0.005, rtol=1e-7)
    s_p, s_m = plus.conductivity, minus.conductivity
    assert np.all(np.abs(s_p.total - s_m.total.T) <= s_p.error + s_m.error.T + 1e-9)


# ----------------------------------------------------------------- self-energy cutoff

def test_self_energy_cutoff_dependence():
    """Re c_0 diverges as -(n_i V^2 / 4 pi c) ln K^2 (absorbed into mu); Re c_z converges
    to the package's value with a 1/K^2 tail.  Radial integrals for M along z with an
    explicit cutoff K, G built from the package's own SCBA Sigma."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    disorder = WhiteNoiseDisorder.from_born_broadening(0.01, model)
    born = born_self_energy(model, 0.05, disorder, rtol=1e-10)
    sigma = born.self_energy.matrix
    n = disorder.strength

    def components(k):
        h = model.hamiltonian(np.array([k]), np.array([0.0]))[0]
        g = np.linalg.inv(0.05 * np.eye(2) - h - sigma)
        return 0.5 * np.trace(g).real, 0.5 * (g[0, 0] - g[1, 1]).real

    def with_cutoff(cutoff, index):
        # M along z: the in-plane spin part averages to zero over angles; the rest is
        # radial.  Int d^2k/(2 pi)^2 = (1 / 2 pi) Int k dk.
        value = quad(lambda k: k * components(k)[index], 0, cutoff, limit=500,
                     points=[1.0, 2.0], epsabs=1e-13, epsrel=1e-12)[0]
        return n * value / (2 * np.pi)

    cz = [with_cutoff(k, 1) for k in (50.0, 100.0, 200.0)]
    package = born.self_energy.components[3].real
    tails = [x - package for x in cz]
    # Tail ~ n_i V^2 J / (4 pi c^2 K^2): doubling K quarters it, and the K -> inf
    # (Richardson) limit is the package's cutoff-free value.
    assert 3.8 <= tails[0] / tails[1] <= 4.2 and 3.8 <= tails[1] / tails[2] <= 4.2
    assert abs((4 * cz[2] - cz[1]) / 3 - package) <= 1e-7 * abs(package)  # O(K^-4) left
    c0 = [with_cutoff(k, 0) for k in (100.0, 200.0, 400.0)]
    slope = -n / (4 * np.pi * model.kinetic_coefficient) * np.log(4.0)  # per doubling
    assert abs((c0[1] - c0[0]) / slope - 1) < 1e-3
    assert abs((c0[2] - c0[1]) / slope - 1) < 1e-3


# ----------------------------------------------------------------- bad input

def test_vertex_inputs_are_tightened_until_the_dressed_error_meets_its_tolerance(
        monkeypatch):
    """The ladder traces are asked for VERTEX_RTOL_FACTORS rtol in turn, the next factor
    only while the error propagated through (1 - L)^-1 exceeds the dressed tensors'
    tolerance.  Here that error is inflated 1e9-fold in the first pass (or in every pass):
    the next factor is then used and the result equals the plain run's within the error
    estimates, or, after the last factor, the error is reported (ConvergenceWarning or
    ConvergenceError), never silently returned."""
    from kubo_sot.errors import ConvergenceError, ConvergenceWarning
    from kubo_sot.observables import disordered_response
    model = kubo_sot.RashbaFerromagnet(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0))
    disorder = WhiteNoiseDisorder.from_born_broadening(0.01, mass=model.mass)
    vertex = disordered_response._vertex

    def run(inflated_passes):
        calls = []

        def inflated(*args):
            delta, error, info = vertex(*args)
            calls.append(1)
            return delta, error * (1e9 if len(calls) <= inflated_passes else 1.0), info
        monkeypatch.setattr(disordered_response, "_vertex", inflated)
        result = kubo_sot.linear_response(model, -0.1, disorder, rtol=1e-6,
                                          vertex_corrections=True)
        return result, len(calls)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither run may miss its tolerance
        plain, passes = run(0)
        tightened, tightened_passes = run(1)
    assert (passes, tightened_passes) == (1, 2)
    for name in ("conductivity", "spin_density", "torkance"):
        a, b = getattr(tightened, name), getattr(plain, name)
        assert np.all(np.abs(a.total - b.total) <= a.error + b.error)
    with pytest.raises((ConvergenceWarning, ConvergenceError), match="error estimate"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run(len(disordered_response.VERTEX_RTOL_FACTORS))


def test_self_energy_error_bounds_small_elements_too():
    """At rtol 1e-4 the Born self-energy is solved to ~1e-5 Gamma, and its error moves every
    element of a tensor by up to ~1e-7 of the tensor's largest one.  Against an rtol-1e-10
    reference, the error estimate must cover that for the small elements too (here chi_z of
    a nearly in-plane M; bounded by each element's own value, it fell 1.4x short)."""
    m = np.array([0.6084, 0.7888, 0.0875])
    model = kubo_sot.RashbaFerromagnet(alpha=0.0349, exchange=0.0152,
                                       magnetization=tuple(m / np.linalg.norm(m)))
    disorder = WhiteNoiseDisorder.from_born_broadening(0.035, model)
    coarse = kubo_sot.linear_response(model, 0.063, disorder, rtol=1e-4,
                                      vertex_corrections=True)
    reference = kubo_sot.linear_response(model, 0.063, disorder, rtol=1e-10,
                                         vertex_corrections=True)
    for name in ("conductivity", "spin_density", "torkance"):
        a, b = getattr(coarse, name), getattr(reference, name)
        assert np.all(np.abs(a.total - b.total) <= a.error + b.error)
        assert np.all(a.error <= 1e-4 * np.max(np.abs(b.total)))


def test_bad_disorder_input():
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    with pytest.raises(ParameterError, match=r"n_i V\^2 = -1.*eV\^2 nm\^2"):
        WhiteNoiseDisorder(-1.0)
    with pytest.raises(ParameterError, match="born broadening = 0 eV"):
        WhiteNoiseDisorder.from_born_broadening(0.0, model)
    with pytest.raises(ParameterError, match="self_consistent"):
        WhiteNoiseDisorder(1e-3, self_consistent="yes")
    disorder = WhiteNoiseDisorder.from_born_broadening(0.01, model)
    with pytest.raises(ParameterError, match="temperature = 300 K.*T = 0 only"):
        kubo_sot.linear_response(model, 0.3, disorder, temperature=300)
    with pytest.raises(ParameterError, match="vertex_corrections = True needs a disorder"):
        kubo_sot.linear_response(model, 0.3, 0.01, vertex_corrections=True)
    with pytest.raises(ParameterError, match="vertex_corrections = 1 must be True or False"):
        kubo_sot.linear_response(model, 0.3, disorder, vertex_corrections=1)
    lattice = kubo_sot.SquareLatticeRashbaFerromagnet.from_continuum(model, 0.1)
    with pytest.raises(ParameterError, match="continuum two-band"):
        kubo_sot.linear_response(lattice, 0.3, disorder)


def test_command_line_white_noise(capsys):
    import json

    from kubo_sot.cli import main
    args = ["response", "--alpha", "0.1", "--exchange", "0.1", "--fermi-energy", "0.3",
            "--broadening", "0.005", "--rtol", "1e-5", "--white-noise"]
    assert main(args + ["--vertex-corrections", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["provenance"]["vertex_corrections"] is True
    assert data["bare"]["provenance"]["vertex_corrections"] is False
    assert data["provenance"]["disorder"]["born_broadening_eV"] == pytest.approx(0.005)
    assert main(args[:-1] + ["--vertex-corrections"]) == 2
    assert "needs a disorder model" in capsys.readouterr().err


@pytest.mark.parametrize("alpha, exchange, mu", [(0.1, 0.1, 0.05), (0.3, 0.05, 0.0),
                                                 (0.02, 0.1, -0.05)])
def test_one_band_field_like_ladder_ratio(alpha, exchange, mu):
    """One band, M along z: t_FL(ladder)/t_FL(bare) = 2(1 + beta^2)/(1 + 3 beta^2) at
    leading order (derivation in validation/formulas.py); the deviation is O(Gamma/Delta)
    and halves with Gamma."""
    from validation.formulas import ladder_field_like_ratio_one_band
    deviations = []
    for gamma0 in (0.001, 0.0005):
        _, r = _response(alpha, exchange, (0, 0, 1), mu, gamma0)
        beta = exchange / np.hypot(exchange, alpha * r.bands.fermi_wavevectors[0])
        ratio = (r.torque_coefficients().field_like
                 / r.bare.torque_coefficients().field_like)
        delta = min(mu + exchange, exchange - mu)  # distance to the band edges -J, +J
        deviations.append(abs(ratio / ladder_field_like_ratio_one_band(beta) - 1))
        assert deviations[-1] <= 3 * gamma0 / delta
    assert deviations[1] <= 0.6 * deviations[0]
