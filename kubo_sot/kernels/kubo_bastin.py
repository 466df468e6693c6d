"""Kubo-Bastin integrands in the eigenbasis of H(k), with closed-form energy integrals.

For operators B_k (here -hbar v_i and the spin operators) and the velocities hbar v_j, the
three terms of CONVENTIONS.md section 4, per k-point and without the prefactor -e hbar/2pi
(which the observables apply), are

    surface_a = -Re Tr[B G^R V_j G^A] = -Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^A_n
    surface_b = +Re Tr[B G^R V_j G^R] = +Re sum_{n,m} B_nm V_mn Int (-f') G^R_m G^R_n
    sea       = -Re Tr[B G^R V_j dG^R - B dG^R V_j G^R]
              = -Re sum_{n,m} B_nm V_mn (E_m - E_n) Int f (G^R_m)^2 (G^R_n)^2

(using G_m dG_n - dG_m G_n = (E_m - E_n) G_m^2 G_n^2 for simple poles).  The band-pair
energy integrals come from :mod:`kubo_sot.kernels.energy_integrals`.
"""

import numpy as np

from .energy_integrals import band_pair_integrals


def to_eigenbasis(operators, vectors):
    """Matrix elements <n|O|m> of operators (..., N, N) in eigenbases ``vectors`` (M, N, N).

    ``operators`` has shape (M, K, N, N) or (K, N, N) (the same operator at every k).
    Returns (M, K, N, N).
    """
    udag = np.conj(np.swapaxes(vectors, -1, -2))
    if operators.ndim == 3:
        return np.einsum("Mab,kbc,Mcd->Mkad", udag, operators, vectors, optimize=True)
    return np.einsum("Mab,Mkbc,Mcd->Mkad", udag, operators, vectors, optimize=True)


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
