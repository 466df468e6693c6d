"""Generic N-band tight-binding model of a two-dimensional ferromagnet (any oblique lattice).

    H_ij(k; M) = sum_R [h_ij(R) + sum_a M_a X_a,ij(R)] exp(i k.(R + tau_j - tau_i))

with h(R) = <0 i|H0|R j> the hoppings, X_a(R) the exchange operators (H depends linearly on
the magnetization direction M), tau_i the orbital positions and R = n1 a1 + n2 a2.  The
phases include the positions (sisl's "atomic" gauge): then hbar v = dH/dk carries the
intracell term i (tau_j - tau_i) H_ij, without which the velocity of a multi-site cell is
wrong.  The lattice-gauge sum exp(i k.R) of a Wannier90 ``_hr.dat`` is D H D^dagger with
D = diag(exp(i k.tau)): the same bands, but its dH/dk lacks that term (the diagonal
position-operator approximation, r_ij = tau_i delta_ij, is what the positions add).
"""

import hashlib
import numbers
import types
from dataclasses import dataclass, field

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .base import PAULI
from .sisl_adapter import sisl_fields
from .wannier90 import hr_file_fields

# h(-R) = h(R)^dagger (and X likewise) must hold to this fraction of max |h|.
HERMITICITY_RTOL = 1e-10
# Positions closer than this fraction of the lattice constant count as one site (the
# exchange is then local: its phase exp(i k.(tau_j - tau_i)) is 1).
SAME_SITE_RTOL = 1e-12
# k-points per chunk of the Fourier sums: at most FOURIER_CHUNK, and at most
# FOURIER_CHUNK_ELEMENTS matrix elements per chunk (16 MB of temporaries for any N).
FOURIER_CHUNK = 4096
FOURIER_CHUNK_ELEMENTS = 2**20
# Reduced-coordinate grid (per direction) of the band-extremum search before refinement.
EXTREMUM_GRID = 96

_SPIN_ORDERINGS = ("interleaved", "blocks")


def _readonly(array):
    array = np.array(array)  # a copy, so the caller's array stays theirs
    array.setflags(write=False)
    return array


def _real_array(name, value, what):
    """``value`` as a float array, or a ParameterError (complex input included: numpy would
    drop the imaginary part with only a warning)."""
    try:
        if np.iscomplexobj(value):
            raise TypeError
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} must be {what}") from None


def _lattice_key(name, key):
    """A hopping key (n1, n2) as a tuple of Python ints, or a ParameterError."""
    if (isinstance(key, tuple) and len(key) == 2
            and all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in key)):
        return (int(key[0]), int(key[1]))
    raise ParameterError(
        f"{name} key {key!r} must be a pair of integers (n1, n2) meaning the lattice vector "
        "R = n1 a1 + n2 a2")


def _matrix_dict(name, value, shape_tail, unit):
    """{(n1, n2): array} with finite complex arrays of shape ``shape_tail`` (N free if None)."""
    if not hasattr(value, "items") or len(value) == 0:
        raise ParameterError(
            f"{name} = {value!r} must be a non-empty dict {{(n1, n2): array in {unit}}}")
    out = {}
    for key, matrix in value.items():
        key = _lattice_key(name, key)
        try:
            m = np.asarray(matrix, dtype=complex)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}[{key}] must be a complex array in {unit}") from None
        if m.ndim != len(shape_tail) or m.shape[-1] != m.shape[-2] or any(
                s is not None and s != d for s, d in zip(shape_tail, m.shape)):
            want = "(" + ", ".join("N" if s is None else str(s) for s in shape_tail) + ")"
            raise ParameterError(f"{name}[{key}] has shape {m.shape}, must be {want}")
        if not np.all(np.isfinite(m)):
            raise ParameterError(f"{name}[{key}] has non-finite entries (must be finite, {unit})")
        if key in out:
            raise ParameterError(f"{name} has the key {key} twice")
        out[key] = m
    return out


def _check_hermitian_pairs(name, matrices, unit):
    """h(-R) = h(R)^dagger for every R (on the last two axes), to HERMITICITY_RTOL."""
    scale = max(float(np.max(np.abs(m))) for m in matrices.values())
    worst, worst_key = 0.0, None
    for key, m in matrices.items():
        partner = (-key[0], -key[1])
        if partner not in matrices:
            raise ParameterError(
                f"{name} has R = {key} but not its partner -R = {partner}: both must be "
                "given, with h(-R) = h(R)^dagger")
        deviation = float(np.max(np.abs(matrices[partner] - np.conj(np.swapaxes(m, -1, -2)))))
        if deviation > worst:
            worst, worst_key = deviation, key
    if worst > HERMITICITY_RTOL * scale:
        raise ParameterError(
            f"{name} is not Hermitian: at R = {worst_key}, max |h(-R) - h(R)^dagger| = "
            f"{worst:.3e} {unit}, allowed {HERMITICITY_RTOL:g} x max|{name}| = "
            f"{HERMITICITY_RTOL * scale:.3e} {unit}")


def _spin_matrices(value, n):
    """The spin operators (3, N, N) from an ordering name or an array."""
    if isinstance(value, str):
        if value not in _SPIN_ORDERINGS:
            raise ParameterError(
                f"spin_operators = {value!r} must be 'interleaved' (1up, 1dn, 2up, ...), "
                "'blocks' (all up, then all down) or a (3, N, N) complex array")
        if n % 2:
            raise ParameterError(
                f"spin_operators = {value!r} needs an even number of orbitals, the hoppings "
                f"have N = {n}")
        one = np.eye(n // 2)
        if value == "interleaved":
            return np.stack([np.kron(one, s) for s in PAULI])
        return np.stack([np.kron(s, one) for s in PAULI])
    try:
        s = np.asarray(value, dtype=complex)
    except (TypeError, ValueError):
        raise ParameterError(
            f"spin_operators = {value!r} must be 'interleaved', 'blocks' or a (3, N, N) "
            "complex array") from None
    if s.shape != (3, n, n):
        raise ParameterError(
            f"spin_operators has shape {s.shape}, must be (3, N, N) = (3, {n}, {n}) "
            "(N from the hoppings)")
    if not np.all(np.isfinite(s)):
        raise ParameterError("spin_operators has non-finite entries (must be finite)")
    deviation = np.max(np.abs(s - np.conj(np.swapaxes(s, -1, -2))), axis=(1, 2))
    scale = max(float(np.max(np.abs(s))), 1e-300)
    a = int(np.argmax(deviation))
    if deviation[a] > HERMITICITY_RTOL * scale:
        raise ParameterError(
            f"spin_operators[{a}] ({'xyz'[a]}) is not Hermitian: max |s - s^dagger| = "
            f"{deviation[a]:.3e}, allowed {HERMITICITY_RTOL:g} x max|s| = "
            f"{HERMITICITY_RTOL * scale:.3e}")
    return s


def _fourier_stack(keys, matrices_by_key, n):
    """(nR, N*N) array of the matrices in the order of ``keys`` (zero where absent)."""
    out = np.zeros((len(keys), n * n), dtype=complex)
    for r, key in enumerate(keys):
        if key in matrices_by_key:
            out[r] = matrices_by_key[key].reshape(n * n)
    return out


@dataclass(frozen=True, kw_only=True, eq=False)
class TightBindingModel:
    r"""N-band tight-binding model of a 2D ferromagnet on any (oblique) lattice.

    .. math::

        H_{ij}(\mathbf k; \mathbf M) = \sum_{\mathbf R} \Big[h_{ij}(\mathbf R)
            + \sum_a M_a X_{a,ij}(\mathbf R)\Big]
            e^{i \mathbf k\cdot(\mathbf R + \boldsymbol\tau_j - \boldsymbol\tau_i)},
        \qquad \hbar \mathbf v = \partial H / \partial \mathbf k

    in the position-aware gauge (the phases include the orbital positions tau, so that the
    velocity has its intracell term).  Every input is checked on construction; the arrays
    are stored read-only, and the model hashes and compares by value (:attr:`fingerprint`).
    ``dataclasses.replace(model, magnetization=...)`` rotates M with H0 and X unchanged.

    Parameters
    ----------
    lattice_vectors : (2, 2) array_like
        Rows a1, a2 in nm (any oblique cell, det != 0).
    hoppings : dict {(n1, n2): (N, N) array_like}
        h(R) = <0 i|H0|R j> in eV for R = n1 a1 + n2 a2; both R and -R must be given with
        h(-R) = h(R)^dagger (to 1e-10 relative to max |h|).
    spin_operators : (3, N, N) array_like or {"interleaved", "blocks"}
        The Pauli matrices s_a in the orbital basis (Hermitian).  "interleaved": orbitals
        1up, 1dn, 2up, ... (kron(1, s)); "blocks": all up, then all down (kron(s, 1)).
    orbital_positions : (N, 2) array_like, optional
        tau_i in nm (default: all at the origin).
    exchange : float or dict {(n1, n2): (3, N, N) array_like}, optional
        The operators X_a(R) in eV (X_a(-R) = X_a(R)^dagger); a float J means the on-site
        exchange of the Rashba ferromagnet, X_a(0) = -J s_a (docs/conventions.md §2.4).
        Default None: no exchange (M does not enter H).  Stored as a read-only mapping
        {(n1, n2): (3, N, N)} (empty without exchange), as are the hoppings.
    magnetization : (3,) array_like, optional
        Unit vector M (dimensionless), default (0, 0, 1).

    Examples
    --------
    A square lattice (a = 0.4 nm, t = 1 eV) with on-site exchange J = 0.1 eV along z:

    >>> import numpy as np
    >>> from kubo_sot.models.tight_binding import TightBindingModel
    >>> t, s0 = 1.0, np.eye(2)
    >>> hop = {(0, 0): 4 * t * s0, (1, 0): -t * s0, (-1, 0): -t * s0,
    ...        (0, 1): -t * s0, (0, -1): -t * s0}
    >>> model = TightBindingModel(lattice_vectors=[[0.4, 0], [0, 0.4]], hoppings=hop,
    ...                           spin_operators="interleaved", exchange=0.1)
    >>> model.band_energies(0.0, 0.0).round(12).tolist()
    [-0.1, 0.1]
    """

    lattice_vectors: np.ndarray
    hoppings: dict
    spin_operators: np.ndarray
    orbital_positions: np.ndarray = None
    exchange: dict = None
    magnetization: np.ndarray = (0.0, 0.0, 1.0)
    _cache: dict = field(default=None, init=False, repr=False)

    def __post_init__(self):
        lattice = self._checked_lattice(self.lattice_vectors)
        hoppings = _matrix_dict("hoppings", self.hoppings, (None, None), "eV")
        sizes = {m.shape[0] for m in hoppings.values()}
        if len(sizes) != 1:
            raise ParameterError(
                f"hoppings matrices have different sizes {sorted(sizes)}: all must be (N, N)")
        n = sizes.pop()
        _check_hermitian_pairs("hoppings", hoppings, "eV")
        spin = _spin_matrices(self.spin_operators, n)
        positions = self._checked_positions(self.orbital_positions, n)
        exchange = self._checked_exchange(self.exchange, spin, n)
        magnetization = np.array(_checks.unit_vector("magnetization", self.magnetization))

        def frozen(d):
            return types.MappingProxyType({k: _readonly(d[k]) for k in sorted(d)})

        object.__setattr__(self, "lattice_vectors", _readonly(lattice))
        object.__setattr__(self, "hoppings", frozen(hoppings))
        object.__setattr__(self, "spin_operators", _readonly(spin))
        object.__setattr__(self, "orbital_positions", _readonly(positions))
        object.__setattr__(self, "exchange", frozen(exchange))
        object.__setattr__(self, "magnetization", _readonly(magnetization))
        object.__setattr__(self, "_cache", {})
        self._precompute()

    # --- input checks -------------------------------------------------------------------

    @staticmethod
    def _checked_lattice(value):
        a = _real_array("lattice_vectors", value, "a (2, 2) real array in nm")
        if a.shape != (2, 2):
            raise ParameterError(
                f"lattice_vectors has shape {a.shape}, must be (2, 2) in nm (rows a1, a2)")
        if not np.all(np.isfinite(a)):
            raise ParameterError(f"lattice_vectors = {a.tolist()} nm must be finite")
        lengths = np.linalg.norm(a, axis=1)
        det = float(np.linalg.det(a))
        if not abs(det) > 1e-12 * lengths[0] * lengths[1]:
            raise ParameterError(
                f"lattice_vectors = {a.tolist()} nm are (nearly) parallel: det = {det:.3e} "
                "nm^2, must be non-zero (|det| > 1e-12 |a1| |a2|)")
        return a

    @staticmethod
    def _checked_positions(value, n):
        if value is None:
            return np.zeros((n, 2))
        tau = _real_array("orbital_positions", value, "an (N, 2) real array in nm")
        if tau.shape != (n, 2):
            raise ParameterError(
                f"orbital_positions has shape {tau.shape}, must be (N, 2) = ({n}, 2) in nm "
                "(N from the hoppings)")
        if not np.all(np.isfinite(tau)):
            raise ParameterError("orbital_positions has non-finite entries (must be finite, nm)")
        return tau

    @staticmethod
    def _checked_exchange(value, spin, n):
        if value is None:
            return {}
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            j = _checks.finite_scalar("exchange", value, "eV")
            return {(0, 0): -j * spin}
        if not hasattr(value, "items"):
            raise ParameterError(
                f"exchange = {value!r} must be None, a float J in eV (X_a = -J s_a on site) "
                "or a dict {(n1, n2): (3, N, N) array in eV}")
        if len(value) == 0:
            return {}
        exchange = _matrix_dict("exchange", value, (3, n, n), "eV")
        _check_hermitian_pairs("exchange", exchange, "eV")
        return exchange

    # --- pickling: rebuild through the constructor (the mapping proxies do not pickle) ----

    def __reduce__(self):
        return (_rebuild, (dict(lattice_vectors=self.lattice_vectors,
                                hoppings=dict(self.hoppings),
                                spin_operators=self.spin_operators,
                                orbital_positions=self.orbital_positions,
                                exchange=dict(self.exchange),
                                magnetization=self.magnetization),))

    # --- value semantics ------------------------------------------------------------------

    @property
    def fingerprint(self):
        """sha256 hex digest of all arrays (sorted R keys) and M: equal models, equal digests."""
        if "fingerprint" not in self._cache:
            digest = hashlib.sha256(b"kubo_sot.TightBindingModel/1")

            def add(array, dtype):
                # + 0.0 turns -0.0 into 0.0, so that the digest depends on values only.
                a = np.ascontiguousarray(np.asarray(array, dtype=dtype) + 0.0)
                digest.update(str(a.shape).encode())
                digest.update(a.astype(a.dtype.newbyteorder("<")).tobytes())
            add(self.lattice_vectors, float)
            for name in ("hoppings", "exchange"):
                mapping = getattr(self, name)
                digest.update(f"{name}:{len(mapping)}".encode())
                for key in sorted(mapping):
                    digest.update(repr(key).encode())
                    add(mapping[key], complex)
            add(self.spin_operators, complex)
            add(self.orbital_positions, float)
            add(self.magnetization, float)
            self._cache["fingerprint"] = digest.hexdigest()
        return self._cache["fingerprint"]

    def __repr__(self):
        # A summary: the arrays of a Wannier90 model would fill pages (the fingerprint
        # identifies them).
        return (f"TightBindingModel(n_bands={self.n_bands}, n_hoppings={len(self.hoppings)}, "
                f"lattice_vectors={self.lattice_vectors.tolist()}, "
                f"magnetization={self.magnetization.tolist()}, "
                f"exchange_terms={len(self.exchange)}, fingerprint={self.fingerprint[:12]})")

    def __eq__(self, other):
        if not isinstance(other, TightBindingModel):
            return NotImplemented
        return self.fingerprint == other.fingerprint

    def __hash__(self):
        return int(self.fingerprint[:16], 16)

    # --- geometry -------------------------------------------------------------------------

    @property
    def n_bands(self):
        """Number of orbitals N (spin included)."""
        return int(self.spin_operators.shape[-1])

    @property
    def reciprocal_vectors(self):
        """(2, 2) rows b1, b2 in nm^-1 with a_i . b_j = 2 pi delta_ij."""
        return 2 * np.pi * np.linalg.inv(self.lattice_vectors).T

    @property
    def cell_area(self):
        """Unit-cell area |det(a1, a2)| in nm^2."""
        return float(abs(np.linalg.det(self.lattice_vectors)))

    @property
    def exchange_is_local(self):
        """True if X is on-site: only at R = 0 and only between orbitals at one position, so
        that X(k) and the torque operators do not depend on k."""
        if "local" not in self._cache:
            local = all(key == (0, 0) or not np.any(x) for key, x in self.exchange.items())
            if local and (0, 0) in self.exchange:
                tau = self.orbital_positions
                scale = SAME_SITE_RTOL * float(np.max(np.linalg.norm(self.lattice_vectors, axis=1)))
                apart = np.linalg.norm(tau[:, None, :] - tau[None, :, :], axis=-1) > scale
                local = not np.any(self.exchange[(0, 0)][:, apart])
            self._cache["local"] = local
        return self._cache["local"]

    # --- Fourier sums ---------------------------------------------------------------------

    def _precompute(self):
        # Every Fourier sum here is Hermitian (h(-R) = h(R)^dagger, X likewise, and i R h(R)
        # too), so only the half R > 0 (lexicographically) and R = 0 with weight 1/2 are
        # summed: S = A + A^dagger, half the work of the full sum, and exactly Hermitian.
        n = self.n_bands
        keys = [key for key in sorted(set(self.hoppings) | set(self.exchange))
                if key > (0, 0) or key == (0, 0)]
        weight = np.array([0.5 if key == (0, 0) else 1.0 for key in keys])[:, None]
        r_int = np.array(keys, dtype=float).reshape(-1, 2)
        h0 = _fourier_stack(keys, self.hoppings, n)
        x = np.stack([_fourier_stack(keys, {k: v[a] for k, v in self.exchange.items()}, n)
                      for a in range(3)])
        h = weight * (h0 + np.tensordot(self.magnetization, x, axes=1))
        r_cart = r_int @ self.lattice_vectors  # (nR, 2) nm
        tau = self.orbital_positions
        c = self._cache
        c["r_int"] = np.array(keys, dtype=int).reshape(-1, 2)
        c["h"] = h
        # i R_j h(R), stacked after h itself: one matmul gives H and both derivatives.
        c["h_dh"] = np.concatenate([h, 1j * r_cart[:, 0:1] * h, 1j * r_cart[:, 1:2] * h], axis=1)
        c["x"] = np.concatenate(list(weight * x), axis=1)  # (nR, 3 N N)
        c["dtau"] = tau[None, :, :] - tau[:, None, :]  # tau_j - tau_i, (N, N, 2)
        c["has_positions"] = bool(np.any(c["dtau"] != 0))  # else the phases are all 1

    def _fourier(self, kx, ky, stack, n_blocks):
        """sum_R stack(R) exp(i k.(R + tau_j - tau_i)) over all R from the half stored:
        A + A^dagger, shape (n_blocks,) + kx.shape + (N, N)."""
        kx, ky = np.broadcast_arrays(np.asarray(kx, float), np.asarray(ky, float))
        shape, n = kx.shape, self.n_bands
        k = np.stack([kx.reshape(-1), ky.reshape(-1)], axis=-1)  # (P, 2)
        out = np.empty((n_blocks, k.shape[0], n, n), dtype=complex)
        tau = self.orbital_positions
        chunk = int(np.clip(FOURIER_CHUNK_ELEMENTS // (n_blocks * n * n), 16, FOURIER_CHUNK))
        for start in range(0, k.shape[0], chunk):
            kc = k[start:start + chunk]
            block = (self._lattice_phases(kc) @ stack).reshape(-1, n_blocks, n, n)
            if self._cache["has_positions"]:
                # exp(i k.(tau_j - tau_i)) = conj(e_i) e_j with e_j = exp(i k.tau_j); this
                # factor F is Hermitian, so F o (A + A^dagger) = F o A + (F o A)^dagger.
                e = np.exp(1j * (kc @ tau.T))
                block *= (np.conj(e)[:, None, :, None] * e[:, None, None, :])
            block = block.transpose(1, 0, 2, 3)
            out[:, start:start + chunk] = block + np.conj(np.swapaxes(block, -1, -2))
        return out.reshape((n_blocks,) + shape + (n, n)), k, shape

    def _lattice_phases(self, k):
        """exp(i k.R) for all R, (P, nR): products of powers of z_i = exp(i k.a_i) (two
        complex exponentials per k instead of nR; cumulative products lose ~|n| ulp)."""
        n_int = self._cache["r_int"]
        z = np.exp(1j * (k @ self.lattice_vectors.T))  # (P, 2)
        phases = np.ones((k.shape[0], n_int.shape[0]), dtype=complex)
        for axis in range(2):
            n_max = int(np.max(np.abs(n_int[:, axis])))
            if n_max == 0:
                continue
            powers = np.empty((2 * n_max + 1, k.shape[0]), dtype=complex)
            powers[n_max] = 1.0
            powers[n_max + 1:] = np.cumprod(np.broadcast_to(z[:, axis], (n_max, k.shape[0])),
                                            axis=0)
            powers[:n_max] = np.conj(powers[:n_max:-1])
            phases *= powers[n_int[:, axis] + n_max].T
        return phases

    def hamiltonian(self, kx, ky):
        """H(k) in eV, shape ``kx.shape + (N, N)`` (kx, ky in nm^-1, broadcast together)."""
        return self._fourier(kx, ky, self._cache["h"], 1)[0][0]

    def velocity(self, kx, ky):
        r"""hbar v_j = dH/dk_j in eV nm, shape ``(2,) + kx.shape + (N, N)``.

        hbar v_j = sum_R i (R + tau_j - tau_i)_j [h(R) + M.X(R)] exp(i k.(R + tau_j - tau_i)):
        the lattice part plus the intracell term i (tau_j - tau_i)_j H_ij(k).
        """
        return self.hamiltonian_and_velocity(kx, ky)[1]

    def hamiltonian_and_velocity(self, kx, ky):
        """``(hamiltonian(kx, ky), velocity(kx, ky))`` from one Fourier sum (the velocity
        needs H for its intracell term anyway): a third less work than the two calls."""
        blocks, _, shape = self._fourier(kx, ky, self._cache["h_dh"], 3)
        h, v = blocks[0], blocks[1:]
        if self._cache["has_positions"]:
            dtau = np.moveaxis(self._cache["dtau"], -1, 0)  # (2, N, N)
            v = v + 1j * dtau.reshape((2,) + (1,) * len(shape) + dtau.shape[1:]) * h
        return h, v

    def exchange_operators(self, kx, ky):
        """X_a(k) in eV (same phases as H), shape ``(3,) + kx.shape + (N, N)``."""
        return self._fourier(kx, ky, self._cache["x"], 3)[0]

    def torque_operators(self, kx, ky):
        """Torque operators T = -M x X(k) in eV, shape ``(3,) + kx.shape + (N, N)``.

        T_a = -sum_bc eps_abc M_b X_c(k); for X = -J s this is J M x s
        (docs/conventions.md §3.3: the torque density is J M x delta<s>).
        """
        return _minus_m_cross(self.magnetization, self.exchange_operators(kx, ky))

    def local_torque_operators(self):
        """The k-independent torque operators -M x X(0), (3, N, N) in eV (local exchange only)."""
        if not self.exchange_is_local:
            raise ParameterError(
                "local_torque_operators: the exchange of this model is not on-site (X at "
                "R != 0 or between orbitals at different positions); use torque_operators(kx, ky)")
        n = self.n_bands
        x = self.exchange.get((0, 0), np.zeros((3, n, n), complex))
        return _minus_m_cross(self.magnetization, x)

    # --- bands ----------------------------------------------------------------------------

    def eigensystem(self, kx, ky):
        """Band energies (ascending, eV, ``kx.shape + (N,)``) and eigenvectors as columns."""
        return np.linalg.eigh(self.hamiltonian(kx, ky))

    def band_energies(self, kx, ky):
        """Ascending band energies in eV, shape ``kx.shape + (N,)``."""
        return np.linalg.eigvalsh(self.hamiltonian(kx, ky))

    def band_bottom(self):
        """Minimum of the lowest band in eV (BZ grid in reduced coordinates, then refined)."""
        return self._band_extrema()[0]

    def band_top(self):
        """Maximum of the highest band in eV (BZ grid in reduced coordinates, then refined)."""
        return self._band_extrema()[1]

    def _band_extrema(self):
        if "extrema" not in self._cache:
            from scipy.optimize import minimize
            b = self.reciprocal_vectors
            g = np.arange(EXTREMUM_GRID) / EXTREMUM_GRID
            u, w = np.meshgrid(g, g, indexing="ij")
            kx, ky = (np.stack([u, w], axis=-1) @ b).transpose(2, 0, 1)
            e = self.band_energies(kx, ky)
            found = []
            for band, sign in ((0, 1.0), (-1, -1.0)):
                def f(x):
                    k = x @ b
                    return sign * self.band_energies(k[0], k[1])[band]
                y = sign * e[..., band]
                i = np.unravel_index(np.argmin(y), y.shape)
                best = minimize(f, x0=[u[i], w[i]], method="Nelder-Mead",
                                options={"xatol": 1e-12, "fatol": 1e-15})
                found.append(sign * min(float(best.fun), float(y[i])))
            self._cache["extrema"] = tuple(found)
        return self._cache["extrema"]

    # --- provenance and construction from files ------------------------------------------

    def parameters(self):
        """JSON-able summary for provenance (the fingerprint identifies all arrays)."""
        return {"model": "TightBindingModel", "n_bands": self.n_bands,
                "lattice_vectors_nm": self.lattice_vectors.tolist(),
                "n_hoppings": len(self.hoppings), "fingerprint": self.fingerprint,
                "magnetization": self.magnetization.tolist()}

    @classmethod
    def from_wannier90(cls, hr_file, *, lattice_vectors=None, orbital_positions=None,
                       spin_operators=None, exchange=None, magnetization=None):
        """Model from a Wannier90 ``seedname_hr.dat``.

        The file holds H at the magnetization M it was computed at, so the model's
        H0(R) = h_file(R) - sum_a M_a X_a(R), and H(k; M') = H0(k) + M'.X(k) at any other M'.

        Parameters
        ----------
        hr_file : str or path-like
            ``seedname_hr.dat`` (H in eV).
        lattice_vectors : (2, 2) array_like, optional
            a1, a2 in nm; default from ``seedname_tb.dat`` or ``seedname.win`` next to the
            file.
        orbital_positions : (N, 2) array_like, optional
            tau in nm; default from ``seedname_centres.xyz`` where it exists, else zeros.
        spin_operators : {"interleaved", "blocks"} or (3, N, N) array_like
            Required: Wannier90 orders spinor WFs "interleaved" (spinors = true: 1up, 1dn,
            ...) or "blocks" (two spin channels: all up then all down); or the Pauli
            matrices.
        exchange : float or dict, optional
            J (X = -J s on site) or {(n1, n2): (3, N, N)} in eV; default None (no
            exchange).
        magnetization : (3,) array_like
            The M of the file; required when ``exchange`` is given (default (0, 0, 1)
            without).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from kubo_sot import TightBindingModel
        >>> from kubo_sot.models.wannier90 import write_hr
        >>> d = tempfile.mkdtemp(); f = os.path.join(d, "chain_hr.dat")
        >>> s0 = np.eye(2)
        >>> write_hr(f, [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]],
        ...          [2 * s0, -0.5 * s0, -0.5 * s0, -0.5 * s0, -0.5 * s0])
        >>> m = TightBindingModel.from_wannier90(f, lattice_vectors=[[0.3, 0], [0, 0.3]],
        ...                                    spin_operators="interleaved")
        >>> m.band_energies(0.0, 0.0).round(12).tolist()
        [0.0, 0.0]
        """
        return model_at_magnetization(**hr_file_fields(
            hr_file, lattice_vectors=lattice_vectors, orbital_positions=orbital_positions,
            spin_operators=spin_operators, exchange=exchange, magnetization=magnetization))

    @classmethod
    def from_sisl(cls, hamiltonian, *, spin_operators=None, exchange=None, magnetization=None):
        """Model from a ``sisl.Hamiltonian`` (orthogonal basis).

        The lattice is ``geometry.lattice.cell`` (Angstrom -> nm; a1, a2 in the xy plane, a3
        along z, no images along a3), the orbital positions the (x, y) of their atoms, the
        hoppings the supercell blocks of H in eV.  As for :meth:`from_wannier90`, the
        Hamiltonian holds H at ``magnetization``: H0 = H - M.X.

        Parameters
        ----------
        hamiltonian : sisl.Hamiltonian
            Unpolarized, polarized, non-colinear or spin-orbit; orthogonal basis.
        spin_operators : None, "interleaved", "blocks" or (3, N, N) array_like
            None or "interleaved": sisl's spinor order (1up, 1dn, 2up, ...); "blocks"
            reorders the basis to all up, then all down; an array gives the Pauli matrices
            in the interleaved basis.
        exchange : float or dict, optional
            J (X = -J s on site) or {(n1, n2): (3, N, N)} in eV (N = 2 x sisl's orbitals).
        magnetization : (3,) array_like
            The M at which ``hamiltonian`` was computed; required with ``exchange``.

        Examples
        --------
        >>> import sisl
        >>> from kubo_sot import TightBindingModel
        >>> H = sisl.Hamiltonian(sisl.geom.graphene())
        >>> H.construct([(0.1, 1.44), (0.0, -2.7)])
        >>> TightBindingModel.from_sisl(H).n_bands
        4
        """
        return model_at_magnetization(**sisl_fields(
            hamiltonian, spin_operators=spin_operators, exchange=exchange,
            magnetization=magnetization))


def _minus_m_cross(m, x):
    """-M x X for X of shape (3, ...): T_a = -sum_bc eps_abc M_b X_c."""
    mx, my, mz = (float(c) for c in m)
    return -np.stack([my * x[2] - mz * x[1], mz * x[0] - mx * x[2], mx * x[1] - my * x[0]])


def model_at_magnetization(*, hoppings, exchange, magnetization, **fields):
    """The model whose H(k; M) at ``magnetization`` has the hoppings ``hoppings``:
    H0(R) = hoppings(R) - sum_a M_a X_a(R) (for files that hold H at one M)."""
    at_m = TightBindingModel(hoppings=hoppings, exchange=exchange,
                             magnetization=magnetization, **fields)
    h0 = dict(at_m.hoppings)
    for key, x in at_m.exchange.items():
        h0[key] = h0.get(key, 0) - np.tensordot(at_m.magnetization, x, axes=1)
    return TightBindingModel(lattice_vectors=at_m.lattice_vectors, hoppings=h0,
                             spin_operators=at_m.spin_operators,
                             orbital_positions=at_m.orbital_positions,
                             exchange=dict(at_m.exchange) or None,
                             magnetization=at_m.magnetization)


def _rebuild(kwargs):
    return TightBindingModel(**kwargs)


__all__ = ["TightBindingModel"]