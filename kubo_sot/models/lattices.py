"""Tight-binding models of 2D ferromagnets built as :class:`TightBindingModel` hoppings.

- :func:`square_rashba_ferromagnet`: the square-lattice Rashba ferromagnet of
  docs/conventions.md §2.3 (the same H(k) as
  :class:`~kubo_sot.models.rashba.SquareLatticeRashbaFerromagnet`);
- :func:`honeycomb_kane_mele_ferromagnet`: Kane-Mele + Rashba + staggered potential + exchange
  on the honeycomb lattice (4 bands, valley-asymmetric for Delta, lambda_SO, J != 0);
- :func:`honeycomb_example`: that model with the parameters of the examples (a sweep
  factory of M alone);
- :func:`supercell`: any model on an n1 x n2 supercell (N n1 n2 bands).
"""

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .base import PAULI
from .tight_binding import TightBindingModel

S0 = np.eye(2, dtype=complex)
SX, SY, SZ = PAULI


def square_rashba_ferromagnet(*, hopping, lattice_constant, alpha, exchange, magnetization):
    r"""The square-lattice Rashba ferromagnet (docs/conventions.md §2.3) as hoppings.

    .. math::

        H(\mathbf k) = 2t(2 - \cos k_x a - \cos k_y a)\, s_0
            + \frac{\alpha}{a} (\sin k_y a\, s_x - \sin k_x a\, s_y) - J\, \mathbf M\cdot\mathbf s

    i.e. h(0) = 4t s_0, h(+-a x) = -t s_0 +- (i alpha / 2a) s_y,
    h(+-a y) = -t s_0 -+ (i alpha / 2a) s_x and the on-site exchange X = -J s; one site per
    cell at the origin, spin basis (up, down).  H(k) and hbar v equal those of
    :class:`~kubo_sot.models.rashba.SquareLatticeRashbaFerromagnet` with the same arguments.

    Parameters
    ----------
    hopping : float
        t in eV (> 0).
    lattice_constant : float
        a in nm (> 0).
    alpha : float
        Rashba parameter in eV nm (>= 0).
    exchange : float
        J in eV (>= 0).
    magnetization : sequence of 3 floats
        Unit vector M.

    Examples
    --------
    >>> from kubo_sot.models.lattices import square_rashba_ferromagnet
    >>> model = square_rashba_ferromagnet(hopping=1.0, lattice_constant=0.4, alpha=0.1,
    ...                                   exchange=0.1, magnetization=(0, 0, 1))
    >>> model.band_energies(0.0, 0.0).round(12).tolist()
    [-0.1, 0.1]
    """
    t = _checks.positive("hopping", hopping, "eV")
    a = _checks.positive("lattice_constant", lattice_constant, "nm")
    alpha = _checks.non_negative("alpha", alpha, "eV nm")
    j = _checks.non_negative("exchange", exchange, "eV")
    r = 1j * alpha / (2 * a)
    hoppings = {(0, 0): 4 * t * S0,
                (1, 0): -t * S0 + r * SY, (-1, 0): -t * S0 - r * SY,
                (0, 1): -t * S0 - r * SX, (0, -1): -t * S0 + r * SX}
    return TightBindingModel(lattice_vectors=[[a, 0.0], [0.0, a]], hoppings=hoppings,
                             spin_operators="interleaved", exchange=j,
                             magnetization=magnetization)


def honeycomb_kane_mele_ferromagnet(*, hopping=1.0, lattice_constant=0.246, spin_orbit=0.0,
                                    rashba=0.0, sublattice=0.0, exchange=0.0,
                                    magnetization=(0.0, 0.0, 1.0)):
    r"""Honeycomb ferromagnet: Kane-Mele spin-orbit, Rashba, staggered potential, exchange.

    .. math::

        H = -t \sum_{\langle ij\rangle} c_i^\dagger c_j
            + i\lambda_{SO} \sum_{\langle\langle ij\rangle\rangle} \nu_{ij}\, c_i^\dagger s_z c_j
            + i\lambda_R \sum_{\langle ij\rangle}
                c_i^\dagger (\mathbf s\times\hat{\mathbf d}_{ij})_z c_j
            + \Delta \sum_i \xi_i\, c_i^\dagger c_i
            - J \sum_i c_i^\dagger \mathbf M\cdot\mathbf s\, c_i

    (the lattice model of Kane & Mele, PRL 95, 226801 (2005), written out with all four
    terms in Kane & Mele, PRL 95, 146802 (2005); Rashba with exchange as in Qiao et al.,
    PRB 82, 161414(R) (2010); their hopping term is written +t, here -t).  Conventions:
    d_ij = r_i - r_j is the bond from j to i and d^_ij its unit vector;
    nu_ij = sign[(d_1 x d_2)_z] = +1 (-1) when the electron hopping from j to i via the
    common neighbour turns left (right), d_1, d_2 the two bonds it traverses; xi = +1 on A,
    -1 on B.  The hopping sign -t (t > 0) puts the bonding band below.  At K the bands of
    H with lambda_R = 0 and M along z are xi Delta + 3 sqrt(3) lambda_SO xi eta s_z - J M_z s_z
    (eta = +1 at K = (2 b1 + b2)/3, -1 at K' = -K): Delta, lambda_SO and J together make the
    valleys inequivalent (with any one of them zero the two spectra coincide).

    Lattice: a1 = a (1, 0), a2 = a (1/2, sqrt(3)/2) with a = |a1| the lattice constant (nm;
    0.246 nm for graphene, bond length a / sqrt(3)); sites at their real positions
    tau_A = (a1 + a2)/3, tau_B = 2 (a1 + a2)/3 (the velocity has its intracell term).
    Basis (A up, A down, B up, B down): ``spin_operators = "interleaved"``.

    Parameters
    ----------
    hopping : float
        t in eV (> 0).
    lattice_constant : float
        a in nm (> 0).
    spin_orbit : float
        lambda_SO in eV (Kane-Mele intrinsic SOC, next-nearest neighbours).
    rashba : float
        lambda_R in eV (nearest neighbours).
    sublattice : float
        Staggered potential Delta in eV (+Delta on A, -Delta on B).
    exchange : float
        J in eV (on-site X = -J s).
    magnetization : sequence of 3 floats
        Unit vector M.

    Examples
    --------
    >>> from kubo_sot.models.lattices import honeycomb_kane_mele_ferromagnet
    >>> model = honeycomb_kane_mele_ferromagnet(spin_orbit=0.02, exchange=0.1)
    >>> model.n_bands
    4
    """
    t = _checks.positive("hopping", hopping, "eV")
    a = _checks.positive("lattice_constant", lattice_constant, "nm")
    lso = _checks.finite_scalar("spin_orbit", spin_orbit, "eV")
    lr = _checks.finite_scalar("rashba", rashba, "eV")
    delta = _checks.finite_scalar("sublattice", sublattice, "eV")
    j = _checks.finite_scalar("exchange", exchange, "eV")
    lattice = a * np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    tau = np.array([1.0, 2.0])[:, None] * (lattice[0] + lattice[1]) / 3
    bond = a / np.sqrt(3)

    # All sites of the cells |n1|, |n2| <= 2 (enough for next-nearest neighbours of cell 0).
    cells = [(n1, n2) for n1 in range(-2, 3) for n2 in range(-2, 3)]
    sites = [(c, s, np.array(c) @ lattice + tau[s]) for c in cells for s in range(2)]

    def neighbours(r, distance):
        return [(c, s, q) for c, s, q in sites
                if abs(np.linalg.norm(q - r) - distance) < 1e-9 * a]

    hoppings = {}

    def add(cell, i, j_, block):
        h = hoppings.setdefault(cell, np.zeros((4, 4), complex))
        h[2 * i:2 * i + 2, 2 * j_:2 * j_ + 2] += block

    add((0, 0), 0, 0, delta * S0)
    add((0, 0), 1, 1, -delta * S0)
    for i in range(2):
        r_i = tau[i]
        for cell, j_, r_j in neighbours(r_i, bond):
            d = (r_i - r_j) / bond  # unit bond from j to i
            add(cell, i, j_, -t * S0 + 1j * lr * (SX * d[1] - SY * d[0]))
        for cell, j_, r_j in neighbours(r_i, a):
            # The common nearest neighbour k of i and j: d_1 = r_k - r_j, d_2 = r_i - r_k.
            common = [q for _, _, q in neighbours(r_j, bond)
                      if abs(np.linalg.norm(q - r_i) - bond) < 1e-9 * a]
            if len(common) != 1:
                raise AssertionError("honeycomb geometry: one common neighbour expected")
            d1, d2 = common[0] - r_j, r_i - common[0]
            nu = np.sign(d1[0] * d2[1] - d1[1] * d2[0])
            add(cell, i, j_, 1j * lso * nu * SZ)
    return TightBindingModel(lattice_vectors=lattice, hoppings=hoppings,
                             spin_operators="interleaved", orbital_positions=np.repeat(tau, 2, 0),
                             exchange=j, magnetization=magnetization)


def honeycomb_example(*, magnetization=(0.0, 0.0, 1.0)):
    """The honeycomb ferromagnet of the examples at the magnetization M (unit vector): a
    factory for sweeps (``factory = "kubo_sot.models.lattices:honeycomb_example"`` in a
    TOML [model] table, called with ``magnetization=M``).

    :func:`honeycomb_kane_mele_ferromagnet` with t = 1 eV, a = 0.246 nm,
    lambda_SO = 0.05 eV, lambda_R = 0.05 eV, Delta = 0.1 eV and J = 0.1 eV: all four
    terms, so the K and K' pockets differ (examples/tight_binding_honeycomb.py,
    examples/sweep_tight_binding.toml).

    Examples
    --------
    >>> from kubo_sot.models.lattices import honeycomb_example
    >>> honeycomb_example(magnetization=(1, 0, 0)).magnetization.tolist()
    [1.0, 0.0, 0.0]
    """
    return honeycomb_kane_mele_ferromagnet(hopping=1.0, lattice_constant=0.246,
                                           spin_orbit=0.05, rashba=0.05, sublattice=0.1,
                                           exchange=0.1, magnetization=magnetization)


def honeycomb_valleys(model):
    """The K and K' points (nm^-1) of a honeycomb lattice a1 = a (1, 0), a2 = a (1/2, sqrt 3/2):
    K = (2 b1 + b2) / 3, K' = -K."""
    b = model.reciprocal_vectors
    k = (2 * b[0] + b[1]) / 3
    return k, -k


def supercell(model, repetitions=(2, 2)):
    r"""The same model on an n1 x n2 supercell A1 = n1 a1, A2 = n2 a2.

    Orbital i of primitive cell c = (c1, c2), 0 <= c_i < n_i, becomes orbital c N + i
    (c = c1 n2 + c2) at tau_i + c1 a1 + c2 a2; the hopping h(R) from i in c to j in c + R
    becomes the supercell hopping H'(R')_{cN+i, c'N+j} with c + R = c' + (m1 n1, m2 n2),
    R' = (m1, m2).  Spin operators and exchange are block-diagonal alike, M is unchanged.
    The supercell bands at k are the primitive bands at k + m1 b1/n1 + m2 b2/n2 (folding).

    Parameters
    ----------
    model : TightBindingModel
    repetitions : (int, int)
        n1, n2 >= 1.

    Examples
    --------
    >>> from kubo_sot.models.lattices import square_rashba_ferromagnet, supercell
    >>> base = square_rashba_ferromagnet(hopping=1.0, lattice_constant=0.4, alpha=0.1,
    ...                                  exchange=0.1, magnetization=(0, 0, 1))
    >>> supercell(base, (2, 2)).n_bands
    8
    """
    if not isinstance(model, TightBindingModel):
        raise ParameterError(f"model = {model!r} must be a TightBindingModel")
    try:
        reps = tuple(int(r) for r in repetitions)
        ok = len(reps) == 2 and all(r >= 1 and r == q for r, q in zip(reps, repetitions))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(
            f"repetitions = {repetitions!r} must be two integers n1, n2 >= 1")
    n1, n2 = reps
    n = model.n_bands
    cells = [(c1, c2) for c1 in range(n1) for c2 in range(n2)]
    size = n * len(cells)

    def fold(mapping, lead):
        out = {}
        for (r1, r2), m in mapping.items():
            for ci, (c1, c2) in enumerate(cells):
                t1, t2 = c1 + r1, c2 + r2
                key = (t1 // n1, t2 // n2)
                cj = (t1 % n1) * n2 + (t2 % n2)
                block = out.setdefault(key, np.zeros(lead + (size, size), complex))
                block[..., ci * n:(ci + 1) * n, cj * n:(cj + 1) * n] += m
        return out

    shifts = np.array(cells, float) @ model.lattice_vectors
    positions = (shifts[:, None, :] + model.orbital_positions[None]).reshape(size, 2)
    spin = np.stack([np.kron(np.eye(len(cells)), s) for s in model.spin_operators])
    return TightBindingModel(
        lattice_vectors=np.array([n1, n2], float)[:, None] * model.lattice_vectors,
        hoppings=fold(model.hoppings, ()), spin_operators=spin, orbital_positions=positions,
        exchange=fold(model.exchange, (3,)) or None, magnetization=model.magnetization)


__all__ = ["square_rashba_ferromagnet", "honeycomb_kane_mele_ferromagnet",
           "honeycomb_example", "supercell", "honeycomb_valleys"]
