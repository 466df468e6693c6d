"""The uniform periodic mesh over the Brillouin zone: the independent check of the adaptive
schemes, and the baseline they are benchmarked against.

    Int_BZ d^2k/(2 pi)^2 F(k) ~ (1 / A_cell) (1 / n^2) sum_ij F(u1_i b1 + u2_j b2),
    u_i = (i + 1/2) / n,

the midpoint rule in reduced coordinates.  F is periodic in u; for Gamma > 0 it is analytic
in a strip of half-width ~ Gamma / |dE/du| around the real axis, so the rule converges
exponentially, roughly as exp(-2 pi Gamma / (hbar v dk)) with dk = |b| / n.  It carries no
error estimate of its own: compare n with a larger n.
"""

import numpy as np

# k-points per call of the integrand (bounds the memory of one batch).
CHUNK = 8192


def integrate_uniform_mesh(model, integrand, n, chunk=CHUNK):
    """Int_BZ d^2k/(2 pi)^2 integrand on the n x n periodic midpoint mesh (module docstring).

    Parameters
    ----------
    model : lattice model
        Supplies ``reciprocal_vectors`` ((2, 2), rows b1, b2, nm^-1) and ``cell_area``
        (nm^2).
    integrand : callable
        ``integrand(kx, ky) -> (P, C)`` for flat arrays of wave vectors (nm^-1).
    n : int
        Points per reciprocal axis.
    chunk : int, optional
        k-points per integrand call.

    Returns
    -------
    numpy.ndarray
        (C,) the integral, in the integrand's units times nm^-2.
    """
    u = (np.arange(n) + 0.5) / n
    b = np.asarray(model.reciprocal_vectors, float)
    total = 0.0
    for i in range(0, n * n, chunk):
        idx = np.arange(i, min(i + chunk, n * n))
        u1, u2 = u[idx // n], u[idx % n]
        total = total + integrand(u1 * b[0, 0] + u2 * b[1, 0],
                                  u1 * b[0, 1] + u2 * b[1, 1]).sum(axis=0)
    return total / (n * n) / model.cell_area
