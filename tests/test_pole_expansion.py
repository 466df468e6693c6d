"""The mu-independent pole expansion of the T = 0 integrand equals
the eigenbasis kernel at every mu, to rounding of the k-point's largest component."""

import numpy as np
import pytest

import kubo_sot
from kubo_sot.kernels.energy_integrals import EnergyIntegrals
from kubo_sot.kernels.kubo_bastin import kubo_bastin_eigenbasis, response_elements
from kubo_sot.kernels.pole_expansion import evaluate_pole_expansion, pole_coefficients


@pytest.mark.parametrize("kwargs", [
    dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1)),
    dict(alpha=0.2, exchange=0.05, magnetization=(0.6, 0, 0.8)),
    dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0))])  # Dirac point at |k| = 4
@pytest.mark.parametrize("gamma", [0.002, 0.03])
def test_pole_expansion_equals_band_pair_weights(kwargs, gamma):
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    kx, ky = np.random.default_rng(0).uniform(-2, 2, (2, 200))
    energies, ops, vel = response_elements(model, kx, ky)
    coefficients = pole_coefficients(energies, np.einsum("Mknm,Mjmn->Mkjnm", ops, vel), gamma)
    # Cancellation between the bands: rounding of |X| / (E_m - E_n)^2 against the values.
    assert np.min(np.abs(np.diff(energies, axis=1))) > 0.1
    for mu in (-0.3, 0.0, 0.17, 0.5):
        reference = kubo_bastin_eigenbasis(energies, ops, vel, gamma, EnergyIntegrals(mu, 0.0))
        for term, ref in zip(("surface_a", "surface_b", "sea"), reference):
            value = evaluate_pole_expansion(coefficients[term], energies, gamma, mu)
            scale = np.max(np.abs(ref), axis=(1, 2), keepdims=True)
            assert np.all(np.abs(value - ref) <= 1e-11 * scale)
