"""A :class:`TightBindingModel` from a ``sisl.Hamiltonian`` (optional extra
``pip install 'kubo_sot[sisl]'``).

sisl (https://zerothi.github.io/sisl) stores H in supercell format: row i of the primary cell,
column ``isc * n + j`` for orbital j of the image cell ``lattice.sc_off[isc]``, so the block
of image isc is h(R) = <0 i|H|R j> with R = sc_off[isc] . cell.  With the "atomic" gauge of
``Hamiltonian.Hk`` (phases exp(i k.(R + r_j - r_i))) sisl's H(k) is the model's H(k).

Spin: sisl orders the spinor basis of non-colinear and spin-orbit Hamiltonians with the spin
fastest (orbital 1 up, 1 down, 2 up, ...): ``spin_operators = "interleaved"`` (the expectation
values equal sisl's ``spin_moment``; tested).  An unpolarized H becomes H (x) 1 on that basis,
a polarized one diag(H_up, H_down) per orbital.
"""

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .wannier90 import ANGSTROM_NM, _planar


def _import_sisl():
    try:
        import sisl
    except ImportError:
        raise ImportError(
            "TightBindingModel.from_sisl needs sisl: pip install 'kubo_sot[sisl]'") from None
    return sisl


def sisl_fields(hamiltonian, *, spin_operators=None, exchange=None, magnetization=None):
    """The fields of :meth:`kubo_sot.TightBindingModel.from_sisl` (same arguments), read and
    checked: ``lattice_vectors``, ``hoppings`` (H at ``magnetization``), ``spin_operators``,
    ``orbital_positions``, ``exchange``, ``magnetization``."""
    sisl = _import_sisl()
    if not isinstance(hamiltonian, sisl.Hamiltonian):
        raise ParameterError(f"hamiltonian = {hamiltonian!r} must be a sisl.Hamiltonian")
    if not hamiltonian.orthogonal:
        raise ParameterError(
            "hamiltonian has a non-orthogonal basis (an overlap matrix S): kubo_sot models "
            "need orthogonal orbitals (orthogonalize, e.g. Loewdin, first)")
    if magnetization is None:
        if exchange is not None:
            raise ParameterError(
                "magnetization = None with an exchange given: say at which M the sisl "
                "Hamiltonian was computed (a unit vector), since H0 = H - M.X depends on it")
        magnetization = (0.0, 0.0, 1.0)
    magnetization = _checks.unit_vector("magnetization", magnetization)  # before any reading
    geometry = hamiltonian.geometry
    lattice = geometry.lattice
    if int(lattice.nsc[2]) != 1:
        raise ParameterError(
            f"hamiltonian has nsc = {lattice.nsc.tolist()}: images along a3 (nsc[2] = "
            f"{int(lattice.nsc[2])}) are hoppings out of the plane; kubo_sot models are "
            "two-dimensional (nsc[2] must be 1)")
    cell = _planar("hamiltonian.geometry.lattice.cell", ANGSTROM_NM * np.asarray(lattice.cell))
    spin = hamiltonian.spin
    no = geometry.no
    if getattr(spin, "is_nambu", False):  # Nambu spin classes are newer than sisl 0.15
        raise ParameterError("hamiltonian is a Nambu (BdG) Hamiltonian: not supported")
    if spin.is_unpolarized:
        blocks = np.asarray(hamiltonian.Hk(format="sc:array", dtype=np.complex128))
        full = np.kron(blocks, np.eye(2))
    elif spin.is_polarized:
        up, down = (np.asarray(hamiltonian.Hk(format="sc:array", spin=s, dtype=np.complex128))
                    for s in (0, 1))
        full = np.zeros((2 * no, 2 * up.shape[1]), complex)
        full[0::2, 0::2], full[1::2, 1::2] = up, down
    else:  # non-colinear or spin-orbit: sisl's matrices are already spinors, interleaved
        # (the supercell format "sc:" of Hk exists since sisl 0.11)
        full = np.asarray(hamiltonian.Hk(format="sc:array", dtype=np.complex128))
    n = 2 * no
    order = np.arange(n)
    if isinstance(spin_operators, str) and spin_operators == "blocks":
        order = np.concatenate([np.arange(0, n, 2), np.arange(1, n, 2)])
    elif spin_operators is None:
        spin_operators = "interleaved"
    hoppings = {}
    for isc, offset in enumerate(np.asarray(lattice.sc_off, dtype=int)):
        block = full[:, isc * n:(isc + 1) * n][np.ix_(order, order)]
        key = (int(offset[0]), int(offset[1]))
        hoppings[key] = hoppings.get(key, 0) + block
    # Images with no hopping in either direction add nothing but Fourier work.
    hoppings = {k: h for k, h in hoppings.items()
                if k == (0, 0) or np.any(h) or np.any(hoppings[(-k[0], -k[1])])}
    xyz = ANGSTROM_NM * np.asarray(geometry.xyz)[geometry.o2a(np.arange(no))][:, :2]
    positions = np.repeat(xyz, 2, axis=0)[order]
    return dict(lattice_vectors=cell, hoppings=hoppings, spin_operators=spin_operators,
                orbital_positions=positions, exchange=exchange, magnetization=magnetization)


__all__ = ["sisl_fields"]
