"""TightBindingModel: input checks, Hermiticity, velocity = dH/dk in the position-aware gauge,
periodicity, torque operators, value semantics, and the lattice builders (square Rashba =
SquareLatticeRashbaFerromagnet, honeycomb Kane-Mele ferromagnet, supercell folding)."""

import dataclasses
import pickle

import numpy as np
import pytest

import kubo_sot
from kubo_sot.errors import ParameterError
from kubo_sot.models.base import PAULI, spin_matrices
from kubo_sot.models.lattices import (honeycomb_kane_mele_ferromagnet, honeycomb_valleys,
                                      square_rashba_ferromagnet, supercell)
from kubo_sot.models.tight_binding import TightBindingModel

# Exact identities (same floating-point operations up to reordering): a few ulp of max |H|.
EXACT = 1e-12
RNG = np.random.default_rng(7)
OBLIQUE = np.array([[0.31, 0.04], [0.12, 0.27]])  # nm, 65 degrees between a1 and a2


def random_model(n=4, seed=3, positions=True, exchange="dict"):
    """A random Hermitian model on an oblique cell with orbitals off the origin."""
    rng = np.random.default_rng(seed)
    hop = {}
    for key in [(0, 0), (1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2)]:
        m = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        if key == (0, 0):
            hop[key] = m + m.conj().T
        else:
            hop[key], hop[(-key[0], -key[1])] = m, m.conj().T
    x = None
    if exchange == "dict":
        x0 = rng.normal(size=(3, n, n)) + 1j * rng.normal(size=(3, n, n))
        x1 = 0.3 * (rng.normal(size=(3, n, n)) + 1j * rng.normal(size=(3, n, n)))
        x = {(0, 0): x0 + np.conj(np.swapaxes(x0, 1, 2)), (1, 0): x1,
             (-1, 0): np.conj(np.swapaxes(x1, 1, 2))}
    tau = rng.uniform(-0.2, 0.2, (n, 2)) if positions else None
    return TightBindingModel(lattice_vectors=OBLIQUE, hoppings=hop, spin_operators="blocks",
                             orbital_positions=tau, exchange=x, magnetization=(0.36, 0.48, 0.8))


def square_hoppings(t=1.0):
    s0 = np.eye(2)
    return {(0, 0): 4 * t * s0, (1, 0): -t * s0, (-1, 0): -t * s0, (0, 1): -t * s0,
            (0, -1): -t * s0}


def square_kwargs(**changes):
    kw = dict(lattice_vectors=[[0.4, 0.0], [0.0, 0.4]], hoppings=square_hoppings(),
              spin_operators="interleaved", exchange=0.2, magnetization=(0, 0, 1))
    kw.update(changes)
    return kw


# --- input checks: one test per error, the parameter named in the message ----------------

BAD_INPUTS = [
    ("lattice_vectors", dict(lattice_vectors=[[0.4, 0.0, 0.0], [0.0, 0.4, 0.0]])),
    ("lattice_vectors", dict(lattice_vectors=[[0.4, 0.0], [0.0, np.nan]])),
    ("lattice_vectors", dict(lattice_vectors=[[0.4, 0.0], [0.8, 0.0]])),
    ("lattice_vectors", dict(lattice_vectors="square")),
    ("lattice_vectors", dict(lattice_vectors=[[0.4, 0.0], [0.0, 0.4 + 0.1j]])),
    ("hoppings", dict(hoppings={})),
    ("hoppings", dict(hoppings=[np.eye(2)])),
    ("hoppings", dict(hoppings={(0.5, 0): np.eye(2)})),
    ("hoppings", dict(hoppings={(0, 0, 0): np.eye(2)})),
    ("hoppings", dict(hoppings={(0, 0): np.ones((2, 3))})),
    ("hoppings", dict(hoppings={(0, 0): np.eye(2), (1, 0): np.eye(4), (-1, 0): np.eye(4)})),
    ("hoppings", dict(hoppings={(0, 0): np.array([[0, np.inf], [np.inf, 0]])})),
    ("hoppings", dict(hoppings={(0, 0): np.eye(2), (1, 0): np.eye(2)})),  # no -R
    ("hoppings", dict(hoppings={(0, 0): np.array([[0, 1], [0, 0]])})),  # h(0) not Hermitian
    ("hoppings", dict(hoppings={(0, 0): np.eye(2), (1, 0): 1j * np.eye(2),
                                (-1, 0): 1j * np.eye(2)})),  # h(-R) != h(R)^dagger
    ("spin_operators", dict(spin_operators="spinor")),
    ("spin_operators", dict(spin_operators=PAULI[:2])),
    ("spin_operators", dict(spin_operators=np.stack([PAULI[0], PAULI[1], 1j * PAULI[2]]))),
    ("spin_operators", dict(spin_operators="interleaved",
                            hoppings={(0, 0): np.eye(3)}, exchange=None)),
    ("orbital_positions", dict(orbital_positions=np.zeros((3, 2)))),
    ("orbital_positions", dict(orbital_positions=[[0, 0], [0, np.nan]])),
    ("orbital_positions", dict(orbital_positions=[[0, 0], [0, 1j]])),
    ("exchange", dict(exchange="strong")),
    ("exchange", dict(exchange=np.inf)),
    ("exchange", dict(exchange={(0, 0): np.zeros((2, 2, 2))})),
    ("exchange", dict(exchange={(1, 0): np.stack([PAULI[0]] * 3)})),  # no -R partner
    ("exchange", dict(exchange={(0, 0): np.stack([PAULI[0], PAULI[1], 1j * PAULI[2]])})),
    ("magnetization", dict(magnetization=(0, 0, 2))),
    ("magnetization", dict(magnetization=(0, 1))),
]


@pytest.mark.parametrize("name, change", BAD_INPUTS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_INPUTS)])
def test_bad_input_names_the_parameter(name, change):
    with pytest.raises(ParameterError, match=name):
        TightBindingModel(**square_kwargs(**change))


def test_non_hermitian_message_names_worst_r_and_deviation():
    hop = square_hoppings()
    hop[(0, 1)] = hop[(0, 1)] + 1e-3 * np.array([[0, 1], [0, 0]])
    with pytest.raises(ParameterError, match=r"R = \((0, 1|0, -1)\).*1\.000e-03"):
        TightBindingModel(**square_kwargs(hoppings=hop))


def test_hermiticity_tolerance_is_relative():
    # 1e-12 relative to max |h| is accepted, 1e-8 is not.
    for eps, ok in ((1e-12, True), (1e-8, False)):
        hop = {k: 1e3 * v for k, v in square_hoppings().items()}
        hop[(1, 0)] = hop[(1, 0)] + 4e3 * eps * np.array([[0, 1], [0, 0]])
        if ok:
            TightBindingModel(**square_kwargs(hoppings=hop))
        else:
            with pytest.raises(ParameterError, match="hoppings"):
                TightBindingModel(**square_kwargs(hoppings=hop))


def test_arrays_are_read_only_and_inputs_copied():
    hop = square_hoppings()
    model = TightBindingModel(**square_kwargs(hoppings=hop))
    hop[(0, 0)][0, 0] = 99.0
    assert model.hoppings[(0, 0)][0, 0] == 4.0
    for array in (model.lattice_vectors, model.hoppings[(0, 0)], model.spin_operators,
                  model.orbital_positions, model.magnetization, model.exchange[(0, 0)]):
        with pytest.raises(ValueError):
            array[...] = 0
    with pytest.raises(TypeError):
        model.hoppings[(5, 5)] = np.eye(2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.magnetization = (1, 0, 0)


# --- H and its derivatives ----------------------------------------------------------------

def test_hamiltonian_hermitian_and_shapes():
    model = random_model()
    kx, ky = RNG.uniform(-20, 20, (2, 3, 5))
    h = model.hamiltonian(kx, ky)
    assert h.shape == (3, 5, 4, 4)
    assert np.max(np.abs(h - np.conj(np.swapaxes(h, -1, -2)))) <= EXACT * np.max(np.abs(h))
    assert model.velocity(kx, ky).shape == (2, 3, 5, 4, 4)
    assert model.exchange_operators(kx, ky).shape == (3, 3, 5, 4, 4)
    assert model.torque_operators(kx, ky).shape == (3, 3, 5, 4, 4)
    assert model.hamiltonian(0.3, 0.1).shape == (4, 4)


def test_hamiltonian_equals_direct_fourier_sum():
    # The formula of the docstring, summed term by term (no stacking, no power tricks).
    model = random_model()
    kx, ky = RNG.uniform(-30, 30, (2, 7))
    tau = model.orbital_positions
    m = model.magnetization
    h = np.zeros((7, 4, 4), complex)
    for key in set(model.hoppings) | set(model.exchange):
        r = np.array(key) @ model.lattice_vectors
        hr = model.hoppings.get(key, 0) + np.tensordot(m, model.exchange.get(key, np.zeros(
            (3, 4, 4))), axes=1)
        d = r[None, None, :] + tau[None, :, :] - tau[:, None, :]  # R + tau_j - tau_i
        h += hr * np.exp(1j * (kx[:, None, None] * d[..., 0] + ky[:, None, None] * d[..., 1]))
    assert np.max(np.abs(model.hamiltonian(kx, ky) - h)) <= EXACT * np.max(np.abs(h))


def test_velocity_is_central_difference_of_h():
    # Oblique cell, orbitals off the origin: the intracell term counts.  Central difference
    # with step s: error <= s^2/6 max|H'''| + rounding eps max|H| / s, with
    # |H'''| <= sum_R |R + tau_j - tau_i|^3 |h(R)|.
    model = random_model()
    step = 1e-5
    kx, ky = RNG.uniform(-15, 15, (2, 20))
    v = model.velocity(kx, ky)
    tau = model.orbital_positions
    third = 0.0
    for key, hr in model.hoppings.items():
        d = (np.array(key) @ model.lattice_vectors)[None, None] + tau[None] - tau[:, None]
        x = model.exchange.get(key)
        full = hr + (0 if x is None else np.tensordot(model.magnetization, x, axes=1))
        third += np.max(np.linalg.norm(d, axis=-1) ** 3 * np.abs(full))
    h_max = np.max(np.abs(model.hamiltonian(kx, ky)))
    tolerance = step**2 / 6 * third + 10 * np.finfo(float).eps * h_max / step
    for j, (dx, dy) in enumerate(((step, 0.0), (0.0, step))):
        fd = (model.hamiltonian(kx + dx, ky + dy)
              - model.hamiltonian(kx - dx, ky - dy)) / (2 * step)
        assert np.max(np.abs(v[j] - fd)) <= tolerance
    # Without the intracell term the velocity would be off by far more than that.
    no_positions = dataclasses.replace(model, orbital_positions=None)
    shifted = no_positions.velocity(kx, ky)
    assert np.max(np.abs(shifted - v)) > 1e3 * tolerance


def test_chunked_fourier_sums_agree(monkeypatch):
    # Chunks of 7 k-points (boundaries inside the array) give the same numbers (to rounding:
    # BLAS may block a matrix product differently for another number of rows).
    import kubo_sot.models.tight_binding as tb
    model = random_model()
    kx, ky = RNG.uniform(-10, 10, (2, 4, 9))
    whole = model.hamiltonian(kx, ky), model.velocity(kx, ky), model.exchange_operators(kx, ky)
    monkeypatch.setattr(tb, "FOURIER_CHUNK", 7)
    parts = model.hamiltonian(kx, ky), model.velocity(kx, ky), model.exchange_operators(kx, ky)
    for a, b in zip(whole, parts):
        assert np.max(np.abs(a - b)) <= EXACT * np.max(np.abs(a))


def test_hamiltonian_is_exactly_hermitian_with_tolerated_input():
    # h(0) Hermitian only to 1e-12 (accepted): H(k) is evaluated from the R >= 0 half as
    # A + A^dagger, so it is exactly Hermitian all the same.
    hop = square_hoppings()
    hop[(0, 0)] = hop[(0, 0)] + 4e-12 * np.array([[0, 1], [0, 0]])
    model = TightBindingModel(**square_kwargs(hoppings=hop))
    h = model.hamiltonian(*RNG.uniform(-5, 5, (2, 10)))
    assert np.array_equal(h, np.conj(np.swapaxes(h, -1, -2)))


def test_hamiltonian_and_velocity_in_one_sum():
    model = random_model()
    kx, ky = RNG.uniform(-10, 10, (2, 3, 4))
    h, v = model.hamiltonian_and_velocity(kx, ky)
    assert np.max(np.abs(h - model.hamiltonian(kx, ky))) <= EXACT * np.max(np.abs(h))
    assert np.array_equal(v, model.velocity(kx, ky))


def test_periodicity_with_position_phases():
    # H(k + G) = D^dagger H(k) D with D = diag(exp(i G.tau_j)); velocities alike.
    model = random_model()
    kx, ky = RNG.uniform(-10, 10, (2, 9))
    tau = model.orbital_positions
    for g in (model.reciprocal_vectors[0], model.reciprocal_vectors[1],
              2 * model.reciprocal_vectors[0] - 3 * model.reciprocal_vectors[1]):
        d = np.exp(1j * tau @ g)
        h_shift = model.hamiltonian(kx + g[0], ky + g[1])
        expected = np.conj(d)[:, None] * model.hamiltonian(kx, ky) * d[None, :]
        assert np.max(np.abs(h_shift - expected)) <= 1e-11 * np.max(np.abs(expected))
    assert np.allclose(model.reciprocal_vectors @ model.lattice_vectors.T, 2 * np.pi * np.eye(2),
                       atol=1e-12)
    assert model.cell_area == pytest.approx(abs(np.linalg.det(OBLIQUE)), rel=1e-14)


def test_eigensystem_and_band_energies():
    model = random_model()
    kx, ky = RNG.uniform(-10, 10, (2, 11))
    e, u = model.eigensystem(kx, ky)
    h = model.hamiltonian(kx, ky)
    assert np.allclose(np.einsum("pab,pb,pcb->pac", u, e, np.conj(u)), h, atol=1e-12)
    assert np.allclose(model.band_energies(kx, ky), e, atol=1e-12)


def test_band_bottom_and_top_bound_the_bands():
    # The refined extrema lie below / above every sample of a denser, shifted grid, and
    # within the grid's resolution of the samples' extrema.
    model = random_model(exchange=None)
    b = model.reciprocal_vectors
    g = (np.arange(200) + 0.37) / 200
    u, w = np.meshgrid(g, g, indexing="ij")
    kx, ky = (np.stack([u, w], -1) @ b).transpose(2, 0, 1)
    e = model.band_energies(kx, ky)
    bottom, top = model.band_bottom(), model.band_top()
    assert bottom <= e[..., 0].min() + 1e-10 and top >= e[..., -1].max() - 1e-10
    # Near a quadratic extremum the grid misses it by at most curvature x spacing^2 ~ 1e-3.
    assert e[..., 0].min() - bottom < 1e-2 and top - e[..., -1].max() < 1e-2
    assert model.band_bottom() == bottom  # cached


# --- exchange and torque --------------------------------------------------------------------

def test_float_exchange_is_minus_j_s_and_torque_is_j_m_cross_s():
    j, m = 0.2, np.array([0.48, 0.6, 0.64])
    model = TightBindingModel(**square_kwargs(exchange=j, magnetization=m))
    s = spin_matrices(model)
    assert np.allclose(model.exchange[(0, 0)], -j * s, atol=0)
    kx, ky = RNG.uniform(-5, 5, (2, 4))
    expected = j * np.stack([m[1] * s[2] - m[2] * s[1], m[2] * s[0] - m[0] * s[2],
                             m[0] * s[1] - m[1] * s[0]])  # J M x s
    t = model.torque_operators(kx, ky)
    assert np.max(np.abs(t - expected[:, None])) <= EXACT
    assert model.exchange_is_local
    assert np.max(np.abs(model.local_torque_operators() - expected)) <= EXACT
    # H = H0 - J M.s at every k.
    h0 = dataclasses.replace(model, exchange=None).hamiltonian(kx, ky)
    assert np.max(np.abs(model.hamiltonian(kx, ky) - h0 + j * np.tensordot(m, s, 1))) <= EXACT


def test_nonlocal_exchange():
    model = random_model()
    assert not model.exchange_is_local
    with pytest.raises(ParameterError, match="local_torque_operators"):
        model.local_torque_operators()
    kx, ky = RNG.uniform(-5, 5, (2, 3))
    x, m = model.exchange_operators(kx, ky), model.magnetization
    # H is linear in M: H(M) - H(0 exchange) = M.X(k)
    h0 = dataclasses.replace(model, exchange=None).hamiltonian(kx, ky)
    assert np.max(np.abs(model.hamiltonian(kx, ky) - h0 - np.tensordot(m, x, 1))) <= 1e-11
    t = model.torque_operators(kx, ky)
    assert np.max(np.abs(np.tensordot(m, t, 1))) <= 1e-11  # T is perpendicular to M


def test_on_site_exchange_between_different_positions_is_not_local():
    tau = [[0.0, 0.0], [0.1, 0.0]]
    model = TightBindingModel(**square_kwargs(orbital_positions=tau))
    assert not model.exchange_is_local


def test_replace_rotates_magnetization():
    model = random_model()
    m_new = (0.0, 0.6, -0.8)
    rotated = dataclasses.replace(model, magnetization=m_new)
    assert np.array_equal(rotated.magnetization, m_new)
    for key in model.hoppings:
        assert np.array_equal(rotated.hoppings[key], model.hoppings[key])
    kx, ky = RNG.uniform(-5, 5, (2, 3))
    h0 = dataclasses.replace(model, exchange=None).hamiltonian(kx, ky)
    x = model.exchange_operators(kx, ky)
    assert np.max(np.abs(rotated.hamiltonian(kx, ky) - h0 - np.tensordot(m_new, x, 1))) <= 1e-11
    with pytest.raises(ParameterError, match="magnetization"):
        dataclasses.replace(model, magnetization=(1, 1, 0))


def test_hash_and_equality_by_value():
    a = TightBindingModel(**square_kwargs())
    b = TightBindingModel(**square_kwargs(hoppings={k: v.copy() for k, v in
                                                    square_hoppings().items()}))
    assert a == b and hash(a) == hash(b) and a.fingerprint == b.fingerprint
    assert len({a, b}) == 1
    c = TightBindingModel(**square_kwargs(exchange=0.2 + 1e-15))
    assert c != a
    d = dataclasses.replace(a, magnetization=(1, 0, 0))
    assert d != a and hash(d) != hash(a)
    assert pickle.loads(pickle.dumps(a)) == a
    # -0.0 and 0.0 are one value.
    neg = {k: v + 0.0 for k, v in square_hoppings().items()}
    neg[(0, 0)] = np.array([[4.0, -0.0], [-0.0, 4.0]])
    assert TightBindingModel(**square_kwargs(hoppings=neg)) == a


def test_repr_is_a_summary():
    model = random_model()
    text = repr(model)
    assert text.startswith("TightBindingModel(n_bands=4, n_hoppings=13")
    assert model.fingerprint[:12] in text and len(text) < 400


def test_parameters_are_json():
    import json
    model = random_model()
    p = json.loads(json.dumps(model.parameters()))
    assert p["model"] == "TightBindingModel" and p["n_bands"] == 4
    assert p["fingerprint"] == model.fingerprint and p["n_hoppings"] == 13
    assert np.allclose(p["magnetization"], model.magnetization)


def test_spin_orderings():
    n = 4
    hop = {(0, 0): np.eye(n)}
    inter = TightBindingModel(lattice_vectors=OBLIQUE, hoppings=hop, spin_operators="interleaved")
    blocks = TightBindingModel(lattice_vectors=OBLIQUE, hoppings=hop, spin_operators="blocks")
    assert np.array_equal(np.diag(inter.spin_operators[2]).real, [1, -1, 1, -1])
    assert np.array_equal(np.diag(blocks.spin_operators[2]).real, [1, 1, -1, -1])
    assert inter.spin_operators[0][0, 1] == 1 and blocks.spin_operators[0][0, 2] == 1
    assert spin_matrices(kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1,
                                                    magnetization=(0, 0, 1))).shape == (3, 2, 2)


def test_fourier_sum_cost():
    # 2048 k-points of a 4-band model: the phases and one matmul (O(P nR N^2)); the bound is
    # generous for a shared 2-core machine (measured ~0.3-2 ms).
    import time
    model = honeycomb_kane_mele_ferromagnet(spin_orbit=0.02, rashba=0.05, sublattice=0.1,
                                            exchange=0.1)
    kx, ky = RNG.uniform(-20, 20, (2, 2048))
    model.hamiltonian(kx, ky)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.hamiltonian(kx, ky)
        times.append(time.perf_counter() - t0)
    assert min(times) < 0.05


# --- builders ---------------------------------------------------------------------------

SQUARE = [dict(hopping=1.0, lattice_constant=0.4, alpha=0.1, exchange=0.1,
               magnetization=(0.48, 0.6, 0.64)),
          dict(hopping=3.81, lattice_constant=0.1, alpha=0.3, exchange=0.5,
               magnetization=(1, 0, 0))]


@pytest.mark.parametrize("kw", SQUARE)
def test_square_builder_equals_square_lattice_rashba(kw):
    tb = square_rashba_ferromagnet(**kw)
    ref = kubo_sot.SquareLatticeRashbaFerromagnet(**kw)
    kx, ky = RNG.uniform(-40, 40, (2, 200))
    assert np.max(np.abs(tb.hamiltonian(kx, ky) - ref.hamiltonian(kx, ky))) <= EXACT
    assert np.max(np.abs(tb.velocity(kx, ky) - ref.velocity(kx, ky))) <= EXACT
    assert np.allclose(spin_matrices(tb), ref.spin_operators(), atol=0)
    assert tb.band_bottom() == pytest.approx(ref.band_bottom(), abs=1e-9)


def test_square_builder_checks():
    kw = dict(SQUARE[0])
    for name, value in (("hopping", 0.0), ("lattice_constant", -1.0), ("alpha", -0.1),
                        ("exchange", -0.1), ("magnetization", (0, 0, 0.5))):
        with pytest.raises(ParameterError, match=name):
            square_rashba_ferromagnet(**{**kw, name: value})


HONEYCOMB = dict(hopping=1.0, lattice_constant=0.246, spin_orbit=0.03, rashba=0.05,
                 sublattice=0.1, exchange=0.08)


def test_honeycomb_valley_energies_analytic():
    # lambda_R = 0, M along z: at K the bands are xi Delta + 3 sqrt3 lambda_SO xi eta s_z - J s_z
    # with eta = +1 at K, -1 at K'.
    kw = dict(HONEYCOMB, rashba=0.0)
    model = honeycomb_kane_mele_ferromagnet(**kw)
    d, so, j = kw["sublattice"], 3 * np.sqrt(3) * kw["spin_orbit"], kw["exchange"]
    for k, eta in zip(honeycomb_valleys(model), (1, -1)):
        expected = sorted(xi * d + s * (so * xi * eta - j) for xi in (1, -1) for s in (1, -1))
        assert np.allclose(model.band_energies(*k), expected, atol=EXACT)


def test_honeycomb_rashba_exchange_at_k_analytic():
    # lambda_SO = Delta = 0: at K the Rashba term is (3 lambda_R / 2)(sigma_x s_y - sigma_y s_x)
    # (Kane & Mele's low-energy form with unit bond vectors), zero on the sigma_z s_z = +1
    # pair and +-3 lambda_R on the other; with -J s_z: {+-J, +-sqrt(J^2 + 9 lambda_R^2)}
    # (Qiao et al. 2010).
    lr, j = 0.05, 0.1
    model = honeycomb_kane_mele_ferromagnet(rashba=lr, exchange=j)
    r = np.sqrt(j**2 + 9 * lr**2)
    for k in honeycomb_valleys(model):
        assert np.allclose(model.band_energies(*k), [-r, -j, j, r], atol=EXACT)


def test_honeycomb_valleys_differ_only_with_all_three():
    model = honeycomb_kane_mele_ferromagnet(**HONEYCOMB)
    k, kp = honeycomb_valleys(model)
    split = np.max(np.abs(model.band_energies(*k) - model.band_energies(*kp)))
    assert split > 0.05  # of order Delta, 3 sqrt3 lambda_SO, J
    # J = 0: time reversal; Delta = 0: C2z (A <-> B, k -> -k, s_xy -> -s_xy; the Rashba,
    # Kane-Mele and z exchange terms are invariant): the spectra at K and K' coincide.
    for off in ("sublattice", "exchange"):
        m = honeycomb_kane_mele_ferromagnet(**{**HONEYCOMB, off: 0.0})
        assert np.allclose(m.band_energies(*k), m.band_energies(*kp), atol=1e-12)


@pytest.mark.parametrize("m", [(0, 0, 1), (0, 0, -1)])
def test_honeycomb_c3_symmetry_for_m_along_z(m):
    model = honeycomb_kane_mele_ferromagnet(**{**HONEYCOMB, "magnetization": m})
    kx, ky = RNG.uniform(-30, 30, (2, 50))
    c, s = np.cos(2 * np.pi / 3), np.sin(2 * np.pi / 3)
    e = model.band_energies(kx, ky)
    assert np.allclose(model.band_energies(c * kx - s * ky, s * kx + c * ky), e, atol=1e-12)
    # In-plane M breaks C3 (with Rashba): the check can fail.
    tilted = honeycomb_kane_mele_ferromagnet(**{**HONEYCOMB, "magnetization": (1, 0, 0)})
    assert not np.allclose(tilted.band_energies(c * kx - s * ky, s * kx + c * ky),
                           tilted.band_energies(kx, ky), atol=1e-6)


def test_honeycomb_geometry_and_velocity():
    model = honeycomb_kane_mele_ferromagnet(**HONEYCOMB)
    assert model.n_bands == 4
    a = HONEYCOMB["lattice_constant"]
    tau = model.orbital_positions
    assert np.isclose(np.linalg.norm(tau[2] - tau[0]), a / np.sqrt(3), rtol=1e-14)
    assert not model.exchange_is_local or np.all(tau[0] == tau[1])
    assert model.exchange_is_local
    # nearest-neighbour hopping -t: Dirac point at K with |v| = (sqrt3/2) t a per hbar
    plain = honeycomb_kane_mele_ferromagnet(hopping=1.0, lattice_constant=a)
    k, _ = honeycomb_valleys(plain)
    assert np.allclose(plain.band_energies(*k), 0.0, atol=1e-12)
    # Cone E = (sqrt3/2) t a |q| (1 + O(q a)): relative error ~ q a = 2.5e-5 at q = 1e-4.
    q = 1e-4
    slope = plain.band_energies(k[0] + q, k[1])[-1] / q
    assert slope == pytest.approx(np.sqrt(3) / 2 * a, rel=1e-4)
    # |hbar v| at the Dirac point, from velocity(): the same number.
    e, u = plain.eigensystem(k[0] + q, k[1])
    vx = np.einsum("a,ab,b->", u[:, -1].conj(), plain.velocity(k[0] + q, k[1])[0], u[:, -1])
    assert vx.real == pytest.approx(np.sqrt(3) / 2 * a, rel=1e-4)


def test_honeycomb_checks():
    for name in ("hopping", "lattice_constant", "spin_orbit", "rashba", "sublattice",
                 "exchange"):
        with pytest.raises(ParameterError, match=name):
            honeycomb_kane_mele_ferromagnet(**{**HONEYCOMB, name: np.nan if name not in (
                "hopping", "lattice_constant") else 0.0})


def _folded(model, reps, kx, ky):
    b = model.reciprocal_vectors
    e = [model.band_energies(kx + (m1 * b[0, 0] / reps[0] + m2 * b[1, 0] / reps[1]),
                             ky + (m1 * b[0, 1] / reps[0] + m2 * b[1, 1] / reps[1]))
         for m1 in range(reps[0]) for m2 in range(reps[1])]
    return np.sort(np.concatenate(e, axis=-1), axis=-1)


@pytest.mark.parametrize("make, reps", [
    (lambda: square_rashba_ferromagnet(**SQUARE[0]), (2, 2)),
    (lambda: honeycomb_kane_mele_ferromagnet(**{**HONEYCOMB, "magnetization": (0.6, 0, 0.8)}),
     (2, 1)),
    (lambda: random_model(), (1, 3)),
])
def test_supercell_bands_are_folded_primitive_bands(make, reps):
    base = make()
    big = supercell(base, reps)
    assert big.n_bands == base.n_bands * reps[0] * reps[1]
    kx, ky = RNG.uniform(-10, 10, (2, 30))
    assert np.allclose(big.band_energies(kx, ky), _folded(base, reps, kx, ky), atol=1e-11)
    # Spin, exchange and torque are block-diagonal copies; the intracell positions are
    # honoured: the velocity is the derivative of the supercell H.
    assert big.exchange_is_local == base.exchange_is_local
    step = 1e-5
    fd = (big.hamiltonian(kx + step, ky) - big.hamiltonian(kx - step, ky)) / (2 * step)
    assert np.max(np.abs(big.velocity(kx, ky)[0] - fd)) < 1e-6
    assert big.cell_area == pytest.approx(base.cell_area * reps[0] * reps[1], rel=1e-13)


def test_supercell_spin_expectations_match_primitive():
    # <s> of the lowest supercell band at k equals that of the primitive band it folds from
    # when only one primitive state is lowest (no degeneracy).
    base = square_rashba_ferromagnet(**SQUARE[0])
    big = supercell(base, (2, 2))
    kx, ky = 0.1, 0.2
    e, u = big.eigensystem(kx, ky)
    s = np.einsum("a,sab,b->s", u[:, 0].conj(), spin_matrices(big), u[:, 0]).real
    eb, ub = base.eigensystem(kx, ky)
    sb = np.einsum("a,sab,b->s", ub[:, 0].conj(), spin_matrices(base), ub[:, 0]).real
    assert e[0] == pytest.approx(eb[0], abs=1e-12)
    assert np.allclose(s, sb, atol=1e-10)


def test_supercell_checks():
    base = square_rashba_ferromagnet(**SQUARE[0])
    for bad in ((0, 1), (1.5, 1), (2,), "2x2"):
        with pytest.raises(ParameterError, match="repetitions"):
            supercell(base, bad)
    with pytest.raises(ParameterError, match="model"):
        supercell(kubo_sot.SquareLatticeRashbaFerromagnet(**SQUARE[0]), (2, 2))


@pytest.mark.parametrize("module", ["tight_binding", "lattices", "wannier90"])
def test_docstring_examples_run(module):
    import doctest
    import importlib
    if module == "tight_binding":  # TightBindingModel.from_sisl's example builds with sisl
        pytest.importorskip("sisl")
    mod = importlib.import_module(f"kubo_sot.models.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
