"""Spectral-density sweep over Fermi energies (observables/spectral_sweep.py) against the
adaptive k-space engine, M along z: monotone bands, the Mexican hat (alpha^2 > 2 c J) and
strong Rashba with a small gap; Fermi energies next to the band edges and the ring minimum."""

import numpy as np
import pytest

import kubo_sot
from kubo_sot.integrate import kspace
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.response import (LAYOUT, _tolerances, angular_average,
                                           response_integrand)
from kubo_sot.observables.spectral_sweep import branches, sweep

CASES = [(dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.005),
         (dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1)), 0.01),
         (dict(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1)), 0.01),
         (dict(alpha=0.05, exchange=0.15, magnetization=(0, 0, -1), mass=0.5), 0.002)]


def _energies(model):
    """Band bottom (the ring of a Mexican hat, or -J), -J, J and a spread up to 0.5 eV."""
    j = model.exchange
    edges = [model.band_bottom() + 1e-4, -j, -j + 3e-4, j - 1e-4, j]
    return np.sort(np.concatenate([edges, np.linspace(-0.1, 0.5, 9)]))


@pytest.mark.parametrize("kwargs, gamma", CASES)
@pytest.mark.parametrize("rtol", [1e-5, 1e-8])
def test_sweep_equals_engine_within_errors(kwargs, gamma, rtol):
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    mus = _energies(model)
    tolerance = _tolerances(rtol, kwargs["exchange"], kwargs["magnetization"])
    estimate, error = sweep(model, mus, gamma, tolerance)
    assert np.all(error <= tolerance(estimate, np.abs(estimate)))
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
    """Mexican hat: the lower band in two s-branches from the ring, the upper in eps."""
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    kinds = [(b.band, b.kind, b.inner) for b in branches(model, 1.0, 6.0)]
    assert kinds == [(1, "eps", True), (0, "sqrt", True), (0, "sqrt", False)]
    weak = kubo_sot.RashbaFerromagnet(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1))
    assert [(b.band, b.kind) for b in branches(weak, 1.0, 6.0)] == [(1, "eps"), (0, "eps")]
