"""Spectral-density sweep over Fermi energies (observables/spectral_sweep.py) against the
adaptive k-space engine, M along z: monotone bands, the Mexican hat (alpha^2 > 2 c J) and
strong Rashba with a small gap; Fermi energies next to the band edges and the ring minimum."""

import mpmath
import numpy as np
import pytest

from conftest import assert_agree_within_errors, miss_every_second_energy

import kubo_sot
from kubo_sot.integrate import kspace
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.packed_integral import (LAYOUT, _tolerances, angular_average,
                                                  group_scale, response_integrand)
from kubo_sot.observables.spectral_sweep import branches, sweep

CASES = [(dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.005),
         (dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1)), 0.01),
         (dict(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1)), 0.01),
         (dict(alpha=0.05, exchange=0.15, magnetization=(0, 0, -1), mass=0.5), 0.002)]
# A flat band bottom, alpha^2 = 2 c J (1 -+ 1e-6) (c = 0.0381 eV nm^2 / mass): the direct
# root formulas lost 2e-10 of the tensors there, the eps-panels missed the density's peak.
_C = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1),
                                 mass=0.378)._kinetic
CASES += [(dict(alpha=float(np.sqrt(2 * _C * 0.236 * (1 + d))), exchange=0.236,
                magnetization=(0, 0, 1), mass=0.378), 0.003) for d in (-1e-6, 1e-6)]


def _energies(model):
    """Band bottom (the ring of a Mexican hat, or -J), -J, J and a spread up to 0.5 eV."""
    j = model.exchange
    edges = [model.band_bottom() + 1e-4, -j, -j + 3e-4, j - 1e-4, j]
    return np.sort(np.concatenate([edges, np.linspace(-0.1, 0.5, 9)]))


@pytest.mark.parametrize("kwargs, gamma", CASES)
@pytest.mark.parametrize("rtol", [1e-5, 1e-10])
def test_sweep_equals_engine_within_errors(kwargs, gamma, rtol):
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    mus = _energies(model)
    tolerance = _tolerances(rtol, kwargs["exchange"], kwargs["magnetization"])
    swept = sweep(model, mus, gamma, tolerance)
    assert swept.converged.all()
    estimate, error = swept.estimate, swept.error
    average = angular_average(model, LAYOUT)
    for mu, est, err in zip(mus, estimate, error):
        integrand = response_integrand(model, mu, ConstantBroadening(gamma), 0.0)
        ref = kspace.integrate_kspace(
            model, integrand, mu, gamma,
            _tolerances(1e-11, kwargs["exchange"], kwargs["magnetization"]),
            angular_average=average)
        for group in (slice(0, 8), slice(8, 26)):
            scale = np.max(np.abs(ref.estimate[group]))
            assert np.all(np.abs(est[group] - ref.estimate[group])
                          <= err[group] + ref.error[group] + 1e-12 * scale)


def test_branches_cover_both_bands():
    """Mexican hat: the lower band in two s-branches from the ring, the upper in eps; a
    monotone lower band in eps, or in s from its edge when the roots' branch point lies
    just below a flat band bottom (alpha^2 ~ 2 c J)."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    kinds = [(b.band, b.kind, b.inner) for b in branches(model, 1.0, 6.0)]
    assert kinds == [(1, "eps", True), (0, "sqrt", True), (0, "sqrt", False)]
    weak = kubo_sot.RashbaFerromagnet(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1))
    assert [(b.band, b.kind) for b in branches(weak, 1.0, 6.0)] == [(1, "eps"), (0, "eps")]
    flat = kubo_sot.RashbaFerromagnet(alpha=np.sqrt(2 * weak._kinetic * 0.2 * (1 - 1e-6)),
                                      exchange=0.2, magnetization=(0, 0, 1))
    assert [(b.band, b.kind) for b in branches(flat, 1.0, 6.0)] == [(1, "eps"), (0, "sqrt")]


PARTS = ("total", "fermi_surface", "fermi_sea")  # the tensors and their split


def test_arrays_of_fermi_energies_use_the_sweep():
    """linear_response over an array of mu (M along z, one Gamma, T = 0): the sweep's
    results equal the per-point integrals within their error estimates, tensors and their
    Fermi-surface / Fermi-sea split, and the band data to rounding."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    mus = _energies(model)
    swept = kubo_sot.linear_response(model, mus, 0.01, rtol=1e-7)
    for mu, r in zip(mus, swept):
        assert r.provenance["engine"] == "spectral_sweep"
        single = kubo_sot.linear_response(model, mu, 0.01, rtol=1e-9)
        assert_agree_within_errors(r, single, PARTS)
        assert np.allclose(r.bands.occupations, single.bands.occupations, rtol=0, atol=1e-12)
        assert np.allclose(r.bands.fermi_wavevectors, single.bands.fermi_wavevectors,
                           rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["in_plane", "numpy", "few"])
def test_sweep_only_where_it_applies(case):
    kw = dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    mus, options = np.linspace(0.0, 0.3, 8), {}
    if case == "in_plane":
        kw["magnetization"] = (1, 0, 0)
    elif case == "numpy":
        options["kernel"] = "numpy"
    else:
        mus = mus[:3]
    results = kubo_sot.linear_response(kubo_sot.RashbaFerromagnet(**kw), mus, 0.01,
                                       rtol=1e-4, **options)
    assert all("engine" not in r.provenance for r in results)


def test_sweep_groups_by_gamma_at_zero_temperature():
    """A (mu x Gamma) grid: one sweep per Gamma; the points at T > 0 on their own mesh.
    Every result at its place in the grid (compared with the point computed alone)."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    mus = np.linspace(0.0, 0.3, 9)  # 9 and 8 points at T = 0: both >= MIN_POINTS
    gammas = np.array([0.01, 0.03])[:, None]
    temperature = np.zeros((2, 9))
    temperature[1, 5] = 30.0
    results = kubo_sot.linear_response(model, mus, gammas, temperature, rtol=1e-6)
    assert results.shape == (2, 9)
    for (row, col), r in np.ndenumerate(results):
        swept = not (row == 1 and col == 5)
        assert (r.provenance.get("engine") == "spectral_sweep") == swept
        assert r.provenance["fermi_energy_eV"] == mus[col]
        assert r.provenance["broadening_eV"] == gammas[row, 0]
        alone = kubo_sot.linear_response(model, mus[col], gammas[row, 0],
                                         temperature[row, col], rtol=1e-8)
        assert_agree_within_errors(r, alone, PARTS)


def test_energies_the_sweep_misses_are_integrated_per_point(monkeypatch):
    """A mu whose error estimate the sweep leaves above its tolerance (here every second one,
    its estimate inflated) comes from its own k-mesh; the others from the sweep."""
    from kubo_sot.observables import spectral_sweep
    miss_every_second_energy(monkeypatch, spectral_sweep)
    model = kubo_sot.RashbaFerromagnet(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1))
    mus = _energies(model)
    results = kubo_sot.linear_response(model, mus, 0.01, rtol=1e-6)
    engines = [r.provenance.get("engine") for r in results]
    assert engines[::2] == [None] * len(engines[::2])
    assert engines[1::2] == ["spectral_sweep"] * len(engines[1::2])
    for mu, r in zip(mus, results):
        alone = kubo_sot.linear_response(model, mu, 0.01, rtol=1e-9)
        assert_agree_within_errors(r, alone, PARTS)


def test_sweep_reports_its_last_round():
    """With no refinement round allowed the sweep returns its first panels' estimate and an
    error estimate above a tolerance they cannot meet (the caller falls back per point)."""
    from kubo_sot.observables import spectral_sweep
    model = kubo_sot.RashbaFerromagnet(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1))
    tolerance = _tolerances(1e-12, 0.005, (0, 0, 1))
    old = spectral_sweep.MAX_ROUNDS
    try:
        spectral_sweep.MAX_ROUNDS = 0
        swept = sweep(model, _energies(model), 0.01, tolerance)
    finally:
        spectral_sweep.MAX_ROUNDS = old
    assert not swept.converged.all()
    assert np.any(swept.error > tolerance(swept.estimate, swept.magnitude))


def test_energies_below_the_bands():
    """Far below the bands the sea cancels between them to a tiny remainder.  The sweep's
    tolerances are floored by the rounding of its panels' magnitudes, as the engine's by
    Int |integrand|: with |estimate| instead it bisected every panel for 12 rounds (17472
    k-points for these energies, 0.5 GB of panel values at 1000 of them).  It converges
    with few panels and agrees with the engine there."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1))
    mus = np.linspace(-0.5, 1.0, 31)
    tolerance = _tolerances(1e-6, 0.2, (0, 0, 1))
    swept = sweep(model, mus, 0.005, tolerance)
    assert swept.converged.all() and swept.n_kpoints < 1000
    average = angular_average(model, LAYOUT)
    for i in (0, 4):  # 0.3 and 0.1 eV below the lower band's bottom -0.2 eV
        integrand = response_integrand(model, mus[i], ConstantBroadening(0.005), 0.0)
        ref = kspace.integrate_kspace(model, integrand, mus[i], 0.005,
                                      _tolerances(1e-10, 0.2, (0, 0, 1)),
                                      angular_average=average)
        scale = group_scale(ref.estimate)
        assert np.all(np.abs(swept.estimate[i] - ref.estimate)
                      <= swept.error[i] + ref.error + 1e-12 * scale)


def test_thermal_convolution_of_a_known_function():
    """thermal_sweep's trapezoid rule on its grid against mpmath quadrature of the
    convolution Int d eps (-f'(eps - mu)) I_0(eps), for an I_0 with the poles of a
    broadened level, Re and Im of 1 / (eps - E_0 + i Gamma) (the analyticity strip that the
    grid spacing assumes): 1e-10 of the largest value, as the estimated error says."""
    from kubo_sot.integrate.kspace import KSpaceIntegral
    from kubo_sot.observables.spectral_sweep import thermal_grid, thermal_sweep
    gamma, kt, level = 0.01, 0.02, 0.1
    mus = np.linspace(-0.05, 0.3, 12)

    def level_function(eps):
        g = 1.0 / (np.asarray(eps, complex) - level + 1j * gamma)
        return np.stack([g.real, g.imag] * 13, axis=-1)  # (n, 26)

    def sweep_at(grid):
        values = level_function(grid)
        return KSpaceIntegral(values, np.zeros_like(values), np.ones(grid.size, bool),
                              0, np.abs(values))

    grid = thermal_grid(mus, gamma, kt, per_energy=10**6)
    result = thermal_sweep(sweep_at, mus, grid, kt,
                           lambda est, mag: 1e-10 * np.max(np.abs(mag)))
    with mpmath.workdps(30):
        for mu, est, err in zip(mus, result.estimate, result.error):
            def integrand(eps):
                x = (eps - mu) / kt
                return 1 / (kt * 4 * mpmath.cosh(x / 2) ** 2) / (eps - level + 1j * gamma)
            exact = mpmath.quad(integrand, [mu - 40 * kt, level - 5 * gamma, level,
                                            level + 5 * gamma, mu + 40 * kt])
            exact = np.array([float(exact.real), float(exact.imag)] * 13)
            scale = np.max(np.abs(exact))
            assert np.all(np.abs(est - exact) <= 1e-10 * scale)
            assert np.all(np.abs(est - exact) <= err + 1e-13 * scale)
    assert result.converged.all()


@pytest.mark.parametrize("kwargs, gamma, temperature", [
    (dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1)), 0.05, 300.0),
    (dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, -1)), 0.005, 30.0)])
def test_arrays_at_finite_temperature_use_the_sweep(kwargs, gamma, temperature):
    """At T > 0 an array of Fermi energies comes from the T = 0 sweep on a grid convolved
    with -f', and equals the per-point integrals within their error estimates (tensors and
    the Fermi-surface / Fermi-sea split); with Gamma << k T (a grid too fine) the energies
    are integrated one by one."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    # 60 energies: a grid of at most THERMAL_GRID_PER_ENERGY (12) per energy (~700 here)
    mus = np.linspace(-0.05, 0.4, 60)
    swept = kubo_sot.linear_response(model, mus, gamma, temperature=temperature, rtol=1e-7)
    assert all(r.provenance.get("engine") == "spectral_sweep" for r in swept)
    for mu, r in zip(mus[::7], swept[::7]):
        assert r.provenance["temperature_K"] == temperature
        alone = kubo_sot.linear_response(model, mu, gamma, temperature=temperature, rtol=1e-9)
        assert_agree_within_errors(r, alone, PARTS)
    fine = kubo_sot.linear_response(model, mus, 1e-4, temperature=300.0, rtol=1e-4)
    assert all("engine" not in r.provenance for r in fine)
