"""The N-band Kubo-Bastin kernel (issue 17): the compiled ``nband_integrand`` against its
numpy reference ``kubo_bastin_matrices``, both against the explicit Green's-function route,
degenerate and near-degenerate band pairs (mpmath), and the two-band Rashba kernel.
"""

import importlib.util
import sys

import mpmath
import numpy as np
import pytest
from conftest import PER_K_AGREEMENT

import kubo_sot
from kubo_sot.constants import BOLTZMANN_EV_PER_K
from kubo_sot.errors import ParameterError
from kubo_sot.kernels import kubo_bastin_nband_numba as nband
from kubo_sot.kernels.energy_integrals import (NEAR_DEGENERATE_RATIO, EnergyIntegrals,
                                               band_pair_integrals)
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.kernels.kubo_bastin import (kubo_bastin_eigenbasis, kubo_bastin_matrices,
                                          to_eigenbasis)
from kubo_sot.kernels.kubo_bastin_green import kubo_bastin_green
from kubo_sot.observables.packed_integral import (_CHI_A, _CHI_B, _CHI_SEA, _SIGMA_SEA,
                                                  _SIGMA_SURFACE, _pack)

# Compiled vs numpy reference: the same algebra in another order (and another eigh call);
# each output is a sum of N^2 terms B_nm V_mn w_nm, exact to ~N eps of the largest sum of
# their moduli (_rounding_scales), the weights to <= 300 eps where the closed forms cancel
# (at the switch to the series): 1e-12 of that scale leaves a margin of ~10 for N <= 12.
PER_K_ROUNDING = 1e-12
# Pair weights against mpmath, element by element: the closed forms are used only where
# they cancel by less than 1/NEAR_DEGENERATE_RATIO^3 ~ 300 (a loss of 3 digits), the series
# is summed to 1e-18 and the polygamma functions are accurate to ~1e-15.
PAIR_WEIGHT_RTOL = 1e-12
MPMATH_DIGITS = 60  # the closed forms cancel as (splitting / s)^3 >= 1e-30 here
TEMPERATURES = (0.0, 30.0, 300.0)


@pytest.fixture(scope="module")
def numba_installed():
    """Skips the tests that run the compiled kernel when the extra kubo_sot[fast] is absent."""
    return pytest.importorskip("numba")


def _hermitian(rng, *shape):
    a = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return np.ascontiguousarray(0.5 * (a + np.conj(np.swapaxes(a, -1, -2))))


def _unitary(rng, n, count=()):
    q, r = np.linalg.qr(rng.normal(size=count + (n, n)) + 1j * rng.normal(size=count + (n, n)))
    return q * (np.diagonal(r, axis1=-2, axis2=-1) / np.abs(np.diagonal(r, axis1=-2,
                                                                        axis2=-1)))[..., None, :]


def _problem(rng, n, n_k, n_constant=3, n_kpoint=2):
    """Random H (spectrum ~ +-2 sqrt(N)/2 eV), velocities and operators; the full set of
    response operators B = (-V_x, -V_y, constant..., k-point...) for the reference."""
    h = _hermitian(rng, n_k, n, n)
    v = _hermitian(rng, n_k, 2, n, n)
    constant = _hermitian(rng, n_constant, n, n)
    kpoint = _hermitian(rng, n_k, n_kpoint, n, n)
    operators = np.concatenate(
        [-v, np.broadcast_to(constant, (n_k,) + constant.shape), kpoint], axis=1)
    return h, v, constant, kpoint, operators


def _relative_deviation(results, references, scales=None):
    """max over the three parts of max |result - reference| / scale, the scale of a part
    being max |reference| unless given."""
    if scales is None:
        scales = [np.max(np.abs(b)) for b in references]
    return max(float(np.max(np.abs(a - b)) / scale)
               for a, b, scale in zip(results, references, scales))


def _rounding_scales(h, v, operators, gamma, integrals):
    """Per part, max over (k-point, operator, direction) of sum_nm |B_nm V_mn w_nm|: the
    size of the terms of each sum, to which its rounding is relative.  With mu far outside
    the spectrum the sums cancel (e.g. the Fermi sea below all bands), so max |reference|
    would be a scale far below the rounding of either code."""
    energies, vectors = np.linalg.eigh(h)
    b = np.abs(to_eigenbasis(operators, vectors))
    vel = np.abs(to_eigenbasis(v, vectors))
    return [float(np.max(np.einsum("pknm,pjmn,pnm->pkj", b, vel, np.abs(w))))
            for w in band_pair_integrals(energies, gamma, integrals)]


@pytest.mark.parametrize("n", [2, 4, 6, 8, 12])
@pytest.mark.parametrize("temperature", TEMPERATURES)
@pytest.mark.parametrize("gamma", [1e-3, 0.02, 0.1])
@pytest.mark.parametrize("where", ["inside", "below", "above"])
def test_compiled_matches_reference(numba_installed, monkeypatch, n, temperature, gamma,
                                    where):
    """Random Hermitian H, V, operators; mu inside the spectrum or 3 eV outside it; both
    code paths of the compiled kernel (explicit loops, BLAS)."""
    rng = np.random.default_rng(17 + n)
    h, v, constant, kpoint, operators = _problem(rng, n, 40)
    e = np.linalg.eigvalsh(h)
    mu = {"inside": 0.3, "below": e.min() - 3.0, "above": e.max() + 3.0}[where]
    kt = BOLTZMANN_EV_PER_K * temperature
    integrals = EnergyIntegrals(mu, kt)
    reference = kubo_bastin_matrices(h, v, operators, gamma, integrals)
    scales = _rounding_scales(h, v, operators, gamma, integrals)
    # At T > 0 the RA weight is the difference quotient (P_1(z_m) - conj P_1(z_n)) /
    # (z_m - conj z_n) of energy_integrals (both codes): on the diagonal -Im P_1 / Gamma, where
    # |Im P_1| ~ Gamma / |mu - E|^2 against |P_1| ~ 1 / |mu - E|, so P_1's rounding is
    # amplified by |mu - E| / Gamma (up to ~6e3 here with mu 3 eV outside the spectrum and
    # Gamma = 1e-3 eV): surface (a) is compared to that many roundings (4 eps each) more.
    conditioning = np.max(np.abs(mu - e)) / gamma if kt > 0 else 0.0
    tolerances = (PER_K_ROUNDING + 4 * np.finfo(float).eps * conditioning, PER_K_ROUNDING,
                  PER_K_ROUNDING)
    for blas_min_bands in (1, 10**6):
        monkeypatch.setattr(nband, "BLAS_MIN_BANDS", blas_min_bands)
        out = nband.nband_integrand(h, v, constant, kpoint, mu, gamma, kt)
        assert all(x.shape == (40, 7, 2) for x in out)
        for part, ref, scale, tolerance in zip(out, reference, scales, tolerances):
            assert np.max(np.abs(part - ref)) <= tolerance * scale


@pytest.mark.parametrize("n", [4, 8, 12])
def test_sparse_constant_operators(numba_installed, monkeypatch, n):
    """Spin matrices s_a x 1 and a diagonal operator (sparse: multiplied by U through their
    nonzeros) give the reference's numbers on both code paths."""
    from kubo_sot.models.base import PAULI
    rng = np.random.default_rng(23)
    h, v, _, kpoint, _ = _problem(rng, n, 20)
    constant = np.concatenate([np.kron(PAULI, np.eye(n // 2)),
                               np.diag(rng.normal(size=n))[None]]).astype(complex)
    operators = np.concatenate(
        [-v, np.broadcast_to(constant, (20,) + constant.shape), kpoint], axis=1)
    integrals = EnergyIntegrals(0.2, BOLTZMANN_EV_PER_K * 300.0)
    reference = kubo_bastin_matrices(h, v, operators, 0.02, integrals)
    scales = _rounding_scales(h, v, operators, 0.02, integrals)
    for blas_min_bands in (1, 10**6):
        monkeypatch.setattr(nband, "BLAS_MIN_BANDS", blas_min_bands)
        out = nband.nband_integrand(h, v, constant, kpoint, 0.2, 0.02, integrals.kt)
        assert _relative_deviation(out, reference, scales) <= PER_K_ROUNDING


@pytest.mark.parametrize("n_constant, n_kpoint", [(0, 0), (3, 0), (0, 1)])
def test_operator_counts(numba_installed, n_constant, n_kpoint):
    """K1 = 0 and K2 = 0 (None) are allowed; K = 2 + K1 + K2 outputs in order."""
    rng = np.random.default_rng(3)
    h, v, constant, kpoint, operators = _problem(rng, 4, 10, n_constant, n_kpoint)
    reference = kubo_bastin_matrices(h, v, operators, 0.02, EnergyIntegrals(0.1, 0.0))
    out = nband.nband_integrand(h, v, constant, kpoint if n_kpoint else None, 0.1, 0.02)
    assert out[0].shape == (10, 2 + n_constant + n_kpoint, 2)
    assert _relative_deviation(out, reference) <= PER_K_ROUNDING


# The explicit Green's-function route integrates in energy with quad_vec at epsrel 1e-12
# (max norm over all outputs; at T > 0 surface (a) on Gauss-Legendre panels whose two orders
# must agree to 1e-9, else it warns, and warnings are errors), so each of its outputs is
# accurate to ~1e-12 of the largest; PER_K_AGREEMENT = 1e-10 leaves a margin of 100 for
# quad_vec's error estimate being an estimate (measured here: <= 1e-12).
@pytest.mark.parametrize("n", [4, 6])
@pytest.mark.parametrize("temperature", [0.0, 300.0])
def test_reference_and_compiled_match_green_route(numba_installed, n, temperature):
    rng = np.random.default_rng(40 + n)
    h, v, constant, kpoint, operators = _problem(rng, n, 5, n_constant=2, n_kpoint=1)
    mu, gamma, kt = 0.3, 0.05, BOLTZMANN_EV_PER_K * temperature
    check = kubo_bastin_green(h, v, operators, mu, ConstantBroadening(gamma), kt)
    reference = kubo_bastin_matrices(h, v, operators, gamma, EnergyIntegrals(mu, kt))
    compiled = nband.nband_integrand(h, v, constant, kpoint, mu, gamma, kt)
    assert _relative_deviation(reference, check) <= PER_K_AGREEMENT
    assert _relative_deviation(compiled, check) <= PER_K_AGREEMENT


# --- degenerate and near-degenerate band pairs ------------------------------------------

def _mp_pair_weights(energies, mu, gamma, kt):
    """(ra, rr, sea)[n, m] of energy_integrals.band_pair_integrals in mpmath, from the closed
    forms (their cancellation is harmless at MPMATH_DIGITS); the diagonal from its limit
    P_2(z_n) (rr) and 0 (sea)."""
    with mpmath.workdps(MPMATH_DIGITS):
        mu, kt = mpmath.mpf(mu), mpmath.mpf(kt)
        z = [mpmath.mpc(float(e), -gamma) for e in energies]
        kappa = 2j * mpmath.pi * kt

        def power(p, c):  # P_p(c)
            if kt == 0:
                return (mu - c) ** (-p)
            x = 0.5 + (mu - c) / kappa
            return (-1) ** (p - 1) * mpmath.psi(p, x) / (mpmath.factorial(p - 1) * kappa**p)

        def log_difference(a, b):
            if kt == 0:
                return mpmath.log(mu - a) - mpmath.log(mu - b)
            return mpmath.psi(0, 0.5 + (mu - a) / kappa) - mpmath.psi(0, 0.5 + (mu - b) / kappa)

        n = len(z)
        ra, rr, sea = (np.zeros((n, n), complex) for _ in range(3))
        for i in range(n):
            for m in range(n):
                a, b = z[m], z[i]
                pa, pb = power(1, a), power(1, b)
                ra[i, m] = complex(pa * mpmath.conj(pb) if kt == 0
                                   else (pa - mpmath.conj(pb)) / (a - mpmath.conj(b)))
                if i == m:
                    rr[i, m] = complex(power(2, a))
                    continue
                d = a - b
                rr[i, m] = complex((pa - pb) / d)
                sea[i, m] = complex((-pa - pb - 2 * log_difference(a, b) / d) / d)
    return ra, rr, sea


def _switch_splitting(mu, gamma, kt, center):
    """The splitting 2 |delta| at which a pair centred on ``center`` changes to the series."""
    return 2.0 * NEAR_DEGENERATE_RATIO * abs(complex(mu - center, gamma + np.pi * kt))


def _compiled_pair_weights(energies, mu, gamma, kt):
    n = energies.size
    work = [np.empty(n, complex) for _ in range(3)]
    weights = [np.empty((n, n), complex) for _ in range(3)]
    nband._band_pair_weights(np.asarray(energies, float), mu, gamma, kt, *work, *weights)
    return weights


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_near_degenerate_pair_weights_against_mpmath(numba_installed, temperature):
    """Band pair (0, 1) split by 1e-9 .. 1e-3 Gamma and on both sides of the switch to the
    series (1e-9 relative either side): compiled and numpy weights equal mpmath, element by
    element, hence continuous across the switch."""
    mu, gamma, kt = 0.3, 0.02, BOLTZMANN_EV_PER_K * temperature
    center = 0.31
    switch = _switch_splitting(mu, gamma, kt, center)
    splittings = [gamma * r for r in (1e-9, 1e-7, 1e-5, 1e-3)] + [
        switch * (1 - 1e-9), switch * (1 + 1e-9), 3.0 * switch]
    for split in splittings:
        energies = np.array([center - 0.5 * split, center + 0.5 * split, -0.4, 1.2])
        expected = _mp_pair_weights(energies, mu, gamma, kt)
        numpy_weights = band_pair_integrals(energies, gamma, EnergyIntegrals(mu, kt))
        for weights in (numpy_weights, _compiled_pair_weights(energies, mu, gamma, kt)):
            for w, x in zip(weights, expected):
                off = x != 0  # the sea's diagonal is 0 in every route
                assert np.all(np.abs(w[~off]) == 0.0)
                assert np.max(np.abs(w[off] - x[off]) / np.abs(x[off])) <= PAIR_WEIGHT_RTOL, \
                    (split / gamma, temperature)


def _degenerate_problem(rng, energies, n_k=6):
    """H = U diag(E) U^dagger with exactly given (possibly repeated) E, random U and
    operators; returns H, U, V, constant, k-point operators, the full B."""
    n = energies.size
    u = _unitary(rng, n, (n_k,))
    h = np.einsum("pab,b,pcb->pac", u, energies, np.conj(u))
    h = np.ascontiguousarray(0.5 * (h + np.conj(np.swapaxes(h, 1, 2))))
    _, v, constant, kpoint, operators = _problem(rng, n, n_k)
    return h, u, v, constant, kpoint, operators


@pytest.mark.parametrize("temperature", [0.0, 300.0])
def test_degenerate_bands_basis_independent(numba_installed, temperature):
    """Exactly repeated eigenvalues (a Kramers-like doublet at mu, a triplet, a doublet):
    the result does not depend on the basis inside each degenerate subspace, and compiled
    and numpy (whose eigh picks their own bases there) give it."""
    rng = np.random.default_rng(5)
    energies = np.array([-0.7, 0.28, 0.28, 0.9, 0.9, 0.9, 1.6, 1.6])
    mu, gamma, kt = 0.3, 0.02, BOLTZMANN_EV_PER_K * temperature
    h, u, v, constant, kpoint, operators = _degenerate_problem(rng, energies)
    integrals = EnergyIntegrals(mu, kt)
    n_k = h.shape[0]
    results = []
    for trial in range(3):
        rotation = np.zeros((n_k, 8, 8), complex)
        rotation[:, 0, 0] = 1.0
        for block in (slice(1, 3), slice(3, 6), slice(6, 8)):
            size = block.stop - block.start
            rotation[:, block, block] = (np.eye(size) if trial == 0
                                         else _unitary(rng, size, (n_k,)))
        vectors = u @ rotation
        results.append(kubo_bastin_eigenbasis(
            np.broadcast_to(energies, (n_k, 8)), to_eigenbasis(operators, vectors),
            to_eigenbasis(v, vectors), gamma, integrals))
    for other in results[1:] + [kubo_bastin_matrices(h, v, operators, gamma, integrals),
                                nband.nband_integrand(h, v, constant, kpoint, mu, gamma,
                                                      kt)]:
        assert _relative_deviation(other, results[0]) <= PER_K_ROUNDING


def test_results_continuous_down_to_degeneracy(numba_installed):
    """Splitting a doublet at mu by s = r Gamma, r = 1e-9 .. 1e-3 (series side), moves the
    result from the degenerate one linearly in r: the weights are analytic in the band
    energies with relative derivative <= 4 / Gamma (P_p ~ (mu - z)^-p, p <= 4); the
    doublet's own sea weight grows from 0 as s / (3 Gamma^3), i.e. by r |E - mu| / (3 Gamma)
    <= 14 r relative to the sea weights ~ 1 / (Gamma |E - mu|) of the pairs with the other
    bands (|E - mu| <= 0.9 eV).  The eigenvectors (fixed U) enter only through weight
    differences.  Bound: 50 r (the estimate 4 + 14, times ~3 for the random elements)."""
    rng = np.random.default_rng(9)
    mu, gamma = 0.3, 0.02
    base = np.array([-0.6, 0.3, 0.3, 1.1])
    h0, u, v, constant, kpoint, operators = _degenerate_problem(rng, base)
    degenerate = nband.nband_integrand(h0, v, constant, kpoint, mu, gamma)
    for ratio in (1e-9, 1e-7, 1e-5, 1e-3):
        energies = base + np.array([0.0, -0.5, 0.5, 0.0]) * ratio * gamma
        h = np.einsum("pab,b,pcb->pac", u, energies, np.conj(u))
        h = np.ascontiguousarray(0.5 * (h + np.conj(np.swapaxes(h, 1, 2))))
        split = nband.nband_integrand(h, v, constant, kpoint, mu, gamma)
        # + 1e-13 for rounding (eigenvalues of H to eps ||H||, weights ~ 1 / Gamma).
        assert _relative_deviation(split, degenerate) <= 50.0 * ratio + 1e-13
        assert _relative_deviation(
            split, kubo_bastin_matrices(h, v, operators, gamma, EnergyIntegrals(mu, 0.0))
        ) <= PER_K_ROUNDING


# --- the two-band continuum Rashba model: equal to the verified two-band kernel ---------

RASHBA_POINTS = [
    # (model kwargs, mu eV, Gamma eV, T K)
    (dict(alpha=0.1, exchange=0.1, magnetization=(0.6, 0.0, 0.8)), 0.3, 0.005, 0.0),
    (dict(alpha=0.3, exchange=0.02, magnetization=(0.0, 0.0, 1.0)), 0.05, 0.01, 300.0),
    # alpha k = J M exactly at k = (0, 2) nm^-1: an exact band touching (b = 0).
    (dict(alpha=0.1, exchange=0.2, magnetization=(1.0, 0.0, 0.0)), 0.3, 0.01, 0.0),
    (dict(alpha=0.1, exchange=0.2, magnetization=(1.0, 0.0, 0.0)), 0.3, 0.01, 30.0),
]


@pytest.mark.parametrize("point", RASHBA_POINTS)
def test_two_band_rashba_equals_two_band_kernel(numba_installed, point):
    """Fed the continuum Rashba model's H and hbar v (and its spin operators), the N-band
    kernel packs (observables.packed_integral._pack) into the two-band kernel's integrand."""
    from kubo_sot.kernels.kubo_bastin_numba import rashba_integrand
    kwargs, mu, gamma, temperature = point
    kt = BOLTZMANN_EV_PER_K * temperature
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    rng = np.random.default_rng(11)
    k_fermi = np.sqrt(max(mu, 0.05) / model.kinetic_coefficient)
    k = rng.uniform(0.0, 2.0 * k_fermi + 3.0, 400)
    phi = rng.uniform(0.0, 2.0 * np.pi, k.size)
    kx, ky = np.append(k * np.cos(phi), [0.0, 0.0]), np.append(k * np.sin(phi), [0.0, 2.0])
    h = model.hamiltonian(kx, ky)
    v = np.moveaxis(model.velocity(kx, ky), 0, 1)
    packed = _pack(*nband.nband_integrand(h, v, model.spin_operators(), None, mu, gamma, kt))
    two_band = rashba_integrand(kx, ky, model.kinetic_coefficient, model.alpha,
                                model.exchange, model.magnetization, mu, gamma, kt)
    # Each part relative to the largest element of its tensor (sigma's Fermi sea vanishes
    # identically for in-plane M and is rounding in both kernels).
    for parts in ((_SIGMA_SURFACE, _SIGMA_SEA), (_CHI_A, _CHI_B, _CHI_SEA)):
        scale = max(np.max(np.abs(two_band[:, g])) for g in parts)
        for g in parts:
            assert np.max(np.abs(packed[:, g] - two_band[:, g])) <= PER_K_ROUNDING * scale


# --- input checks and the path without numba ---------------------------------------------

def test_bad_input_is_refused():
    rng = np.random.default_rng(2)
    h, v, constant, kpoint, _ = _problem(rng, 4, 3)
    call = nband.nband_integrand
    bad_h = h.copy()
    bad_h[1, 0, 1] += 1e-3
    with pytest.raises(ParameterError, match=r"hamiltonians\[1\] is not Hermitian"):
        call(bad_h, v, constant, kpoint, 0.1, 0.01)
    with pytest.raises(ParameterError, match=r"velocities has shape \(3, 2, 4, 3\)"):
        call(h, v[..., :3], constant, kpoint, 0.1, 0.01)
    with pytest.raises(ParameterError, match="constant_operators has shape"):
        call(h, v, constant[:, :2], kpoint, 0.1, 0.01)
    with pytest.raises(ParameterError, match="kpoint_operators has shape"):
        call(h, v, constant, kpoint[:2], 0.1, 0.01)
    nan_v = v.copy()
    nan_v[2, 1, 0, 0] = np.nan
    with pytest.raises(ParameterError, match=r"velocities must be finite.*\(2, 1, 0, 0\)"):
        call(h, nan_v, constant, kpoint, 0.1, 0.01)
    with pytest.raises(ParameterError, match="gamma = 0 eV is outside"):
        call(h, v, constant, kpoint, 0.1, 0.0)
    with pytest.raises(ParameterError, match="thermal_energy = -0.01 eV"):
        call(h, v, constant, kpoint, 0.1, 0.01, -0.01)
    with pytest.raises(ParameterError, match="fermi_energy"):
        call(h, v, constant, kpoint, np.inf, 0.01)


def test_module_imports_without_numba(monkeypatch):
    """Without numba the module imports, applies() is False, and the kernel raises
    ModuleNotFoundError naming the extra and the numpy reference (after the input checks)."""
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    spec = importlib.util.spec_from_file_location(nband.__name__, nband.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.applies() is False
    rng = np.random.default_rng(1)
    h, v, constant, kpoint, _ = _problem(rng, 2, 2)
    with pytest.raises(ModuleNotFoundError, match=r"kubo_sot\[fast\].*kubo_bastin_matrices"):
        module.nband_integrand(h, v, constant, kpoint, 0.1, 0.01)
    with pytest.raises(ParameterError):
        module.nband_integrand(h, v, constant, kpoint, 0.1, -1.0)


def test_real_and_strided_input(numba_installed):
    """Real symmetric H and velocities given as a strided view (as np.moveaxis of a model's
    (2, P, N, N) velocity) are converted, not misread."""
    rng = np.random.default_rng(31)
    h, v, constant, kpoint, _ = _problem(rng, 6, 8)
    h_real = np.ascontiguousarray(h.real)
    v_strided = np.moveaxis(np.ascontiguousarray(np.moveaxis(v, 1, 0)), 0, 1)
    assert not v_strided.flags.c_contiguous
    operators = np.concatenate(
        [-v, np.broadcast_to(constant, (8,) + constant.shape), kpoint], axis=1)
    integrals = EnergyIntegrals(0.1, 0.0)
    reference = kubo_bastin_matrices(h_real, v, operators, 0.03, integrals)
    out = nband.nband_integrand(h_real, v_strided, constant, kpoint, 0.1, 0.03)
    assert _relative_deviation(out, reference,
                               _rounding_scales(h_real, v, operators, 0.03, integrals)
                               ) <= PER_K_ROUNDING
