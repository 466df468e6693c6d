"""The compiled Rashba kernel (kubo_sot[fast]) against the numpy eigenbasis route, per k.

Both must return the same packed integrand to rounding, at random k-points and at the hard
ones: k = 0, the exact band touching of an in-plane M, both sides of the switch between the
closed-form and the near-degenerate series energy integrals, and |k| ~ 1e3 nm^-1.
"""

import importlib.util
import sys

import numpy as np
import pytest
from conftest import PARAMETER_POINTS, worst_block_deviation
from scipy.optimize import brentq

import kubo_sot
from kubo_sot.constants import BOLTZMANN_EV_PER_K
from kubo_sot.kernels import kubo_bastin_numba
from kubo_sot.kernels.energy_integrals import (NEAR_DEGENERATE_RATIO, EnergyIntegrals,
                                               band_pair_integrals)
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.packed_integral import (_CHI_A, _CHI_B, _CHI_SEA, _SIGMA_SEA,
                                                  _SIGMA_SURFACE, _pack,
                                                  response_integrand)

# The reference is itself exact only to rounding of its summands (see _rounding_scale);
# the two codes order their operations differently, so they agree to ~1e-15 of that scale.
PER_K_ROUNDING = 1e-12
GROUPS = (_SIGMA_SURFACE, _SIGMA_SEA, _CHI_A, _CHI_B, _CHI_SEA)
# Relative offsets of the k-points placed on either side of the near-degenerate switch.
SWITCH_OFFSET = 1e-9

# All parameter points (T = 0 and T = 300 K) and an exact band touching.
KERNEL_POINTS = PARAMETER_POINTS + [
    # alpha k = J M exactly at k = (0, 2) nm^-1: b(k) = 0 in floating point.
    ("x_touching", dict(alpha=0.1, exchange=0.2, magnetization=(1, 0, 0)), 0.3, 0.01, 0.0),
]
T0_POINTS = [p for p in KERNEL_POINTS if p[4] == 0.0]


def _rounding_scale(model, mu, gamma, kx, ky, kt=0.0):
    """Rounding scale of each packed component of the numpy reference, (P, 26).

    A matrix element <n|O|m> is exact to eps ||O|| (operator norm), so a component
    sum_{n,m} B_nm V_mn w_nm is exact to eps times sum_{n,m} ||B|| ||V|| |w_nm|.  The
    packed values themselves can be far below this, so they cannot serve as the scale:
    sigma's I(a) + I(b) cancel to (Gamma/E)^2 at large k, and sigma's Fermi-sea part
    vanishes at every k for in-plane M (Berry curvature ~ M_z), leaving pure rounding.
    """
    energies = model.band_energies(kx, ky)
    weights = band_pair_integrals(energies, gamma, EnergyIntegrals(mu, kt))
    c, alpha = model.kinetic_coefficient, model.alpha
    # ||2 c k_x s_0 - alpha s_y|| = |2 c k_x| + alpha, likewise for v_y; ||s_a|| = 1.
    velocity_norm = np.stack([np.abs(2 * c * kx) + alpha, np.abs(2 * c * ky) + alpha], axis=1)
    operator_norm = np.concatenate([velocity_norm, np.ones((kx.size, 3))], axis=1)
    return _pack(*(np.einsum("Mk,Mj,M->Mkj", operator_norm, velocity_norm,
                             np.abs(w).sum(axis=(1, 2))) for w in weights))


def _deviation(model, mu, gamma, kx, ky, kt=0.0):
    """max over k-points and component groups of |numba - numpy| / group rounding scale."""
    reference = response_integrand(model, mu, ConstantBroadening(gamma), kt,
                                   kernel="numpy")(kx, ky)
    fast = kubo_bastin_numba.fused_integrand(model, mu, gamma, kt)(kx, ky)
    assert fast.shape == reference.shape
    assert np.all(np.isfinite(fast))
    return worst_block_deviation(fast, reference,
                                 _rounding_scale(model, mu, gamma, kx, ky, kt), GROUPS)


def _switch_radii(model, mu, gamma, phi, kt=0.0):
    """Radii (< 1e3 nm^-1) along the ray phi where the band pair crosses the switch.

    Same criterion as band_pair_integrals: |E_+ - E_-| / 2 = NEAR_DEGENERATE_RATIO
    |mu + i pi k_B T - c| with c the midpoint of the two poles.
    """
    def excess(k):
        e = model.band_energies(k * np.cos(phi), k * np.sin(phi))
        mid = 0.5 * (e[..., 0] + e[..., 1])
        return 0.5 * (e[..., 1] - e[..., 0]) - NEAR_DEGENERATE_RATIO * np.hypot(
            mu - mid, gamma + np.pi * kt)

    k_fermi = np.sqrt(max(mu, 0.0) / model.kinetic_coefficient)
    k = np.concatenate([np.linspace(0.0, 2.0 * k_fermi + 2.0, 4001)[:-1],
                        np.geomspace(2.0 * k_fermi + 2.0, 1e3, 2001)])
    f = excess(k)
    return [brentq(excess, k[i], k[i + 1], xtol=1e-15, rtol=1e-15)
            for i in np.nonzero(np.sign(f[:-1]) != np.sign(f[1:]))[0]]


def _hard_points(model, mu, gamma, kt=0.0):
    """k = 0, the band touching if any, both sides of every switch on 4 rays, |k| ~ 1e3."""
    kx, ky = [0.0], [0.0]
    touching = model.dirac_point()
    if touching is not None:
        kx.append(touching[0])
        ky.append(touching[1])
    for phi in (0.0, 0.7, 0.5 * np.pi, 4.0):
        for k in _switch_radii(model, mu, gamma, phi, kt):
            for r in (k * (1 - SWITCH_OFFSET), k, k * (1 + SWITCH_OFFSET)):
                kx.append(r * np.cos(phi))
                ky.append(r * np.sin(phi))
        kx.append(1e3 * np.cos(phi))
        ky.append(1e3 * np.sin(phi))
    return np.array(kx), np.array(ky)


@pytest.fixture(scope="module")
def numba_installed():
    """Skips the tests that run the compiled kernel when the extra kubo_sot[fast] is absent."""
    return pytest.importorskip("numba")


@pytest.mark.parametrize("point", KERNEL_POINTS, ids=[p[0] for p in KERNEL_POINTS])
def test_numba_matches_numpy_route(numba_installed, point):
    _, kwargs, mu, gamma, temperature = point
    kt = BOLTZMANN_EV_PER_K * temperature
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    rng = np.random.default_rng(20240617)
    k_fermi = np.sqrt(max(mu, 0.0) / model.kinetic_coefficient)
    # Uniform over the Fermi region, and log-uniform out to the far tail.
    k = np.concatenate([rng.uniform(0.0, 2.0 * k_fermi + 3.0, 3000),
                        10.0 ** rng.uniform(-4.0, 3.5, 1000)])
    phi = rng.uniform(0.0, 2.0 * np.pi, k.size)
    hard_x, hard_y = _hard_points(model, mu, gamma, kt)
    kx = np.concatenate([k * np.cos(phi), hard_x])
    ky = np.concatenate([k * np.sin(phi), hard_y])
    assert _deviation(model, mu, gamma, kx, ky, kt) <= PER_K_ROUNDING


def test_hard_points_are_hard():
    """The touching point is exactly degenerate and the switch points straddle the switch."""
    _, kwargs, mu, gamma, _ = T0_POINTS[-1]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    e = model.band_energies(*model.dirac_point())
    assert e[0] == e[1]
    radii = _switch_radii(model, mu, gamma, 0.5 * np.pi)
    assert len(radii) == 3  # either side of the touching point at k_y = 2, and the tail
    for k in radii:
        r = k * np.array([1 - SWITCH_OFFSET, 1 + SWITCH_OFFSET])
        e = model.band_energies(np.zeros(2), r)
        mid = 0.5 * (e[:, 0] + e[:, 1])
        near = 0.5 * (e[:, 1] - e[:, 0]) < NEAR_DEGENERATE_RATIO * np.hypot(mu - mid, gamma)
        assert near[0] != near[1]


def test_rounding_scale_is_tight():
    """Where nothing cancels the scale is of the order of the values, so that the comparison
    resolves every group of a tilted-M point near the Fermi contours to 2e-11 relative."""
    _, kwargs, mu, gamma, _ = next(p for p in T0_POINTS if p[0] == "tilted_mass")
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    kx, ky = np.linspace(0.0, 4.0, 200), np.full(200, 0.3)
    values = response_integrand(model, mu, ConstantBroadening(gamma), 0.0,
                                   kernel="numpy")(kx, ky)
    scale = _rounding_scale(model, mu, gamma, kx, ky)
    for group in GROUPS:
        ratio = np.max(np.abs(values[:, group]), axis=1) / np.max(scale[:, group], axis=1)
        assert np.max(ratio) > 0.05


def test_fused_integrand_applies_only_to_the_continuum_model(numba_installed):
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    lattice = kubo_sot.SquareLatticeRashbaFerromagnet.from_continuum(model, 0.1)

    class Subclass(kubo_sot.RashbaFerromagnet):
        pass

    subclass = Subclass(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    assert kubo_bastin_numba.AVAILABLE
    assert kubo_bastin_numba.fused_integrand(lattice, 0.3, 0.01) is None
    assert kubo_bastin_numba.fused_integrand(subclass, 0.3, 0.01) is None
    out = kubo_bastin_numba.fused_integrand(model, 0.3, 0.01)(np.array([0.5]), np.array([0.2]))
    assert out.shape == (1, kubo_bastin_numba.N_COMPONENTS)


def test_module_imports_without_numba(monkeypatch):
    """Without numba the module imports, reports AVAILABLE = False and declines politely."""
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    spec = importlib.util.spec_from_file_location(kubo_bastin_numba.__name__,
                                                  kubo_bastin_numba.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    assert module.AVAILABLE is False
    assert module.fused_integrand(model, 0.3, 0.01) is None
    with pytest.raises(ModuleNotFoundError, match=r"kubo_sot\[fast\]"):
        module.rashba_integrand(0.5, 0.2, 0.0381, 0.1, 0.1, (0, 0, 1), 0.3, 0.01)


@pytest.mark.parametrize("point", T0_POINTS, ids=[p[0] for p in T0_POINTS])
def test_compiled_ray_rule_matches_the_numpy_rule(point):
    """The compiled quadrature rule on radial intervals (tail map, Jacobian, |integrand|
    columns, error estimate inside the kernel) against the numpy rule applied to
    the numpy kernel's values, on the same initial intervals of 8 rays and after two
    refinements: values and error estimates to rounding of the ray integrals of |F|."""
    from kubo_sot.integrate import kspace
    _, kwargs, mu, gamma, _ = point
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    compiled = kspace._with_magnitude(kubo_bastin_numba.fused_integrand(model, mu, gamma))
    reference = kspace._with_magnitude(response_integrand(model, mu, ConstantBroadening(gamma),
                                                          0.0, kernel="numpy"))
    assert hasattr(compiled, "ray_rule") and not hasattr(reference, "ray_rule")
    phi = np.linspace(0.1, 2 * np.pi, 8, endpoint=False)
    fast = kspace.radial_integrals(model, compiled, phi, mu, gamma, 0.0, max_iterations=3)
    slow = kspace.radial_integrals(model, reference, phi, mu, gamma, 0.0, max_iterations=3)
    assert fast[2] == slow[2]  # the same k-points: same intervals refined
    n = kubo_bastin_numba.N_COMPONENTS
    magnitude = slow[0][:, n:]
    # Rounding scale per tensor (a part may vanish identically, e.g. sigma's sea for
    # in-plane M, leaving pure rounding of the other parts' size).
    for group in (slice(0, 8), slice(8, n)):
        scale = np.max(magnitude[:, group], axis=1, keepdims=True)
        assert np.all(np.abs(fast[0][:, group] - slow[0][:, group]) <= PER_K_ROUNDING * scale)
        assert np.all(np.abs(fast[0][:, n:][:, group] - magnitude[:, group])
                      <= PER_K_ROUNDING * scale)
        # Estimates from Legendre coefficients, which are themselves rounding where resolved.
        assert np.all(np.abs(fast[1][:, group] - slow[1][:, group])
                      <= 1e-6 * slow[1][:, group] + PER_K_ROUNDING * scale)


def test_compiled_polygamma_matches_the_numpy_one(numba_installed):
    """The compiled psi^(n) (n = 0, 1, 2 in one pass, and n = 1 .. 23 in one pass, as the
    T > 0 weights need) against
    kernels.polygamma (itself tested against mpmath) on arguments x = 1/2 + (mu - z)/kappa
    with Re x from 0.5 to 60 and |Im x| up to 60, with and without the scale |x|."""
    from kubo_sot.kernels.polygamma import polygamma
    rng = np.random.default_rng(3)
    x = 0.5 + rng.uniform(0.0, 60.0, 200) + 1j * rng.uniform(-60.0, 60.0, 200)
    for scale in (np.ones(x.size), 1.0 / (2j * np.pi * 0.0259) * np.ones(x.size)):
        fast = np.array([kubo_bastin_numba._polygamma_012(v, s) for v, s in zip(x, scale)])
        assert np.allclose(fast[:, 0], polygamma(0, x), rtol=1e-14, atol=0)
        for n in (1, 2):
            assert np.allclose(fast[:, n], scale**n * polygamma(n, x), rtol=1e-13, atol=0), n
    n_max = kubo_bastin_numba._MAX_ORDER
    for scale in (np.ones(x.size), np.abs(x)):
        fast = np.empty((x.size, n_max + 1), complex)
        for v, s, row in zip(x, scale, fast):
            kubo_bastin_numba._polygamma_orders(v, s, n_max, row)
        for n in range(1, n_max + 1):
            assert np.allclose(fast[:, n], polygamma(n, x, scale=scale), rtol=1e-13, atol=0), n
