"""The compiled white-noise-disorder kernels (kubo_sot[fast]) against the numpy references.

Per k, the fused loops of :mod:`kubo_sot.kernels.disorder_numba` must return what the numpy
codes return (the 58 components of ``disordered_integrand``, route "eigenbasis", and the 7 of
the Born self-energy integrand) to rounding, with the SCBA self-energy of each point as
input: at random k-points and at the hard ones -- k = 0, the Fermi contours, both sides of
the switch between the closed-form and the near-degenerate series energy integrals, |k| ~
1e3 nm^-1, and q = 0 (w = 0: H + Sigma proportional to 1, handled as the numpy code does).
"""

import importlib.util
import sys

import numpy as np
import pytest
from conftest import PARAMETER_POINTS, worst_block_deviation
from scipy.optimize import brentq

import kubo_sot
from kubo_sot.errors import ParameterError
from kubo_sot.kernels import disorder_numba, kubo_bastin_numba
from kubo_sot.kernels.energy_integrals import (NEAR_DEGENERATE_RATIO, EnergyIntegrals,
                                               pole_pair_integrals)
from kubo_sot.kernels.green import PAULI_BASIS, MatrixSelfEnergy
from kubo_sot.kernels.kubo_bastin import spectral_projectors
from kubo_sot.observables.disordered_response import disordered_integrand
from kubo_sot.observables.packed_integral import _pack
from kubo_sot.observables.self_energy import born_self_energy, self_energy_integrand

# Both codes are exact only to rounding of their summands (see _rounding_scale); they order
# their operations differently, so they agree to ~1e-15 of that scale.
PER_K_ROUNDING = 1e-12
# The blocks of the 58 components: sigma I(a) + I(b), sigma II, chi I(a), chi I(b), chi II,
# ladder matrix, source, current dressing.
BLOCKS = np.split(np.arange(disorder_numba.N_COMPONENTS), [4, 8, 14, 20, 26, 42, 50])
# Relative offsets of the k-points placed on either side of the near-degenerate switch.
SWITCH_OFFSET = 1e-9
RAYS = (0.0, 0.7, 0.5 * np.pi, 4.0)

# (name, model kwargs, mu eV, Born width eV): the T = 0 points of the constant-Gamma tests
# (M along z, x, y, tilted; weak and strong Rashba; mu in the gap and above), here with
# white noise of that Born width and its self-consistent Born self-energy.
POINTS = [p[:4] for p in PARAMETER_POINTS if p[4] == 0.0]
# Scalar Sigma: at the band touching k = (0, 2) nm^-1, H + Sigma = (c k^2 + Sigma_0) 1, so
# w = 0 and q = 0 exactly (bx = 0.1 * 2 - 0.2 is 0 in floating point).
TOUCHING = ("x_touching", dict(alpha=0.1, exchange=0.2, magnetization=(1, 0, 0)), 0.3,
            MatrixSelfEnergy((-0.01j, 0, 0, 0)))
ALL_POINTS = POINTS + [TOUCHING]


@pytest.fixture(scope="module")
def numba_installed():
    """Skips the tests that run the compiled kernels when the extra kubo_sot[fast] is absent."""
    return pytest.importorskip("numba")


@pytest.fixture(scope="module")
def scba():
    """model, mu and SCBA self-energy per point name (computed once per module)."""
    cache = {}

    def get(point):
        name, kwargs, mu, width = point
        if name not in cache:
            model = kubo_sot.RashbaFerromagnet(**kwargs)
            if isinstance(width, MatrixSelfEnergy):
                sigma = width
            else:
                disorder = kubo_sot.WhiteNoiseDisorder.from_born_broadening(width, model.mass)
                sigma = born_self_energy(model, mu, disorder, rtol=1e-6).self_energy
            cache[name] = model, mu, sigma
        return cache[name]
    return get


def _norm(matrices):
    """Frobenius norms of (..., 2, 2) matrices."""
    return np.sqrt(np.sum(np.abs(matrices) ** 2, axis=(-2, -1)))


def _rounding_scale(model, mu, sigma, kx, ky):
    """Rounding scale of each of the 58 components of the numpy reference, (P, 58).

    Tr[X Y] is exact to eps ||X|| ||Y|| (Frobenius norms), so a Kubo-Bastin component
    sum_{n,m} Tr[B P_m V P_n] w_nm is exact to eps times sum_{n,m} ||B|| ||V|| ||P_m||
    ||P_n|| |w_nm| (the projectors of the non-Hermitian H + Sigma are not orthogonal:
    ||P_n|| grows near an exceptional point), and a ladder trace Tr[O G^R P G^A] to eps
    ||O|| ||P|| g^2 with g = sum_n |P_1(z_n)| ||P_n|| (the rounding of G^R = sum_n P_n
    P_1(z_n)).  The values themselves can be far below this: sigma's I(a) + I(b) cancel to
    (Gamma/E)^2 at large k, and symmetry-forbidden components are pure rounding.
    """
    h = model.hamiltonian(kx, ky)
    poles, projectors = spectral_projectors(h + sigma.matrix)
    weights = pole_pair_integrals(poles, EnergyIntegrals(mu, 0.0))
    p_norm = _norm(projectors)  # (P, 2)
    v_norm = _norm(np.moveaxis(model.velocity(kx, ky), 0, 1))  # (P, 2)
    b_norm = np.concatenate([v_norm, np.full((kx.size, 3), np.sqrt(2.0))], axis=1)
    pair = p_norm[:, :, None] * p_norm[:, None, :]
    kubo_bastin = _pack(*(np.einsum("Mk,Mj,M->Mkj", b_norm, v_norm,
                                    np.sum(np.abs(w) * pair, axis=(1, 2))) for w in weights))
    g = np.sum(np.abs(1.0 / (mu - poles)) * p_norm, axis=1)
    left = np.concatenate([v_norm, np.full((kx.size, 4), np.sqrt(2.0))], axis=1)
    traces = np.einsum("Ma,Mb,M->Mab", left, left, g**2)
    return np.concatenate([kubo_bastin, traces[:, 2:, 2:].reshape(-1, 16),
                           traces[:, 2:, :2].reshape(-1, 8), traces[:, :2, 2:].reshape(-1, 8)],
                          axis=1)


def _deviation(model, mu, sigma, kx, ky):
    """max over k-points and blocks of |numba - numpy| / block rounding scale."""
    reference = disordered_integrand(model, mu, sigma, kernel="numpy")(kx, ky)
    fast = disorder_numba.fused_disordered_integrand(model, mu, sigma)(kx, ky)
    assert fast.shape == reference.shape == (kx.size, disorder_numba.N_COMPONENTS)
    assert np.all(np.isfinite(fast))
    # At q = 0 the sea weights vanish (z_m - z_n = 0), and with them the sea's scale.
    return worst_block_deviation(fast, reference, _rounding_scale(model, mu, sigma, kx, ky),
                                 BLOCKS)


def _pole_geometry(model, mu, sigma, k, phi):
    """(excess over the near-degenerate switch, Re z_n - mu) at radii k along the ray phi."""
    h = model.hamiltonian(k * np.cos(phi), k * np.sin(phi))
    poles = spectral_projectors(h + sigma.matrix)[0]
    half_gap = 0.5 * np.abs(poles[:, 1] - poles[:, 0])
    mid = 0.5 * (poles[:, 0] + poles[:, 1])
    return half_gap - NEAR_DEGENERATE_RATIO * np.abs(mu - mid), poles.real - mu


def _roots(function, k):
    """Roots of function(k) (sampled on k) by bisection of its sign changes."""
    f = function(k)
    return [brentq(lambda x: function(np.array([x]))[0], k[i], k[i + 1], xtol=1e-15,
                   rtol=1e-15) for i in np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]]


def _switch_radii(model, mu, sigma, phi):
    """Radii (< 1e3 nm^-1) along the ray phi where the pole pair crosses the switch, with the
    criterion of pole_pair_integrals: |z_+ - z_-| / 2 = NEAR_DEGENERATE_RATIO |mu - c|."""
    k_fermi = np.sqrt(max(mu, 0.0) / model.kinetic_coefficient)
    k = np.concatenate([np.linspace(0.0, 2.0 * k_fermi + 2.0, 4001)[:-1],
                        np.geomspace(2.0 * k_fermi + 2.0, 1e3, 2001)])
    return _roots(lambda x: _pole_geometry(model, mu, sigma, x, phi)[0], k)


def _contour_radii(model, mu, sigma, phi):
    """Radii along the ray phi where Re z_n = mu (the Fermi contours of H + Re Sigma)."""
    k = np.linspace(0.0, 2.0 * np.sqrt((abs(mu) + 1.0) / model.kinetic_coefficient), 4001)
    return [r for n in range(2)
            for r in _roots(lambda x: _pole_geometry(model, mu, sigma, x, phi)[1][:, n], k)]


def _hard_points(model, mu, sigma):
    """k = 0, the band touching if any, the Fermi contours, both sides of every switch and
    |k| = 1e3 on four rays."""
    kx, ky = [0.0], [0.0]
    touching = model.dirac_point()
    if touching is not None:
        kx.append(touching[0])
        ky.append(touching[1])
    for phi in RAYS:
        radii = _contour_radii(model, mu, sigma, phi) + [1e3]
        for k in _switch_radii(model, mu, sigma, phi):
            radii += [k * (1 - SWITCH_OFFSET), k, k * (1 + SWITCH_OFFSET)]
        kx += [r * np.cos(phi) for r in radii]
        ky += [r * np.sin(phi) for r in radii]
    return np.array(kx), np.array(ky)


def _sample(model, mu, sigma, seed):
    """Random k-points over the Fermi region and the log-spaced tail, then the hard ones."""
    rng = np.random.default_rng(seed)
    k_fermi = np.sqrt(max(mu, 0.0) / model.kinetic_coefficient)
    k = np.concatenate([rng.uniform(0.0, 2.0 * k_fermi + 3.0, 3000),
                        10.0 ** rng.uniform(-4.0, 3.5, 1000)])
    phi = rng.uniform(0.0, 2.0 * np.pi, k.size)
    hard_x, hard_y = _hard_points(model, mu, sigma)
    return np.concatenate([k * np.cos(phi), hard_x]), np.concatenate([k * np.sin(phi), hard_y])



@pytest.mark.parametrize("point", ALL_POINTS, ids=[p[0] for p in ALL_POINTS])
def test_disordered_kernel_matches_numpy(numba_installed, scba, point):
    model, mu, sigma = scba(point)
    kx, ky = _sample(model, mu, sigma, 20240618)
    assert _deviation(model, mu, sigma, kx, ky) <= PER_K_ROUNDING


@pytest.mark.parametrize("point", ALL_POINTS, ids=[p[0] for p in ALL_POINTS])
def test_self_energy_kernel_matches_numpy(numba_installed, scba, point):
    """The Born integrand n_i V^2 Tr[s_a G^R] / 2: G^R = D^-1 (D = mu - H - Sigma) is exact
    to eps ||G||^2 ||D|| (backward-stable inversion), the rounding scale per k."""
    model, mu, sigma = scba(point)
    kx, ky = _sample(model, mu, sigma, 20240619)
    strength = 0.0015
    reference = self_energy_integrand(model, mu, sigma.matrix, strength, kernel="numpy")(kx, ky)
    fast = disorder_numba.fused_self_energy_integrand(model, mu, sigma.matrix, strength)(kx, ky)
    assert fast.shape == reference.shape == (kx.size, disorder_numba.N_SELF_ENERGY)
    d = mu * np.eye(2) - model.hamiltonian(kx, ky) - sigma.matrix
    scale = strength * _norm(np.linalg.inv(d)) ** 2 * _norm(d)
    assert np.max(np.abs(fast - reference) / scale[:, None]) <= PER_K_ROUNDING


# The compiled rule and the numpy rule sum the same values in a different order.
RULE_ROUNDING = 1e-13


@pytest.mark.parametrize("point", POINTS[:4], ids=[p[0] for p in POINTS[:4]])
def test_compiled_ray_rules_match_the_numpy_rule(numba_installed, scba, point):
    """The compiled quadrature rule of both disorder kernels (``ray_rule_from_loop``: tail
    map, Jacobian, |integrand| columns, error estimate) against the numpy rule applied to
    the same kernel's values, on the initial intervals of 8 rays and after two refinements:
    the same k-points, values to rounding of the ray integrals of |F|, estimates to 1e-6
    (or that rounding)."""
    from kubo_sot.integrate import kspace
    model, mu, sigma = scba(point)
    phi = np.linspace(0.1, 2 * np.pi, 8, endpoint=False)
    for fused in (disorder_numba.fused_disordered_integrand(model, mu, sigma),
                  disorder_numba.fused_self_energy_integrand(model, mu, sigma.matrix, 0.0015)):
        compiled = kspace._with_magnitude(fused)
        plain = kspace._with_magnitude(lambda kx, ky, f=fused: f(kx, ky))
        assert hasattr(compiled, "ray_rule") and not hasattr(plain, "ray_rule")
        fast = kspace.radial_integrals(model, compiled, phi, mu, sigma.gamma, 0.0,
                                       max_iterations=3)
        slow = kspace.radial_integrals(model, plain, phi, mu, sigma.gamma, 0.0,
                                       max_iterations=3)
        assert fast[2] == slow[2] > 0
        n = slow[0].shape[1] // 2
        scale = np.max(slow[0][:, n:], axis=1, keepdims=True)
        assert np.all(np.abs(fast[0] - slow[0]) <= RULE_ROUNDING * scale)
        # (The compiled rule gives the |F| columns, a scale only, no error estimate.)
        assert np.all(np.abs(fast[1][:, :n] - slow[1][:, :n])
                      <= 1e-6 * slow[1][:, :n] + RULE_ROUNDING * scale)


def test_hard_points_are_hard(scba):
    """The switch points straddle the switch, and the touching point has q = 0 exactly."""
    model, mu, sigma = scba(TOUCHING)
    a = model.hamiltonian(*(np.array([x]) for x in model.dirac_point()))[0] + sigma.matrix
    assert np.all(a == a[0, 0] * np.eye(2))  # w = 0
    model, mu, sigma = scba(next(p for p in POINTS if p[0] == "tilted_mass"))
    radii = _switch_radii(model, mu, sigma, RAYS[1])
    assert radii
    for k in radii:
        excess = _pole_geometry(model, mu, sigma,
                                k * np.array([1 - SWITCH_OFFSET, 1 + SWITCH_OFFSET]), RAYS[1])[0]
        assert np.sign(excess[0]) != np.sign(excess[1])
    assert len(_contour_radii(model, mu, sigma, RAYS[1])) == 2  # both bands cross mu


def test_rounding_scale_is_tight(scba):
    """Where nothing cancels the scale is of the order of the values, so that the comparison
    resolves every block of a tilted-M point near the Fermi contours to 2e-11 relative."""
    model, mu, sigma = scba(next(p for p in POINTS if p[0] == "tilted_mass"))
    kx, ky = np.linspace(0.0, 4.0, 200), np.full(200, 0.3)
    values = disordered_integrand(model, mu, sigma, kernel="numpy")(kx, ky)
    scale = _rounding_scale(model, mu, sigma, kx, ky)
    for block in BLOCKS:
        ratio = np.max(np.abs(values[:, block]), axis=1) / np.max(scale[:, block], axis=1)
        assert np.max(ratio) > 0.05


def test_kernel_choice(numba_installed, scba):
    """"auto" takes the compiled kernels for the continuum model, "numpy" the reference;
    a subclass (which may change H) falls back to numpy, or is refused under "numba"."""
    model, mu, sigma = scba(POINTS[0])
    kx, ky = np.array([0.3, 1.0]), np.array([0.2, -0.5])
    fused = disorder_numba.fused_disordered_integrand(model, mu, sigma)
    assert np.array_equal(disordered_integrand(model, mu, sigma)(kx, ky), fused(kx, ky))
    fused_born = disorder_numba.fused_self_energy_integrand(model, mu, sigma.matrix, 1e-3)
    assert np.array_equal(self_energy_integrand(model, mu, sigma.matrix, 1e-3)(kx, ky),
                          fused_born(kx, ky))

    class Subclass(kubo_sot.RashbaFerromagnet):
        pass

    subclass = Subclass(alpha=model.alpha, exchange=model.exchange,
                        magnetization=model.magnetization)
    assert disorder_numba.fused_disordered_integrand(subclass, mu, sigma) is None
    assert disorder_numba.fused_self_energy_integrand(subclass, mu, sigma.matrix, 1e-3) is None
    assert np.array_equal(disordered_integrand(subclass, mu, sigma)(kx, ky),
                          disordered_integrand(model, mu, sigma, kernel="numpy")(kx, ky))
    with pytest.raises(ParameterError, match=r"kernel = 'numba' needs"):
        disordered_integrand(subclass, mu, sigma, kernel="numba")
    with pytest.raises(ParameterError, match=r"kernel = 'numba' needs"):
        self_energy_integrand(subclass, mu, sigma.matrix, 1e-3, kernel="numba")
    with pytest.raises(ParameterError, match=r"kernel = 'fortran' is not one of"):
        disordered_integrand(model, mu, sigma, kernel="fortran")


def test_module_imports_without_numba(monkeypatch):
    """Without numba the module imports, reports AVAILABLE = False and declines politely."""
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    fresh = {}
    for module in (kubo_bastin_numba, disorder_numba):  # the guard lives in the first
        spec = importlib.util.spec_from_file_location(module.__name__, module.__file__)
        fresh[module] = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, module.__name__, fresh[module])
        spec.loader.exec_module(fresh[module])
    module = fresh[disorder_numba]
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    assert module.AVAILABLE is False
    assert module.fused_disordered_integrand(model, 0.3, TOUCHING[3]) is None
    assert module.fused_self_energy_integrand(model, 0.3, PAULI_BASIS[0], 1e-3) is None
