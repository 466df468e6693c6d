"""Spectral-density sweep over Fermi energies (branch spectral-sweep, prototype) against the
adaptive k-space engine at rtol 1e-10, M along z with monotone bands."""

import numpy as np
import pytest

import kubo_sot
from kubo_sot.integrate import kspace
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.response import (LAYOUT, _tolerances, angular_average,
                                           response_integrand)
from kubo_sot.observables.spectral_sweep import sweep


@pytest.mark.parametrize("kwargs, gamma", [
    (dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.005),
    (dict(alpha=0.05, exchange=0.15, magnetization=(0, 0, -1)), 0.002)])
def test_sweep_equals_engine(kwargs, gamma):
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    mus = np.linspace(0.0, 0.5, 21)
    spectral = sweep(model, mus, gamma)
    average = angular_average(model, LAYOUT)
    for mu, row in zip(mus, spectral):
        integrand = response_integrand(model, mu, ConstantBroadening(gamma), 0.0)
        ref = kspace.integrate_kspace(
            model, integrand, mu, gamma,
            _tolerances(1e-10, kwargs["exchange"], kwargs["magnetization"]),
            angular_average=average).estimate
        for group in (slice(0, 8), slice(8, 26)):
            scale = np.max(np.abs(ref[group]))
            assert np.all(np.abs(row[group] - ref[group]) <= 1e-9 * scale)
