"""Model input from files and libraries: the Wannier90 reader/writer (round trips with
_tb.dat, .win and _centres.xyz, degeneracy weights, every malformed-file error with its line
number) and the sisl adapter (H(k), spin ordering, gauge)."""

import dataclasses

import numpy as np
import pytest

from kubo_sot.errors import ParameterError
from kubo_sot.models.base import spin_matrices
from kubo_sot.models.lattices import honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet
from kubo_sot.models.tight_binding import TightBindingModel
from kubo_sot.models.wannier90 import (BOHR_NM, read_centres, read_hr, read_lattice,
                                       write_hr, write_model_hr)

# The files carry 17 significant digits: the round trip is exact to a few ulp of max |H|.
ROUND_TRIP = 1e-12
RNG = np.random.default_rng(11)
KX, KY = RNG.uniform(-20, 20, (2, 40))

HONEYCOMB = dict(hopping=1.0, lattice_constant=0.246, spin_orbit=0.03, rashba=0.05,
                 sublattice=0.1, exchange=0.08, magnetization=(0.6, 0.0, 0.8))


def honeycomb():
    return honeycomb_kane_mele_ferromagnet(**HONEYCOMB)


def stacked(model):
    """R (nR, 2) and h(R) + M.X(R) (nR, N, N) of a model: the file's H at its M."""
    keys = sorted(set(model.hoppings) | set(model.exchange))
    h = np.array([model.hoppings.get(k, 0) + np.tensordot(
        model.magnetization, model.exchange.get(k, np.zeros((3,) + model.hoppings[(0, 0)].shape)),
        axes=1) for k in keys])
    return np.array(keys), h


def write_tb_dat(path, cell_angstrom):
    lines = ["written by the tests"] + [" ".join(f"{x:.15f}" for x in v) for v in cell_angstrom]
    path.write_text("\n".join(lines) + "\n")


def cell_3d(model, c=20.0):
    """a1, a2 of the model and a3 = c z, in Angstrom."""
    cell = np.zeros((3, 3))
    cell[:2, :2] = model.lattice_vectors * 10.0
    cell[2, 2] = c
    return cell


def write_centres(path, model, atoms=(("C", 0.0, 0.0, 0.0),)):
    tau = model.orbital_positions * 10.0
    lines = [str(len(tau) + len(atoms)), "Wannier centres, written by the tests"]
    lines += [f"X {x:.15f} {y:.15f} 0.0" for x, y in tau]
    lines += [f"{a} {x} {y} {z}" for a, x, y, z in atoms]
    path.write_text("\n".join(lines) + "\n")


def assert_same_h(a, b):
    ha, hb = a.hamiltonian(KX, KY), b.hamiltonian(KX, KY)
    assert np.max(np.abs(ha - hb)) <= ROUND_TRIP * np.max(np.abs(ha))
    va, vb = a.velocity(KX, KY), b.velocity(KX, KY)
    assert np.max(np.abs(va - vb)) <= ROUND_TRIP * np.max(np.abs(va))


# --- round trips --------------------------------------------------------------------------

def test_round_trip_with_tb_dat_and_centres(tmp_path):
    model = honeycomb()
    write_model_hr(tmp_path / "hc_hr.dat", model)
    write_tb_dat(tmp_path / "hc_tb.dat", cell_3d(model))
    write_centres(tmp_path / "hc_centres.xyz", model)
    loaded = TightBindingModel.from_wannier90(
        tmp_path / "hc_hr.dat", spin_operators="interleaved",
        exchange=HONEYCOMB["exchange"], magnetization=HONEYCOMB["magnetization"])
    assert np.allclose(loaded.lattice_vectors, model.lattice_vectors, rtol=1e-14)
    assert np.allclose(loaded.orbital_positions, model.orbital_positions, atol=1e-15)
    assert_same_h(loaded, model)
    # H0 = H_file - M.X: rotating M afterwards gives the model at the new M.
    m_new = (0.0, 0.6, -0.8)
    assert_same_h(dataclasses.replace(loaded, magnetization=m_new),
                  dataclasses.replace(model, magnetization=m_new))


def test_round_trip_with_degeneracy_weights_and_win(tmp_path):
    # Degeneracies != 1 are written into the file (H(R) ndegen(R)) and divided out again.
    model = square_rashba_ferromagnet(hopping=1.0, lattice_constant=0.4, alpha=0.2,
                                      exchange=0.1, magnetization=(0, 0, 1))
    r, h = stacked(model)
    deg = np.array([1 + (abs(a) + abs(b)) % 3 for a, b in r])
    assert np.any(deg > 1)
    write_hr(tmp_path / "sq_hr.dat", r, h, degeneracies=deg)
    text = (tmp_path / "sq_hr.dat").read_text().splitlines()
    assert text[3].split() == [str(d) for d in deg]
    (tmp_path / "sq.win").write_text(
        "num_wann = 2\n! a comment\nBegin Unit_Cell_Cart\n  Ang\n 4.0 0.0 0.0 # x\n"
        " 0.0 4.0 0.0\n 0.0 0.0 15.0\nEND unit_cell_cart\n")
    loaded = TightBindingModel.from_wannier90(tmp_path / "sq_hr.dat",
                                              spin_operators="interleaved")
    assert np.allclose(loaded.lattice_vectors, model.lattice_vectors, rtol=1e-14)
    assert np.array_equal(loaded.orbital_positions, np.zeros((2, 2)))  # no _centres.xyz
    assert_same_h(loaded, model)
    _, _, deg_read, h_read = read_hr(tmp_path / "sq_hr.dat")
    assert np.array_equal(deg_read, deg)
    assert np.max(np.abs(h_read - h)) <= ROUND_TRIP


def test_round_trip_with_nonlocal_exchange_and_blocks(tmp_path):
    # A dict exchange with X(R != 0), "blocks" spin order, an oblique cell: H0 = H_file - M.X
    # for every R, so the loaded model agrees at the file's M and at any other M.
    rng = np.random.default_rng(5)
    n = 4
    hop, x = {}, {}
    for key in [(0, 0), (1, 0), (1, -1), (0, 2)]:
        m = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        hop[key], hop[(-key[0], -key[1])] = (m + m.conj().T, m + m.conj().T) if key == (0, 0) \
            else (m, m.conj().T)
    x0 = rng.normal(size=(3, n, n)) + 1j * rng.normal(size=(3, n, n))
    x1 = rng.normal(size=(3, n, n)) + 1j * rng.normal(size=(3, n, n))
    x = {(0, 0): x0 + np.conj(np.swapaxes(x0, 1, 2)), (0, 1): x1,
         (0, -1): np.conj(np.swapaxes(x1, 1, 2))}  # (0, +-1) is not among the hoppings
    lattice = np.array([[0.31, 0.04], [0.12, 0.27]])
    tau = rng.uniform(0, 0.2, (n, 2))
    model = TightBindingModel(lattice_vectors=lattice, hoppings=hop, spin_operators="blocks",
                              orbital_positions=tau, exchange=x, magnetization=(0.36, 0.48, 0.8))
    write_model_hr(tmp_path / "ob_hr.dat", model)
    loaded = TightBindingModel.from_wannier90(
        tmp_path / "ob_hr.dat", lattice_vectors=lattice, orbital_positions=tau,
        spin_operators="blocks", exchange=x, magnetization=(0.36, 0.48, 0.8))
    assert_same_h(loaded, model)
    m_new = (-0.8, 0.0, 0.6)
    assert_same_h(dataclasses.replace(loaded, magnetization=m_new),
                  dataclasses.replace(model, magnetization=m_new))
    # Without the exchange the file is read as it stands: right at its M only.
    plain = TightBindingModel.from_wannier90(tmp_path / "ob_hr.dat", lattice_vectors=lattice,
                                             orbital_positions=tau, spin_operators="blocks")
    assert_same_h(plain, model)


def test_win_in_bohr(tmp_path):
    (tmp_path / "b.win").write_text(
        "begin unit_cell_cart\nbohr\n2 0 0\n1 3 0\n0 0 30\nend unit_cell_cart\n")
    assert np.allclose(read_lattice(tmp_path / "b"), BOHR_NM * np.array([[2, 0], [1, 3]]),
                       rtol=1e-15)
    assert BOHR_NM == pytest.approx(0.0529177210544, rel=1e-9)


def test_wannier90_fixed_point_file_is_symmetrized(tmp_path):
    # Wannier90 prints F12.6: h(R) and h(-R)^dagger may differ by one unit of the last digit
    # (a value at a rounding boundary).  Accepted within that, and made exactly Hermitian.
    lines = ["F12.6 file", "1", "3", "    1    1    1",
             "    0    0    0    1    1    0.500000    0.000000",
             "    1    0    0    1    1   -1.000001    0.000000",
             "   -1    0    0    1    1   -1.000000    0.000000"]
    (tmp_path / "f_hr.dat").write_text("\n".join(lines) + "\n")
    _, r, _, h = read_hr(tmp_path / "f_hr.dat")
    assert h[1, 0, 0] == h[2, 0, 0] == pytest.approx(-1.0000005, abs=1e-15)
    lines[5] = "    1    0    0    1    1   -1.000003    0.000000"
    (tmp_path / "f_hr.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(ParameterError, match="line 6.*Hermitian"):
        read_hr(tmp_path / "f_hr.dat")


def test_exact_format(tmp_path):
    r = [[0, 0], [1, 0], [-1, 0]] + [[0, k] for k in range(1, 9)] + [[0, -k] for k in range(1, 9)]
    h = np.zeros((len(r), 2, 2), complex)
    h[0] = [[1, 0.5j], [-0.5j, 2]]
    write_hr(tmp_path / "x_hr.dat", r, h, header="my header")
    lines = (tmp_path / "x_hr.dat").read_text().splitlines()
    assert lines[0] == "my header" and int(lines[1]) == 2 and int(lines[2]) == len(r)
    assert len(lines[3].split()) == 15 and len(lines[4].split()) == len(r) - 15
    first = lines[5].split()
    assert first[:5] == ["0", "0", "0", "1", "1"] and float(first[5]) == 1.0
    # m runs fastest: the second line is (m, n) = (2, 1), i.e. h[1, 0] = -0.5j.
    second = lines[6].split()
    assert second[3:5] == ["2", "1"] and float(second[6]) == -0.5
    assert len(lines) == 5 + 4 * len(r)


def test_read_centres_ignores_atoms_and_checks_count(tmp_path):
    model = honeycomb()
    write_centres(tmp_path / "c_centres.xyz", model, atoms=(("C", 1, 2, 3), ("B", 0, 0, 0)))
    assert np.allclose(read_centres(tmp_path / "c", 4), model.orbital_positions, atol=1e-15)
    with pytest.raises(ParameterError, match="num_wann = 6"):
        read_centres(tmp_path / "c", 6)
    assert read_centres(tmp_path / "none") is None


# --- from_wannier90 argument errors -------------------------------------------------------

@pytest.fixture
def square_file(tmp_path):
    model = square_rashba_ferromagnet(hopping=1.0, lattice_constant=0.4, alpha=0.2,
                                      exchange=0.1, magnetization=(0, 0, 1))
    write_model_hr(tmp_path / "sq_hr.dat", model)
    return tmp_path / "sq_hr.dat"


def test_spin_operators_required(square_file):
    with pytest.raises(ParameterError, match="spin_operators.*interleaved.*blocks"):
        TightBindingModel.from_wannier90(square_file, lattice_vectors=np.eye(2))


def test_magnetization_required_with_exchange(square_file):
    with pytest.raises(ParameterError, match="magnetization"):
        TightBindingModel.from_wannier90(square_file, lattice_vectors=np.eye(2),
                                         spin_operators="interleaved", exchange=0.1)


def test_arguments_checked_before_the_file_is_read(tmp_path):
    with pytest.raises(ParameterError, match="magnetization"):
        TightBindingModel.from_wannier90(tmp_path / "absent_hr.dat", spin_operators="blocks",
                                         exchange=0.1, magnetization=(0, 0, 2))


def test_missing_lattice_names_both_files(square_file):
    with pytest.raises(ParameterError, match=r"lattice_vectors.*sq_tb\.dat.*sq\.win"):
        TightBindingModel.from_wannier90(square_file, spin_operators="interleaved")


def test_non_planar_lattice(square_file):
    write_tb_dat(square_file.with_name("sq_tb.dat"), [[4, 0, 0], [0, 4, 1], [0, 0, 20]])
    with pytest.raises(ParameterError, match="xy plane"):
        TightBindingModel.from_wannier90(square_file, spin_operators="interleaved")
    write_tb_dat(square_file.with_name("sq_tb.dat"), [[4, 0, 0], [0, 4, 0], [1, 0, 20]])
    with pytest.raises(ParameterError, match="a3.*along z"):
        TightBindingModel.from_wannier90(square_file, spin_operators="interleaved")


def test_malformed_tb_dat_and_win(square_file):
    square_file.with_name("sq_tb.dat").write_text("comment\n4 0 0\n0 4\n0 0 20\n")
    with pytest.raises(ParameterError, match="line 3"):
        read_lattice(square_file.with_name("sq"))
    square_file.with_name("sq_tb.dat").unlink()
    square_file.with_name("sq.win").write_text("num_wann = 2\n")
    with pytest.raises(ParameterError, match="unit_cell_cart"):
        read_lattice(square_file.with_name("sq"))
    square_file.with_name("sq.win").write_text(
        "begin unit_cell_cart\n4 0 0\n0 4 0\n0 0 20\n4 4 4\nend unit_cell_cart\n")
    with pytest.raises(ParameterError, match="line 5.*end unit_cell_cart"):
        read_lattice(square_file.with_name("sq"))


def test_wrong_number_of_centres(square_file):
    write_centres(square_file.with_name("sq_centres.xyz"), honeycomb())  # 4 centres, N = 2
    with pytest.raises(ParameterError, match="num_wann = 2"):
        TightBindingModel.from_wannier90(square_file, lattice_vectors=0.4 * np.eye(2),
                                         spin_operators="interleaved")


# --- malformed _hr.dat: each error with its line number ---------------------------------

def good_lines():
    """A valid 1-orbital file: header, num_wann, nrpts, 1 degeneracy line, 3 matrix lines."""
    return ["header", "1", "3", "    1    2    2",
            "    0    0    0    1    1    0.5    0.0",
            "    1    0    0    1    1   -1.0    0.25",
            "   -1    0    0    1    1   -1.0   -0.25"]


MALFORMED = [
    ("num_wann", 2, lambda L: L.__setitem__(1, "zero")),
    ("num_wann", 2, lambda L: L.__setitem__(1, "-1")),
    ("nrpts", 3, lambda L: L.__setitem__(2, "3.5")),
    ("degeneracies on this line, expected 3", 4, lambda L: L.__setitem__(3, "1 2")),
    ("degeneracy '0' must be a positive", 4, lambda L: L.__setitem__(3, "1 0 2")),
    ("2 matrix lines", 7, lambda L: L.pop()),
    ("4 matrix lines", 8, lambda L: L.append("    2    0    0    1    1   0.0    0.0")),
    ("6 columns", 6, lambda L: L.__setitem__(5, "    1    0    0    1    1   -1.0")),
    ("bad number", 6, lambda L: L.__setitem__(5, "    1    0    0    1    1   -1.0D0   0.25")),
    ("must be integers", 6, lambda L: L.__setitem__(5, "  1.5    0    0    1    1   -1.0   0.25")),
    ("Re Im finite", 6, lambda L: L.__setitem__(5, "    1    0    0    1    1   nan   0.25")),
    ("outside 1..num_wann", 6,
     lambda L: L.__setitem__(5, "    1    0    0    2    1   -1.0   0.25")),
    ("duplicate entries", 6, lambda L: L.__setitem__(5, "    0    0    0    1    1   0.5    0.0")),
    ("R3 = 1", 6, lambda L: (L.__setitem__(5, "    1    0    1    1    1   -1.0    0.25"),
                             L.__setitem__(6, "   -1    0   -1    1    1   -1.0   -0.25"))),
    ("no partner", 6, lambda L: L.__setitem__(5, "    2    0    0    1    1   -1.0    0.25")),
    ("not Hermitian.*line 6.*line 7", 6,
     lambda L: L.__setitem__(5, "    1    0    0    1    1   -1.0    0.5")),
    ("the file ends", 2, lambda L: L.__delitem__(slice(1, None))),
]


@pytest.mark.parametrize("message, line, edit", MALFORMED,
                         ids=[f"{i}-{m.split()[0]}" for i, (m, _, _) in enumerate(MALFORMED)])
def test_malformed_hr_file(tmp_path, message, line, edit):
    lines = good_lines()
    edit(lines)
    path = tmp_path / "bad_hr.dat"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ParameterError, match=rf"hr_file .*bad_hr\.dat, line {line}: .*{message}"):
        read_hr(path)


def test_good_lines_are_good(tmp_path):
    # The base of the malformed cases reads, with h = H / ndegen.
    path = tmp_path / "good_hr.dat"
    path.write_text("\n".join(good_lines()) + "\n\n")
    n, r, deg, h = read_hr(path)
    assert n == 1 and r.tolist() == [[0, 0, 0], [1, 0, 0], [-1, 0, 0]]
    assert deg.tolist() == [1, 2, 2] and h[1, 0, 0] == -0.5 + 0.125j


def test_missing_hr_file(tmp_path):
    with pytest.raises(ParameterError, match="hr_file.*no such file"):
        read_hr(tmp_path / "absent_hr.dat")


def test_non_hermitian_entry_and_lines_two_orbitals(tmp_path):
    # h(R)_12 (m = 1, n = 2) must be conj(h(-R)_21): break that pair and only that one.
    r = [[0, 0], [1, 0], [-1, 0]]
    h = np.zeros((3, 2, 2), complex)
    h[0] = [[1, 0.2], [0.2, -1]]
    h[1] = [[0.5, 0.3j], [0.1, 0.4]]
    h[2] = h[1].conj().T
    h[1, 0, 1] += 1e-3
    write_hr(tmp_path / "nh_hr.dat", r, h)
    # Lines: 5 header/count/degeneracy lines (1-4) then R blocks of 4 with m fastest:
    # R = (1, 0) starts at line 9, (m, n) = (1, 2) is its third line (11); -R's (2, 1) is
    # the second line of its block starting at 13 (14).
    with pytest.raises(ParameterError, match=r"line 11: H is not Hermitian.* R = \(1, 0, 0\), "
                                             r"m = 1, n = 2 \(line 11\) against -R, m = 2, "
                                             r"n = 1 \(line 14\): \|difference\| = 1\.000e-03"):
        read_hr(tmp_path / "nh_hr.dat")


def test_r_block_interrupted(tmp_path):
    lines = ["h", "2", "1", "1",
             "    0    0    0    1    1    1.0    0.0",
             "    0    0    0    2    1    0.0    0.0",
             "    1    0    0    1    2    0.0    0.0",
             "    0    0    0    2    2    1.0    0.0"]
    (tmp_path / "b_hr.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(ParameterError, match=r"line 7: R = \(1, 0, 0\) inside the block"):
        read_hr(tmp_path / "b_hr.dat")


def test_duplicate_matrix_entry_names_both_lines(tmp_path):
    lines = ["h", "2", "1", "1",
             "    0    0    0    1    1    1.0    0.0",
             "    0    0    0    2    1    0.0    0.0",
             "    0    0    0    1    1    1.0    0.0",
             "    0    0    0    2    2    1.0    0.0"]
    (tmp_path / "d_hr.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(ParameterError, match=r"line 7: duplicate entries.*m = 1, n = 1 also on "
                                             r"line 5"):
        read_hr(tmp_path / "d_hr.dat")


# --- sisl adapter -------------------------------------------------------------------------

sisl = pytest.importorskip("sisl")

ANGSTROM = 0.1  # nm


def sisl_from_model(model, spin="so"):
    """A sisl spin-orbit Hamiltonian with the model's H at its M, on its geometry.

    sisl's complex spin-orbit components: (uu, dd, ud, du).
    """
    cell = np.zeros((3, 3))
    cell[:2, :2] = model.lattice_vectors / ANGSTROM
    cell[2, 2] = 20.0
    tau = model.orbital_positions[::2] / ANGSTROM
    atoms = [sisl.Atom(6, R=3.0) for _ in tau]
    xyz = np.concatenate([tau, np.zeros((len(tau), 1))], axis=1)
    lattice = sisl.Lattice(cell, nsc=[5, 5, 1])
    geometry = sisl.Geometry(xyz, atoms, lattice=lattice)
    h = sisl.Hamiltonian(geometry, spin=sisl.Spin(spin), dtype=np.complex128)
    r, blocks = stacked(model)
    no = geometry.no
    for (n1, n2), block in zip(r, blocks):
        isc = geometry.lattice.sc_index([n1, n2, 0])
        for i in range(no):
            for j in range(no):
                b = block[2 * i:2 * i + 2, 2 * j:2 * j + 2]
                if not np.any(b):
                    continue
                h[i, j + isc * no] = [b[0, 0], b[1, 1], b[0, 1], b[1, 0]]
    return h


def test_sisl_spin_orbit_equals_model():
    model = honeycomb()
    h = sisl_from_model(model)
    loaded = TightBindingModel.from_sisl(h, exchange=HONEYCOMB["exchange"],
                                         magnetization=HONEYCOMB["magnetization"])
    assert_same_h(loaded, model)
    assert_same_h(dataclasses.replace(loaded, magnetization=(0, 0, 1)),
                  dataclasses.replace(model, magnetization=(0, 0, 1)))
    # sisl's own H(k) in its "atomic" gauge (k in reduced units of its reciprocal cell).
    k_red = np.array([0.13, -0.31, 0.0])
    k_nm = k_red[:2] @ model.reciprocal_vectors
    ref = h.Hk(k_red, gauge="atomic", format="array")
    assert np.max(np.abs(loaded.hamiltonian(*k_nm) - ref)) <= ROUND_TRIP * np.max(np.abs(ref))


def test_sisl_spin_ordering_matches_spin_moment():
    # The interleaved Pauli matrices give sisl's own spin moments of the eigenstates.
    model = honeycomb()
    h = sisl_from_model(model)
    loaded = TightBindingModel.from_sisl(h)
    k_red = np.array([0.21, 0.07, 0.0])
    state = h.eigenstate(k_red, gauge="atomic")
    moments = np.asarray(state.spin_moment())  # (3, n_states)
    e, u = loaded.eigensystem(*(k_red[:2] @ loaded.reciprocal_vectors))
    ours = np.einsum("an,sab,bn->sn", u.conj(), spin_matrices(loaded), u).real
    assert np.allclose(e, state.eig, atol=1e-12)
    # Rashba splits every band at this k: the states are unique, the moments comparable.
    assert np.min(np.diff(e)) > 1e-3
    assert np.allclose(ours, moments.reshape(3, -1), atol=1e-10)
    # "blocks" is the same model in the other basis order.
    blocks = TightBindingModel.from_sisl(h, spin_operators="blocks")
    assert np.allclose(blocks.band_energies(0.3, 0.1), loaded.band_energies(0.3, 0.1),
                       atol=1e-12)
    assert np.array_equal(np.diag(blocks.spin_operators[2]).real, [1, 1, -1, -1])


def test_sisl_unpolarized_graphene_is_rotated_honeycomb():
    # sisl.geom.graphene: a1, a2 at -30 and +30 degrees, bond along x; rotated by +30 degrees
    # it is the honeycomb builder's cell (the sites shifted by (a1 + a2)/3 overall, which the
    # position-aware gauge does not see).
    t = 2.7
    g = sisl.geom.graphene(bond=1.42)
    h = sisl.Hamiltonian(g)
    h.construct([(0.1, 1.44), (0.0, -t)])
    loaded = TightBindingModel.from_sisl(h)
    assert loaded.n_bands == 4
    ref = honeycomb_kane_mele_ferromagnet(hopping=t, lattice_constant=0.142 * np.sqrt(3))
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rx, ry = c * KX - s * KY, s * KX + c * KY
    h_sisl = loaded.hamiltonian(KX, KY)
    h_ref = ref.hamiltonian(rx, ry)
    assert np.max(np.abs(h_sisl - h_ref)) <= ROUND_TRIP * t
    assert np.allclose(loaded.spin_operators, ref.spin_operators, atol=0)


def test_sisl_polarized():
    g = sisl.geom.graphene()
    h = sisl.Hamiltonian(g, spin=sisl.Spin("polarized"))
    h.construct([(0.1, 1.44), ([0.1, -0.1], [-2.7, -2.6])])
    loaded = TightBindingModel.from_sisl(h)
    k_red = np.array([0.1, 0.3, 0.0])
    k_nm = k_red[:2] @ loaded.reciprocal_vectors
    hk = loaded.hamiltonian(*k_nm)
    for spin in (0, 1):
        ref = h.Hk(k_red, gauge="atomic", spin=spin, format="array")
        assert np.max(np.abs(hk[spin::2, spin::2] - ref)) <= ROUND_TRIP * 2.7
    assert not np.any(hk[0::2, 1::2])


def test_sisl_errors():
    g = sisl.geom.graphene()
    with pytest.raises(ParameterError, match="sisl.Hamiltonian"):
        TightBindingModel.from_sisl(g)
    h = sisl.Hamiltonian(g, orthogonal=False)
    with pytest.raises(ParameterError, match="non-orthogonal"):
        TightBindingModel.from_sisl(h)
    h3 = sisl.Hamiltonian(g.copy())
    h3.set_nsc([3, 3, 3])
    with pytest.raises(ParameterError, match="nsc"):
        TightBindingModel.from_sisl(h3)
    h = sisl.Hamiltonian(g)
    with pytest.raises(ParameterError, match="magnetization"):
        TightBindingModel.from_sisl(h, exchange=0.1)


def test_sisl_missing_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "sisl", None)  # "import sisl" now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'kubo_sot\[sisl\]'"):
        TightBindingModel.from_sisl(object())
