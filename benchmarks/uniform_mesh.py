"""Baseline: the same per-k integrand on a uniform Cartesian k-mesh (midpoint rule)."""

import numpy as np


def uniform_mesh_integral(model, integrand, k_max, n, chunk=20000):
    """Int d^2k/(2 pi)^2 integrand over [-k_max, k_max]^2 with n x n midpoints."""
    h = 2 * k_max / n
    g = -k_max + h * (np.arange(n) + 0.5)
    kx, ky = np.meshgrid(g, g, indexing="ij")
    kx, ky = kx.reshape(-1), ky.reshape(-1)
    total = 0.0
    for i in range(0, kx.size, chunk):
        total = total + integrand(kx[i:i + chunk], ky[i:i + chunk]).sum(axis=0)
    return total * h * h / (2 * np.pi) ** 2
