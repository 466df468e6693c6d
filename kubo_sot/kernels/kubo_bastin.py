"""Kubo-Bastin integrands in the eigenbasis of H(k), with closed-form energy integrals.

For operators B_k (here -hbar v_i and the spin operators) and the velocities hbar v_j, the
three terms of docs/conventions.md §4.2, per k-point and without the prefactor -e hbar/2pi
(which the observables apply), are

    surface_a = -Re Tr[B G^R V_j G^A] = -Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^A_n
    surface_b = +Re Tr[B G^R V_j G^R] = +Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^R_n
    sea       = -Re Tr[B G^R V_j dG^R - B dG^R V_j G^R]
              = -Re sum_{n,m} B_nm V_mn (E_m - E_n) Int f (G^R_m)^2 (G^R_n)^2

(using G_m dG_n - dG_m G_n = (E_m - E_n) G_m^2 G_n^2 for simple poles).  The band-pair
energy integrals come from :mod:`kubo_sot.kernels.energy_integrals`.

With a constant matrix self-energy Sigma (e.g. the Born self-energy of white-noise disorder
at the Fermi level) H + Sigma is not Hermitian: G^R = sum_n P_n / (eps - z_n) with the
spectral projectors P_n = |R_n><L_n| (right and left eigenvectors) and complex poles z_n,
and G^A = (G^R)^dagger.  The same sums hold with B_nm V_mn -> Tr[B P_m V P_n] for the RR
and sea terms and Tr[B P_m V P_n^dagger] for the RA term (:func:`kubo_bastin_projectors`).
"""

import numpy as np

from ..models.base import PAULI
from .energy_integrals import band_pair_integrals, pole_pair_integrals


def to_eigenbasis(operators, vectors):
    """Matrix elements <n|O|m> of operators (..., N, N) in eigenbases ``vectors`` (M, N, N).

    ``operators`` has shape (M, K, N, N) or (K, N, N) (the same operator at every k).
    Returns (M, K, N, N).
    """
    udag = np.conj(np.swapaxes(vectors, -1, -2))
    if operators.ndim == 3:
        return np.einsum("Mab,kbc,Mcd->Mkad", udag, operators, vectors, optimize=True)
    return np.einsum("Mab,Mkbc,Mcd->Mkad", udag, operators, vectors, optimize=True)


def response_elements(model, kx, ky):
    """Band energies (M, N) and, in the eigenbasis of H(k), the response operators
    B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z) (M, 5, N, N) and the velocities hbar v_j
    (M, 2, N, N) of ``model`` at the wave vectors (kx, ky)."""
    energies, vectors = model.eigensystem(kx, ky)
    vel = to_eigenbasis(np.moveaxis(model.velocity(kx, ky), 0, 1), vectors)
    ops = np.concatenate([-vel, to_eigenbasis(model.spin_operators(), vectors)], axis=1)
    return energies, ops, vel


def kubo_bastin_eigenbasis(energies, operator_elements, velocity_elements, broadening,
                           integrals):
    """Kubo-Bastin surface (a), surface (b) and sea integrands at a stack of k-points.

    Parameters
    ----------
    energies : (M, N) array
        Band energies in eV.
    operator_elements : (M, K, N, N) complex array
        <n|B_k|m> of the response operators.
    velocity_elements : (M, 2, N, N) complex array
        <n|hbar v_j|m> in eV nm.
    broadening : float
        Gamma in eV.
    integrals : kubo_sot.kernels.energy_integrals.EnergyIntegrals
        Chemical potential and temperature.

    Returns
    -------
    surface_a, surface_b, sea : (M, K, 2) arrays
        In units of [B] nm / eV (before the prefactor and the k-integral).
    """
    ra, rr, sea_w = band_pair_integrals(energies, broadening, integrals)
    # products[M, k, j, n, m] = B_nm V_mn
    products = np.einsum("Mknm,Mjmn->Mkjnm", operator_elements, velocity_elements,
                         optimize=True)
    surface_a = -np.einsum("Mkjnm,Mnm->Mkj", products, ra).real
    surface_b = np.einsum("Mkjnm,Mnm->Mkj", products, rr).real
    sea = -np.einsum("Mkjnm,Mnm->Mkj", products, sea_w).real
    return surface_a, surface_b, sea


def spectral_projectors(matrices):
    """Poles z_n and spectral projectors P_n = |R_n><L_n| of non-Hermitian (M, N, N) matrices.

    Returns ``poles`` (M, N) complex and ``projectors`` (M, N, N, N) indexed [M, n, a, b],
    with sum_n P_n = 1 and sum_n z_n P_n = the matrix.  For N = 2 in closed form: with
    A = a_0 + w.s (complex a_0, w), z = a_0 -/+ q, q = sqrt(w.w), P = (1 -/+ w.s / q) / 2.
    Ill-conditioned only at an exceptional point (q -> 0 with w != 0), which a generic
    k-point does not hit; at q = 0 = w (a Hermitian degeneracy) any split is exact.
    """
    if matrices.shape[-1] != 2:
        poles, right = np.linalg.eig(matrices)
        return poles, np.einsum("Man,Mnb->Mnab", right, np.linalg.inv(right))
    a0 = 0.5 * (matrices[:, 0, 0] + matrices[:, 1, 1])
    w = np.stack([0.5 * (matrices[:, 0, 1] + matrices[:, 1, 0]),
                  0.5j * (matrices[:, 0, 1] - matrices[:, 1, 0]),
                  0.5 * (matrices[:, 0, 0] - matrices[:, 1, 1])], axis=-1)
    q = np.sqrt(np.sum(w * w, axis=-1))
    zero = q == 0
    unit = np.where(zero[:, None], [0.0, 0.0, 1.0], w / np.where(zero, 1.0, q)[:, None])
    half_ws = 0.5 * np.einsum("Mi,iab->Mab", unit, PAULI)
    half_one = 0.5 * np.eye(2)
    poles = np.stack([a0 - q, a0 + q], axis=-1)
    return poles, np.stack([half_one - half_ws, half_one + half_ws], axis=1)


def _trace_products(bp, vp, k, n):
    """Tr[(B P_m)(V P'_n)] as [M, k, j, n, m] from B P_m (M, K*N, N*N) and V P'_n
    (M, 2, N, N, N): one batched matrix product over the flattened trace index."""
    m = bp.shape[0]
    vp_t = np.swapaxes(vp, -1, -2).reshape(m, 2 * n, n * n)
    prod = (bp @ np.swapaxes(vp_t, -1, -2)).reshape(m, k, n, 2, n)  # [M, k, m, j, n]
    return np.transpose(prod, (0, 1, 3, 4, 2))


def kubo_bastin_projectors(poles, projectors, operators, velocities, integrals):
    """Kubo-Bastin surface (a), surface (b) and sea integrands for G^R = sum P_n/(eps - z_n).

    Same definitions, units and return values as :func:`kubo_bastin_eigenbasis`, for a
    Hamiltonian plus a constant, non-Hermitian self-energy.

    Parameters
    ----------
    poles : (M, N) complex array
        Poles z_n of G^R in eV (Im z_n <= 0).
    projectors : (M, N, N, N) complex array
        Spectral projectors P_n (:func:`spectral_projectors`).
    operators : (M, K, N, N) array
        Response operators B_k in the original basis.
    velocities : (M, 2, N, N) array
        hbar v_j in eV nm in the original basis.
    integrals : kubo_sot.kernels.energy_integrals.EnergyIntegrals
    """
    ra, rr, sea_w = pole_pair_integrals(poles, integrals)
    # Tr[B P_m V P_n] and Tr[B P_m V P_n^dagger], indexed [M, k, j, n, m], from batched
    # matrix products (cheaper than one optimized einsum for these small sizes).
    m, k, n = operators.shape[0], operators.shape[1], poles.shape[1]
    bp = (operators[:, :, None] @ projectors[:, None]).reshape(m, k * n, n * n)
    prod_rr = _trace_products(bp, velocities[:, :, None] @ projectors[:, None], k, n)
    prod_ra = _trace_products(
        bp, velocities[:, :, None] @ np.conj(np.swapaxes(projectors, -1, -2))[:, None], k, n)
    surface_a = -np.einsum("Mkjnm,Mnm->Mkj", prod_ra, ra).real
    surface_b = np.einsum("Mkjnm,Mnm->Mkj", prod_rr, rr).real
    sea = -np.einsum("Mkjnm,Mnm->Mkj", prod_rr, sea_w).real
    return surface_a, surface_b, sea


def kubo_bastin_matrices(hamiltonians, velocities, operators, broadening, integrals):
    """Kubo-Bastin surface (a), surface (b) and sea integrands of N-band matrices H(k).

    The readable reference of the compiled N-band kernel
    (:func:`kubo_sot.kernels.kubo_bastin_nband_numba.nband_integrand`): ``eigh`` of H(k),
    the operators in its eigenbasis (:func:`to_eigenbasis`), then
    :func:`kubo_bastin_eigenbasis` (same definitions and units).

    Parameters
    ----------
    hamiltonians : (P, N, N) array
        Hermitian H(k) in eV.
    velocities : (P, 2, N, N) array
        hbar v_j = dH/dk_j in eV nm.
    operators : (P, K, N, N) or (K, N, N) array
        Response operators B_k in the orbital basis (the same at every k when 3-D).
    broadening : float
        Gamma in eV.
    integrals : kubo_sot.kernels.energy_integrals.EnergyIntegrals
        Chemical potential and temperature.

    Returns
    -------
    surface_a, surface_b, sea : (P, K, 2) arrays
        In units of [B] nm / eV (before the prefactor -e hbar/2pi and the k-integral).

    Examples
    --------
    >>> import numpy as np
    >>> from kubo_sot.kernels.energy_integrals import EnergyIntegrals
    >>> h = np.diag([-0.1, 0.2]).astype(complex)[None]
    >>> v = np.array([[[0.0, 0.1], [0.1, 0.0]], [[0.0, -0.1j], [0.1j, 0.0]]])[None]
    >>> a, b, s = kubo_bastin_matrices(h, v, -v[0], 0.01, EnergyIntegrals(0.0, 0.0))
    >>> a.shape
    (1, 2, 2)
    """
    energies, vectors = np.linalg.eigh(hamiltonians)
    velocity_elements = to_eigenbasis(np.asarray(velocities), vectors)
    operator_elements = to_eigenbasis(np.asarray(operators), vectors)
    return kubo_bastin_eigenbasis(energies, operator_elements, velocity_elements,
                                  broadening, integrals)
