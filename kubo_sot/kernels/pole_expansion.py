"""The T = 0 Kubo-Bastin integrand at one k-point as a sum of simple functions of mu.

The first layer of the Fermi-energy sweep (:mod:`kubo_sot.observables.spectral_sweep`),
which integrates mu-independent spectral densities instead of one k-mesh per mu.

With z_l = E_l - i Gamma, G_l(mu) = 1 / (mu - z_l), the band-pair weights of
:mod:`kubo_sot.kernels.energy_integrals` at T = 0 split by partial fractions into
functions of a single band:

    ra_nm  = (G_m - conj G_n) / (z_m - conj z_n)
    rr_nm  = (G_m - G_n) / (E_m - E_n)                  (n != m),   rr_nn = G_n^2
    sea_nm = -(G_m + G_n) / (E_m - E_n) - 2 (Log(mu - z_m) - Log(mu - z_n)) / (E_m - E_n)^2

so that each Kubo-Bastin term is, per component,

    Re sum_l [ c1_l G_l(mu) + c2_l G_l(mu)^2 + cL_l Log(mu - z_l) ]

with coefficients c that do not depend on mu (Re[c conj G] = Re[conj(c) G] for real mu).
The coefficients of a band pair grow like 1/(E_m - E_n)^2 and cancel between the bands:
near a band touching (the Dirac point of an in-plane M) they lose digits as
eps |X| / (E_m - E_n)^2, and such k-points must be integrated otherwise.
(Reference: the band-pair weights of :mod:`kubo_sot.kernels.energy_integrals`; the test
tests/test_pole_expansion.py compares the two at several mu.)
"""

import numpy as np


def pole_coefficients(energies, products, broadening):
    """Coefficients (c1, c2, cL) of the three Kubo-Bastin terms per band.

    Parameters
    ----------
    energies : (M, N) array
        Band energies E_l in eV.
    products : (M, ..., N, N) complex array
        X_nm = B_nm V_mn (e.g. ``einsum("Mknm,Mjmn->Mkjnm", operators, velocities)``).
    broadening : float
        Gamma in eV.

    Returns
    -------
    dict
        ``"surface_a"``, ``"surface_b"``, ``"sea"`` -> (c1, c2, cL), each (M, ..., N)
        complex, such that term(mu) = Re sum_l [c1 G_l + c2 G_l^2 + cL Log(mu - z_l)]
        equals the term of :func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_eigenbasis`
        (surface_a = -Re sum X ra, surface_b = Re sum X rr, sea = -Re sum X sea).
    """
    e = np.asarray(energies, float)
    x = np.asarray(products, complex)
    extra = x.ndim - 3  # operator/field axes between the k-axis and the band pair
    shape = (e.shape[0],) + (1,) * extra
    z = (e - 1j * broadening).reshape(shape + (e.shape[1],))
    zn, zm = z[..., :, None], z[..., None, :]  # [n, m]
    n_bands = e.shape[1]
    off = ~np.eye(n_bands, dtype=bool)
    diff = np.where(off, zm - zn, 1.0)  # E_m - E_n (real part; Gamma cancels)
    diff = diff.real + 0j
    inv = np.where(off, 1.0 / diff, 0.0)

    # surface_a = -Re sum X_nm (G_m - conj G_n) / (z_m - conj z_n)
    ra = x / (zm - np.conj(zn))
    c1_a = -ra.sum(axis=-2) + np.conj(ra).sum(axis=-1)
    # surface_b = Re sum X_nm rr_nm
    rr = x * inv
    c1_b = rr.sum(axis=-2) - rr.sum(axis=-1)
    c2_b = np.diagonal(x, axis1=-2, axis2=-1)
    # sea = Re sum X_nm [(G_m + G_n)/d + 2 (L_m - L_n)/d^2]
    c1_sea = rr.sum(axis=-2) + rr.sum(axis=-1)
    rr2 = 2.0 * x * inv**2
    cl_sea = rr2.sum(axis=-2) - rr2.sum(axis=-1)
    zero = np.zeros_like(c1_a)
    return {"surface_a": (c1_a, zero, zero), "surface_b": (c1_b, c2_b, zero),
            "sea": (c1_sea, zero, cl_sea)}


def evaluate_pole_expansion(coefficients, energies, broadening, fermi_energy):
    """term(mu) = Re sum_l [c1 G_l + c2 G_l^2 + cL Log(mu - z_l)] for one mu (eV)."""
    e = np.asarray(energies, float)
    c1, c2, cl = coefficients
    extra = c1.ndim - 2
    z = (e - 1j * broadening).reshape((e.shape[0],) + (1,) * extra + (e.shape[1],))
    g = 1.0 / (fermi_energy - z)
    return np.real(c1 * g + c2 * g * g + cl * np.log(fermi_energy - z)).sum(axis=-1)
