"""Compiled (numba) per-k Kubo-Bastin integrand of a general N-band Hamiltonian.

The readable reference is :func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_matrices`
(numpy: ``eigh``, :func:`~kubo_sot.kernels.kubo_bastin.to_eigenbasis`,
:func:`~kubo_sot.kernels.energy_integrals.band_pair_integrals`, einsum);
``tests/test_nband_kernel.py`` compares the two, and both with the explicit Green's-function
route :func:`kubo_sot.kernels.kubo_bastin_green.kubo_bastin_green`.  Per k-point this module
does the same steps in one compiled loop:

1. ``np.linalg.eigh`` of H(k) (LAPACK zheevd, as numpy);
2. the operators in the eigenbasis, U^dagger O U: explicit loops for few bands, BLAS
   (``np.dot`` on contiguous complex workspaces) from ``BLAS_MIN_BANDS`` bands on;
3. the band-pair energy weights with the pair primitives of the two-band kernel
   :mod:`kubo_sot.kernels.kubo_bastin_numba` (``_pole_pair``: closed forms, or the midpoint
   series for near-degenerate and degenerate pairs with the switch of
   :mod:`kubo_sot.kernels.energy_integrals`; ``_polygamma_012`` for P_1, P_2 and the digamma
   differences at T > 0);
4. the contraction sum_nm B_nm V_mn w_nm for the three weights and both field directions,
   as one real matrix product (BLAS) or explicit loops.

All workspaces are allocated once per call, none per k-point (``eigh`` allocates its own
outputs).  The loop over k is serial (``nogil``): parallelism is injected by the sweep layer.
``benchmarks/nband_kernel.py`` times it against ``eigh`` alone (K = 8 operators, one
thread, measured 2026-12-03): 1.7-2.6 eigh at T = 0 and 2.3-3.1 eigh at 300 K for N = 2..36.
Above eigh, the largest costs are the transforms (~0.5-0.7 eigh) and, at T > 0, the
near-degenerate pairs (~10% of the pairs of a dense spectrum at N = 36, each ~3 us in the
polygamma orders up to 23 of ``_pole_pair``'s series).

numba is an optional dependency (``pip install kubo_sot[fast]``); the module imports without
it, :func:`applies` is then False and :func:`nband_integrand` raises ModuleNotFoundError.
"""

import cmath
import math

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .kubo_bastin_numba import _pole_pair, _polygamma_012

try:
    from numba import njit
except ImportError:  # the extra kubo_sot[fast] is not installed
    njit = None

AVAILABLE = njit is not None
"""True when numba is installed and the compiled kernel can be used."""

# From this many bands on, the eigenbasis transforms and the contraction go through BLAS;
# below it explicit loops are faster (a BLAS call costs ~0.15 us, a 4x4 complex product
# ~0.05 us in a loop; benchmarks/nband_kernel.py).
BLAS_MIN_BANDS = 6
# Hermiticity of H(k) that eigh (which reads the lower triangle only) may assume: relative
# to the largest |H_ij| of the same k-point.
HERMITICITY_TOLERANCE = 1e-10
# A constant operator with at most this fraction of nonzero elements is multiplied by U
# through its nonzeros (BLAS path): the product by the dense zeros would cost ~ N^3.
SPARSE_FILL = 0.25
N_WEIGHTS = 6  # (RA, RR, sea) x (field direction x, y)


def _compiled(function):
    """``numba.njit(cache=True, nogil=True)`` when numba is installed, else the function."""
    return njit(cache=True, nogil=True)(function) if AVAILABLE else function


def _inlined(function):
    """As :func:`_compiled`, inlined into its callers (numba IR): the per-k helpers, whose
    call overhead counts at a few bands."""
    return njit(cache=True, nogil=True, inline="always")(function) if AVAILABLE else function


@_inlined
def _sparse_product(o, u, out):
    """out = O U from the nonzero elements of O: N x (number of nonzeros) operations, for
    the spin matrices (s_a x 1: N nonzeros) N^2 instead of N^3; the same sums as a dense
    product (a zero adds exactly nothing)."""
    n = u.shape[0]
    for a in range(n):
        for m in range(n):
            out[a, m] = 0j
        for b in range(n):
            x = o[a, b]
            if x != 0:
                for m in range(n):
                    out[a, m] += x * u[b, m]


@_inlined
def _transform_loops(u, operators, scratch, elements, offset):
    """elements[offset + k] = U^dagger O_k U for the (n_ops, N, N) ``operators``, explicit
    loops (X = O_k U in ``scratch`` from the nonzeros of O_k, then U^dagger X)."""
    n = u.shape[0]
    for k in range(operators.shape[0]):
        _sparse_product(operators[k], u, scratch)
        e = elements[offset + k]
        for i in range(n):
            for m in range(n):
                e[i, m] = 0j
            for a in range(n):
                x = u[a, i].conjugate()
                for m in range(n):
                    e[i, m] += x * scratch[a, m]


@_compiled
def _transform_blas(u, uh, operators, sparse, stacked, elements, offset):
    """As :func:`_transform_loops` with BLAS: X_k = O_k U (one product [O_1; ...; O_K] U of
    the stacked (K N, N) operators, or by the nonzeros of those flagged ``sparse``) into
    ``stacked`` (K, N, N), then U^dagger X_k per operator."""
    n_ops, n = operators.shape[0], u.shape[0]
    if np.any(sparse):
        for k in range(n_ops):
            if sparse[k]:
                _sparse_product(operators[k], u, stacked[k])
            else:
                np.dot(operators[k], u, stacked[k])
    else:
        np.dot(operators.reshape(n_ops * n, n), u,
               stacked.reshape(stacked.shape[0] * n, n)[:n_ops * n])
    for k in range(n_ops):
        np.dot(uh, stacked[k], elements[offset + k])


@_inlined
def _band_pair_weights(energies, fermi_energy, gamma, thermal_energy, p1, p2, logs, ra, rr,
                       sea):
    """Fill ra, rr, sea (N, N) with the weights of ``energy_integrals.band_pair_integrals``.

    Per band (z_n = E_n - i Gamma): P_1(z_n), P_2(z_n) and the log (T = 0) or digamma
    (T > 0) whose differences are L(z_m, z_n); per pair n < m the two-band kernel's
    ``_pole_pair`` (closed forms, or the midpoint series near degeneracy; an exactly
    degenerate pair gives rr = P_2 and sea = 0 there); the diagonal rr_nn = P_2(z_n),
    sea_nn = 0.  rr is symmetric and sea antisymmetric in (n, m).
    """
    n = energies.shape[0]
    if thermal_energy == 0.0:
        for i in range(n):
            w = fermi_energy - complex(energies[i], -gamma)
            p1[i] = 1.0 / w
            p2[i] = p1[i] * p1[i]
            # Both mu - z lie in the upper half plane: differences of principal logs are
            # L(z_m, z_n) (as in the reference, one log per band instead of per pair).
            logs[i] = cmath.log(w)
    else:
        kappa = 2j * math.pi * thermal_energy
        for i in range(n):
            x = 0.5 + (fermi_energy - complex(energies[i], -gamma)) / kappa
            # (psi(x), psi'(x) / kappa = P_1, psi''(x) / kappa^2 = -P_2)
            psi, first, second = _polygamma_012(x, 1.0 / kappa)
            logs[i] = psi
            p1[i] = first
            p2[i] = -second
    for i in range(n):
        z_i = complex(energies[i], -gamma)
        for m in range(n):
            if thermal_energy == 0.0:
                # (mu - z_m)^-1 (mu - conj z_n)^-1 directly, as the reference.
                ra[i, m] = p1[m] * p1[i].conjugate()
            else:
                ra[i, m] = ((p1[m] - p1[i].conjugate())
                            / (complex(energies[m], -gamma) - z_i.conjugate()))
        rr[i, i] = p2[i]
        sea[i, i] = 0j
        for m in range(i + 1, n):
            pair_rr, pair_sea = _pole_pair(z_i, complex(energies[m], -gamma), fermi_energy,
                                           thermal_energy, p1[i], p1[m], logs[m] - logs[i])
            rr[i, m] = pair_rr
            rr[m, i] = pair_rr
            sea[i, m] = pair_sea
            sea[m, i] = -pair_sea


@_inlined
def _weighted_velocities(elements, ra, rr, sea, weighted):
    """weighted[n*N + m, :] = V^j_mn (ra, rr, sea)_nm for j = x, y as real rows:
    (Re, -Im) in rows 2 idx, 2 idx + 1, so that Re sum_nm B_nm Y_nm is the real dot
    product of the interleaved (Re B, Im B) with a column."""
    n = ra.shape[0]
    for i in range(n):
        for m in range(n):
            idx = 2 * (i * n + m)
            for j in range(2):
                v = elements[j, m, i]
                y = v * ra[i, m]
                weighted[idx, 3 * j] = y.real
                weighted[idx + 1, 3 * j] = -y.imag
                y = v * rr[i, m]
                weighted[idx, 3 * j + 1] = y.real
                weighted[idx + 1, 3 * j + 1] = -y.imag
                y = v * sea[i, m]
                weighted[idx, 3 * j + 2] = y.real
                weighted[idx + 1, 3 * j + 2] = -y.imag


@_inlined
def _contract_loops(elements_real, weighted, sums):
    """sums = elements_real (K, 2 N^2) @ weighted (2 N^2, 6), explicit loops."""
    for k in range(elements_real.shape[0]):
        for c in range(N_WEIGHTS):
            sums[k, c] = 0.0
        for r in range(elements_real.shape[1]):
            x = elements_real[k, r]
            for c in range(N_WEIGHTS):
                sums[k, c] += x * weighted[r, c]


@_compiled
def _integrand_loop(hamiltonians, velocities, constant_operators, kpoint_operators,
                    fermi_energy, gamma, thermal_energy, use_blas, surface_a, surface_b,
                    sea):
    """Fill surface_a, surface_b, sea (P, K, 2) at every k-point (see nband_integrand)."""
    n_k, n = hamiltonians.shape[0], hamiltonians.shape[1]
    n_const, n_kop = constant_operators.shape[0], kpoint_operators.shape[1]
    n_ops = 2 + n_const + n_kop
    elements = np.empty((n_ops, n, n), np.complex128)
    elements_real = elements.reshape(n_ops * n * n).view(np.float64).reshape(n_ops, 2 * n * n)
    stacked = np.empty((max(2, n_const, n_kop), n, n), np.complex128)
    u = np.empty((n, n), np.complex128)
    uh = np.empty((n, n), np.complex128)
    p1 = np.empty(n, np.complex128)
    p2 = np.empty(n, np.complex128)
    logs = np.empty(n, np.complex128)
    ra = np.empty((n, n), np.complex128)
    rr = np.empty((n, n), np.complex128)
    sea_w = np.empty((n, n), np.complex128)
    weighted = np.empty((2 * n * n, N_WEIGHTS))
    sums = np.empty((n_ops, N_WEIGHTS))
    # The constant operators (typically s_a x 1) take the sparse product once sparse
    # enough; the k-dependent ones are treated as dense (counting costs N^2 per k).
    sparse_constants = np.zeros(n_const, np.bool_)
    for k in range(n_const):
        sparse_constants[k] = (np.count_nonzero(constant_operators[k])
                               <= SPARSE_FILL * n * n)
    dense_velocities = np.zeros(2, np.bool_)
    dense_kpoint = np.zeros(n_kop, np.bool_)
    for p in range(n_k):
        energies, vectors = np.linalg.eigh(hamiltonians[p])
        for a in range(n):
            for b in range(n):
                u[a, b] = vectors[a, b]
                uh[b, a] = vectors[a, b].conjugate()
        if use_blas:
            _transform_blas(u, uh, velocities[p], dense_velocities, stacked, elements, 0)
            if n_const > 0:
                _transform_blas(u, uh, constant_operators, sparse_constants, stacked,
                                elements, 2)
            if n_kop > 0:
                _transform_blas(u, uh, kpoint_operators[p], dense_kpoint, stacked,
                                elements, 2 + n_const)
        else:
            _transform_loops(u, velocities[p], stacked[0], elements, 0)
            _transform_loops(u, constant_operators, stacked[0], elements, 2)
            _transform_loops(u, kpoint_operators[p], stacked[0], elements, 2 + n_const)
        _band_pair_weights(energies, fermi_energy, gamma, thermal_energy, p1, p2, logs, ra,
                           rr, sea_w)
        _weighted_velocities(elements, ra, rr, sea_w, weighted)
        if use_blas:
            np.dot(elements_real, weighted, sums)
        else:
            _contract_loops(elements_real, weighted, sums)
        for k in range(n_ops):
            sign = -1.0 if k < 2 else 1.0  # B = -hbar v for the first two operators
            for j in range(2):
                surface_a[p, k, j] = -sign * sums[k, 3 * j]
                surface_b[p, k, j] = sign * sums[k, 3 * j + 1]
                sea[p, k, j] = -sign * sums[k, 3 * j + 2]


@_compiled
def _hermiticity_defects(hamiltonians, defect, scale):
    """defect[p] = max |H - H^dagger| and scale[p] = max |H_ij| of every H(k) (one pass,
    no temporaries: the check costs N^2 per k against the kernel's N^3)."""
    n = hamiltonians.shape[1]
    for p in range(hamiltonians.shape[0]):
        h = hamiltonians[p]
        worst = 0.0
        largest = 0.0
        for i in range(n):
            largest = max(largest, abs(h[i, i]))
            worst = max(worst, 2.0 * abs(h[i, i].imag))
            for j in range(i + 1, n):
                worst = max(worst, abs(h[i, j] - h[j, i].conjugate()))
                largest = max(largest, abs(h[i, j]), abs(h[j, i]))
        defect[p] = worst
        scale[p] = largest


def applies():
    """True when numba is installed, so that :func:`nband_integrand` can run."""
    return AVAILABLE


def _complex_stack(name, value, shape, unit):
    """``value`` as a C-contiguous complex128 array of ``shape`` (None: any size), finite."""
    array = np.asarray(value)
    if array.ndim != len(shape) or any(s is not None and a != s
                                       for a, s in zip(array.shape, shape)):
        expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ParameterError(f"{name} has shape {array.shape}; expected {expected} ({unit})")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype,
                                                                   np.timedelta64):
        raise ParameterError(f"{name} must be a numeric array in {unit}, got {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.complex128)
    if not np.all(np.isfinite(array)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ParameterError(f"{name} must be finite ({unit}); first non-finite element at "
                             f"index {index}")
    return array


def nband_integrand(hamiltonians, velocities, constant_operators, kpoint_operators,
                    fermi_energy, gamma, thermal_energy=0.0):
    """Kubo-Bastin surface (a), surface (b) and sea integrands of an N-band H(k) (compiled).

    With H(k) = sum_n E_n |n><n|, G^R_n(eps) = 1 / (eps - E_n + i Gamma), per k-point

        surface_a = -Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^A_n
        surface_b = +Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^R_n
        sea       = -Re sum_{n,m} B_nm V_mn (E_m - E_n) Int f (G^R_m)^2 (G^R_n)^2

    (docs/conventions.md §4.2; Crépieux & Bruno, PRB 64, 014416 (2001)), for the response
    operators B = (-hbar v_x, -hbar v_y, constant_operators..., kpoint_operators...) and
    V = hbar v_j (j = x, y), with the closed-form energy integrals of
    :mod:`kubo_sot.kernels.energy_integrals` (T = 0 and T > 0; midpoint series for
    near-degenerate and degenerate band pairs).  Same numbers, to rounding, as the numpy
    reference :func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_matrices`.

    Parameters
    ----------
    hamiltonians : (P, N, N) array
        Hermitian H(k) in eV (Hermitian to 1e-10 of its largest element).
    velocities : (P, 2, N, N) array
        hbar v_j = dH/dk_j in eV nm.
    constant_operators : (K1, N, N) array
        Response operators that are the same at every k (e.g. the spin matrices); K1 may
        be 0.
    kpoint_operators : (P, K2, N, N) array or None
        Response operators that depend on k (e.g. torque operators of a non-local
        exchange); None or K2 = 0 for none.
    fermi_energy : float
        mu in eV.
    gamma : float
        Constant broadening Gamma in eV (> 0).
    thermal_energy : float, optional
        k_B T in eV (>= 0), default 0.

    Returns
    -------
    surface_a, surface_b, sea : (P, K, 2) float arrays, K = 2 + K1 + K2
        In units of [B] nm / eV (before the prefactor -e hbar / 2 pi and the k-integral);
        index k runs over B, the last index over the field direction j.

    Raises
    ------
    ParameterError
        On inconsistent shapes, non-finite input, a non-Hermitian H, Gamma <= 0 or T < 0.
    ModuleNotFoundError
        If numba is not installed (``pip install kubo_sot[fast]``; the numpy reference
        ``kubo_bastin_matrices`` computes the same).

    Examples
    --------
    >>> import numpy as np
    >>> from kubo_sot.kernels.kubo_bastin_nband_numba import nband_integrand
    >>> h = np.diag([-0.1, 0.2]).astype(complex)[None]
    >>> v = np.array([[[0.0, 0.1], [0.1, 0.0]], [[0.0, -0.1j], [0.1j, 0.0]]])[None]
    >>> [x.shape for x in nband_integrand(h, v, np.eye(2)[None], None, 0.0, 0.01)]
    [(1, 3, 2), (1, 3, 2), (1, 3, 2)]
    """
    mu = _checks.finite_scalar("fermi_energy", fermi_energy, "eV")
    gamma = _checks.positive("gamma", gamma, "eV")
    kt = _checks.non_negative("thermal_energy", thermal_energy, "eV")
    h = _complex_stack("hamiltonians", hamiltonians, (None, None, None), "eV")
    n_k, n = h.shape[0], h.shape[1]
    if h.shape[2] != n or n == 0:
        raise ParameterError(f"hamiltonians has shape {h.shape}; expected (P, N, N), N >= 1")
    v = _complex_stack("velocities", velocities, (n_k, 2, n, n), "eV nm")
    c = _complex_stack("constant_operators", constant_operators, (None, n, n),
                       "units of the response")
    if kpoint_operators is None:
        kpoint_operators = np.empty((n_k, 0, n, n), np.complex128)
    kop = _complex_stack("kpoint_operators", kpoint_operators, (n_k, None, n, n),
                         "units of the response")
    defect, scale = np.empty(n_k), np.empty(n_k)
    _hermiticity_defects(h, defect, scale)
    worst = int(np.argmax(defect - HERMITICITY_TOLERANCE * scale))
    if defect[worst] > HERMITICITY_TOLERANCE * scale[worst]:
        raise ParameterError(
            f"hamiltonians[{worst}] is not Hermitian: max |H - H^dagger| = "
            f"{defect[worst]:.3g} eV, allowed {HERMITICITY_TOLERANCE:g} x max |H| = "
            f"{HERMITICITY_TOLERANCE * scale[worst]:.3g} eV")
    if not AVAILABLE:
        raise ModuleNotFoundError("nband_integrand needs numba: pip install 'kubo_sot[fast]' "
                                  "(or use the numpy reference "
                                  "kubo_sot.kernels.kubo_bastin.kubo_bastin_matrices)")
    shape = (n_k, 2 + c.shape[0] + kop.shape[1], 2)
    surface_a, surface_b, sea = np.empty(shape), np.empty(shape), np.empty(shape)
    _integrand_loop(h, v, c, kop, mu, gamma, kt, n >= BLAS_MIN_BANDS, surface_a, surface_b,
                    sea)
    return surface_a, surface_b, sea
