"""Compiled (numba) pole-expansion coefficients of the continuum Rashba ferromagnet.

The readable reference is ``kubo_sot.observables.spectral_sweep.packed_pole_coefficients``
with the numpy route (:func:`kubo_sot.kernels.kubo_bastin.response_elements` and
:func:`kubo_sot.kernels.pole_expansion.pole_coefficients`); ``tests/test_pole_expansion.py``
compares the two.  Same two-band algebra as :mod:`kubo_sot.kernels.kubo_bastin_numba`:
with X_nm = B_nm V_mn real on the diagonal (d_0, d_1) and X_10 = conj X_01 = conj x,
d = E_1 - E_0, the partial fractions of :mod:`kubo_sot.kernels.pole_expansion` become

    c1_a = (-(ra_00 + ra_10) + conj(ra_00 + ra_01), -(ra_01 + ra_11) + conj(ra_10 + ra_11)),
    ra_nn = d_n / (-2 i Gamma), ra_01 = x / (d - 2 i Gamma), ra_10 = conj x / (-d - 2 i Gamma)
    c1_b = (-2 Re x / d, 2 Re x / d),   c2_b = (d_0, d_1)
    c1_sea = (2 i Im x / d) (1, 1),    cL_sea = (4 i Im x / d^2) (-1, 1)

per band (lower, upper), packed as ``response._pack``.
"""

import numpy as np

from .kubo_bastin_numba import AVAILABLE, _band_elements, _compiled, _operator_products

N_COMPONENTS = 26


@_compiled
def _coefficients_loop(kx, ky, kinetic, alpha, exchange, mx, my, mz, gamma, energies, out):
    for i in range(kx.shape[0]):
        eps, norm, spin, vel = _band_elements(kx[i], ky[i], kinetic, alpha, exchange, mx, my,
                                              mz)
        energies[i, 0] = eps - norm
        energies[i, 1] = eps + norm
        d = 2.0 * norm  # E_1 - E_0 without the cancellation of eps
        two_i_gamma = 2j * gamma
        for k in range(5):
            for j in range(2):
                d0, d1, x = _operator_products(k, j, alpha, spin, vel)
                ra00 = d0 / (-two_i_gamma)
                ra11 = d1 / (-two_i_gamma)
                ra01 = x / (d - two_i_gamma)
                ra10 = x.conjugate() / (-d - two_i_gamma)
                a_low = -(ra00 + ra10) + (ra00 + ra01).conjugate()
                a_up = -(ra01 + ra11) + (ra10 + ra11).conjugate()
                b_low = -2.0 * x.real / d
                sea_1 = 2j * x.imag / d
                sea_l = 4j * x.imag / (d * d)
                if k < 2:
                    c = 2 * k + j
                    out[i, 0, c, 0] = a_low + b_low
                    out[i, 0, c, 1] = a_up - b_low
                    out[i, 1, c, 0] = d0
                    out[i, 1, c, 1] = d1
                    out[i, 2, c, 0] = 0.0
                    out[i, 2, c, 1] = 0.0
                    c = 4 + 2 * k + j
                    out[i, 0, c, 0] = sea_1
                    out[i, 0, c, 1] = sea_1
                    out[i, 1, c, 0] = 0.0
                    out[i, 1, c, 1] = 0.0
                    out[i, 2, c, 0] = -sea_l
                    out[i, 2, c, 1] = sea_l
                else:
                    for c in (8 + 2 * (k - 2) + j, 14 + 2 * (k - 2) + j,
                              20 + 2 * (k - 2) + j):
                        for basis in range(3):
                            out[i, basis, c, 0] = 0.0
                            out[i, basis, c, 1] = 0.0
                    c = 8 + 2 * (k - 2) + j
                    out[i, 0, c, 0] = a_low
                    out[i, 0, c, 1] = a_up
                    c = 14 + 2 * (k - 2) + j
                    out[i, 0, c, 0] = b_low
                    out[i, 0, c, 1] = -b_low
                    out[i, 1, c, 0] = d0
                    out[i, 1, c, 1] = d1
                    c = 20 + 2 * (k - 2) + j
                    out[i, 0, c, 0] = sea_1
                    out[i, 0, c, 1] = sea_1
                    out[i, 2, c, 0] = -sea_l
                    out[i, 2, c, 1] = sea_l


def packed_pole_coefficients(model, kx, ky, gamma):
    """Band energies (P, 2) and the coefficients (P, 3, 26, 2) of
    ``spectral_sweep.packed_pole_coefficients`` for a continuum RashbaFerromagnet."""
    kx = np.ascontiguousarray(kx, float).ravel()
    ky = np.ascontiguousarray(ky, float).ravel()
    energies = np.empty((kx.size, 2))
    out = np.empty((kx.size, 3, N_COMPONENTS, 2), complex)
    mx, my, mz = (float(m) for m in model.magnetization)
    _coefficients_loop(kx, ky, model._kinetic, model.alpha, model.exchange, mx, my, mz,
                       float(gamma), energies, out)
    return energies, out


__all__ = ["AVAILABLE", "packed_pole_coefficients"]
