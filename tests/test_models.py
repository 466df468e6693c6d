"""Models: Hermiticity, velocity = dH/dk, eigensystems, band bottom, lattice -> continuum."""

import numpy as np
import pytest
from conftest import PARAMETER_POINTS, point_ids

import kubo_sot
from kubo_sot.constants import HBAR2_OVER_2ME
from kubo_sot.models.base import sampled_ray_breakpoints
from kubo_sot.observables.bands import band_data

MODELS = [
    kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8)),
    kubo_sot.RashbaFerromagnet(alpha=0.3, exchange=0.01, magnetization=(0, 1, 0), mass=0.3),
    kubo_sot.SquareLatticeRashbaFerromagnet(hopping=1.0, lattice_constant=0.4, alpha=0.1,
                                            exchange=0.1, magnetization=(0.48, 0.6, 0.64)),
]
RNG = np.random.default_rng(1)
KX, KY = RNG.uniform(-3, 3, 50), RNG.uniform(-3, 3, 50)


def test_constant_check_value():
    # docs/conventions.md §1: hbar^2 / (2 m_e) = 0.0380998 eV nm^2.
    assert abs(HBAR2_OVER_2ME - 0.0380998) < 1e-7


@pytest.mark.parametrize("model", MODELS)
def test_hamiltonian_hermitian_and_eigensystem(model):
    h = model.hamiltonian(KX, KY)
    assert np.allclose(h, np.conj(np.swapaxes(h, -1, -2)), atol=1e-14)
    e, u = model.eigensystem(KX, KY)
    assert np.all(np.diff(e, axis=-1) >= 0)
    recon = np.einsum("pab,pb,pcb->pac", u, e, np.conj(u))
    assert np.allclose(recon, h, atol=1e-13)
    assert np.allclose(e, np.linalg.eigvalsh(h), atol=1e-13)


@pytest.mark.parametrize("model", MODELS)
def test_velocity_is_derivative_of_hamiltonian(model):
    # Central differences: error ~ h^2 H''' ~ 1e-10 for h = 1e-5 nm^-1.
    h = 1e-5
    v = model.velocity(KX, KY)
    dx = (model.hamiltonian(KX + h, KY) - model.hamiltonian(KX - h, KY)) / (2 * h)
    dy = (model.hamiltonian(KX, KY + h) - model.hamiltonian(KX, KY - h)) / (2 * h)
    assert np.allclose(v[0], dx, atol=1e-8)
    assert np.allclose(v[1], dy, atol=1e-8)


def test_eigensystem_at_band_touching():
    # In-plane M: b(k) = 0 at alpha (k x z) = J M; any basis is an eigenbasis there.
    m = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))
    kx, ky = m.dirac_point()
    e, u = m.eigensystem(np.array([kx]), np.array([ky]))
    assert np.allclose(np.conj(u[0].T) @ u[0], np.eye(2))
    assert abs(e[0, 1] - e[0, 0]) < 1e-15


@pytest.mark.parametrize("model", MODELS)
def test_band_bottom_against_brute_force(model):
    g = np.linspace(-8, 8, 1601)
    kx, ky = np.meshgrid(g, g)
    brute = model.eigensystem(kx, ky)[0][..., 0].min()
    # Grid spacing 0.01 nm^-1: the grid minimum lies above the true one by < ~1e-4 eV.
    assert model.band_bottom() <= brute + 1e-12
    assert brute - model.band_bottom() < 2e-4


def test_band_bottom_closed_form_for_perpendicular_magnetization():
    # M || z: E_- = c k^2 - sqrt(alpha^2 k^2 + J^2), minimum -(alpha^2/4c + J^2 c/alpha^2)
    # when alpha^2 > 2 c J, else -J.
    m = kubo_sot.RashbaFerromagnet(alpha=0.3, exchange=0.05, magnetization=(0, 0, 1))
    c = m.kinetic_coefficient
    assert abs(m.band_bottom() + (0.09 / (4 * c) + 0.0025 * c / 0.09)) < 1e-12
    m = kubo_sot.RashbaFerromagnet(alpha=0.01, exchange=0.05, magnetization=(0, 0, 1))
    assert abs(m.band_bottom() + 0.05) < 1e-14


def test_lattice_reduces_to_continuum_at_small_k():
    cont = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    lat = kubo_sot.SquareLatticeRashbaFerromagnet.from_continuum(cont, 0.01)
    kx, ky = 0.3 * KX / 3, 0.3 * KY / 3  # k a <= 0.003: corrections ~ (k a)^2 ~ 1e-5
    diff = np.max(np.abs(lat.hamiltonian(kx, ky) - cont.hamiltonian(kx, ky)))
    assert diff < 1e-5 * np.max(np.abs(cont.hamiltonian(kx, ky)))


def test_models_are_immutable_and_keyword_only():
    m = MODELS[0]
    with pytest.raises(Exception):
        m.alpha = 0.2
    with pytest.raises(TypeError):
        kubo_sot.RashbaFerromagnet(0.1, 0.1, (0, 0, 1))


def test_quartic_roots_bracketed_against_eigenvalues():
    """The compiled bracketing route of the real quartic roots against the companion-matrix
    eigenvalues, on the crossing and extremum quartics of 2000 rays of three models and on
    20000 random quartics: the same roots to 1e-12 (relative to the largest), except that
    an exact double root is reported once; and two roots 1e-6 apart are both found."""
    pytest.importorskip("numba")
    from kubo_sot.models import quartic
    rows = [np.random.default_rng(7).normal(size=(20000, 5))]
    phi = np.linspace(0.0, 2 * np.pi, 2000)
    for kwargs, mu in POCKETS[:3]:
        model = kubo_sot.RashbaFerromagnet(**kwargs)
        c, a, j = model.kinetic_coefficient, model.alpha, model.exchange
        p = model._ray_projection(phi)
        one = np.ones_like(p)
        rows.append(np.stack([c * c * one, 0 * one, -(2 * c * mu + a * a) * one,
                              2 * a * j * p, (mu**2 - j * j) * one], axis=1))
        rows.append(np.stack([4 * c * c * a * a * one, -8 * c * c * a * j * p,
                              (4 * c * c * j * j - a**4) * one, 2 * a**3 * j * p,
                              -(a * j * p) ** 2], axis=1))
    coefficients = np.concatenate(rows)
    fast = quartic.real_roots_bracketed(coefficients)
    reference = quartic.real_roots_eigenvalues(coefficients)
    scale = np.nanmax(np.abs(reference), axis=1, initial=1e-300)[:, None]
    repeated = np.any(np.diff(reference, axis=1) <= 1e-9 * scale, axis=1)
    same = np.isfinite(fast).sum(axis=1) == np.isfinite(reference).sum(axis=1)
    assert np.all(same | repeated) and same.sum() > 0.99 * same.size
    assert np.array_equal(np.isfinite(fast[same]), np.isfinite(reference[same]))
    deviation = np.abs(np.nan_to_num(fast[same] - reference[same])) / scale[same]
    assert np.max(deviation) <= 1e-12
    close = np.polymul(np.polymul([1, -1], [1, -1 - 1e-6]), [1, 0, 1])
    # (A root pair 1e-6 apart is conditioned to ~ eps / 1e-6.)
    assert np.allclose(quartic.real_roots_bracketed(close[None])[0, :2], [1, 1 + 1e-6],
                       rtol=0, atol=1e-9)


def test_quartic_roots_without_numba(monkeypatch):
    """Without numba the eigenvalue route is used, and the bracketing route still runs (as
    plain Python) with the same roots."""
    import importlib.util
    import sys

    from kubo_sot.models import quartic
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    spec = importlib.util.spec_from_file_location(quartic.__name__, quartic.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    coefficients = np.random.default_rng(3).normal(size=(50, 5))
    reference = quartic.real_roots_eigenvalues(coefficients)
    assert module.njit is None
    assert np.array_equal(module.real_roots(coefficients), reference, equal_nan=True)
    assert np.allclose(module.real_roots_bracketed(coefficients), reference, rtol=1e-12,
                       atol=1e-12, equal_nan=True)


# (model kwargs, mu eV): Fermi pockets that do not enclose k = 0 (in-plane M near the
# Dirac point; strong Rashba near the band bottom; tilted M), and contours that do.
POCKETS = [(dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0)), 0.071),
           (dict(alpha=0.3, exchange=0.01, magnetization=(0, 1, 0)), 0.0),
           (dict(alpha=0.3, exchange=0.05, magnetization=(0.8, 0.0, 0.6)), -0.6),
           (dict(alpha=0.1, exchange=0.2, magnetization=(0.8, 0.0, 0.6)), 0.19),
           (dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0)), 0.3)]


@pytest.mark.parametrize("kwargs, mu", POCKETS)
def test_tangent_directions_are_where_crossings_merge(kwargs, mu):
    """Just beside each closed-form tangent direction, a ray has two Fermi crossings more
    on one side than on the other (they merge on the tangent); elsewhere the number of
    crossings does not change between 2000 rays."""
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    tangents = model.tangent_directions(mu)

    def count(phi):
        return np.sum(np.isfinite(model.fermi_crossings(np.atleast_1d(phi), mu)[0]), axis=1)
    for t in tangents:
        assert abs(int(count(t - 1e-7)[0]) - int(count(t + 1e-7)[0])) == 2
    phi = np.linspace(0.0, 2 * np.pi, 2001)
    changes = np.nonzero(np.diff(count(phi)))[0]
    assert changes.size == tangents.size
    for change in phi[changes]:
        assert np.min(np.abs(change - tangents)) < 2 * np.pi / 2000


@pytest.mark.parametrize("kwargs, mu", POCKETS)
def test_band_data_against_adaptive_quadrature(kwargs, mu):
    """Occupations and mean outer Fermi radii (mapped Gauss panels between the tangent
    directions) against scipy's adaptive quadrature of the same per-ray quantities with
    the tangent directions as break points: 1e-10 relative (the periodic trapezoid rule on
    96 rays was off by up to 1e-2 for the pockets)."""
    from scipy.integrate import quad

    from kubo_sot.observables.bands import _exact_occupied_areas
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    data = band_data(model, mu)
    edges = np.concatenate([[0.0], model.tangent_directions(mu), [2 * np.pi]])

    def integral(n, which):
        def per_ray(phi):
            areas, outer = _exact_occupied_areas(model, mu, np.array([phi]), np.ones(1))
            return (areas, outer * 2 * np.pi)[which][n]
        return sum(quad(per_ray, lo, hi, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
                   for lo, hi in zip(edges[:-1], edges[1:]))
    for n in range(2):
        occupation = integral(n, 0) / (2 * np.pi) ** 2
        k_fermi = integral(n, 1) / (2 * np.pi)
        assert abs(data.occupations[n] - occupation) <= 1e-10 * max(data.occupations)
        assert abs(data.fermi_wavevectors[n] - k_fermi) <= 1e-10 * max(data.fermi_wavevectors)


@pytest.mark.parametrize("point", PARAMETER_POINTS, ids=point_ids())
def test_closed_form_fermi_crossings_against_sampling(point):
    """The quartic-root Fermi crossings of the continuum model against sign changes of
    E_n - mu on 1200 samples refined by bisection (models.base.sampled_ray_breakpoints),
    with their widths Gamma / |dE/dk|; and the band occupations from them against those of
    linear interpolation between 3000 samples, accurate to ~(1/3000)^2."""
    _, kwargs, mu, gamma, _ = point
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    phi = np.linspace(0.05, 2 * np.pi, 17)
    k_max = 1.25 * model._feature_radius(mu, gamma)
    sampled, sampled_widths = sampled_ray_breakpoints(model.band_energies, phi,
                                                      np.full(phi.size, k_max), mu, gamma)
    radii, band, slope = model.fermi_crossings(phi, mu)
    for i in range(phi.size):
        # Crossings are the sampled breakpoints that carry a width.
        expected = np.sort(sampled[i][np.isfinite(sampled_widths[i])])
        found = np.sort(radii[i][np.isfinite(radii[i]) & (radii[i] <= k_max)])
        assert found.size == expected.size
        assert np.allclose(found, expected, rtol=1e-12, atol=1e-12)
        energies = model.band_energies(found * np.cos(phi[i]), found * np.sin(phi[i]))
        which = band[i][np.argsort(radii[i])][:found.size]
        assert np.allclose(energies[np.arange(found.size), which], mu, atol=1e-12)
    inside = np.isfinite(radii) & (radii <= k_max)
    assert np.allclose(np.sort(gamma / np.abs(slope[inside])),
                       np.sort(sampled_widths[np.isfinite(sampled_widths)]), rtol=1e-6)
    exact = band_data(model, mu)

    class Sampled:  # the same bands without fermi_crossings: the sampled route
        n_bands, isotropic = 2, model.isotropic
        band_energies, tail_start = model.band_energies, model.tail_start
        exchange, alpha = model.exchange, model.alpha
    sampled_data = band_data(Sampled(), mu)
    scale = max(exact.occupations)
    assert np.allclose(exact.occupations, sampled_data.occupations, atol=1e-6 * scale)
    assert np.allclose(exact.fermi_wavevectors, sampled_data.fermi_wavevectors,
                       atol=1e-6 * max(exact.fermi_wavevectors))


def test_band_data_is_cached_by_model_and_energy():
    """Equal models at the same mu share one BandData (immutable); another mu or model
    does not."""
    kwargs = dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))
    first = band_data(kubo_sot.RashbaFerromagnet(**kwargs), 0.2)
    assert band_data(kubo_sot.RashbaFerromagnet(**kwargs), 0.2) is first
    assert band_data(kubo_sot.RashbaFerromagnet(**kwargs), 0.25) is not first
    assert band_data(kubo_sot.RashbaFerromagnet(**{**kwargs, "alpha": 0.2}), 0.2) != first
