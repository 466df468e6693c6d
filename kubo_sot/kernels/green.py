"""Retarded Green's functions with disorder broadening.

    G^R(z) = (z - H(k) - Sigma^R(z))^-1,   Sigma^R = -i Gamma  (constant broadening)

``z`` may be complex: G^R(z) continued into the upper half plane is what the contour
integrals of the check route evaluate.  The self-energy is an object so that an
energy-dependent (e.g. Born) self-energy can replace the constant one; the closed-form
eigenbasis route applies only to the constant one (``is_constant``).
"""

from dataclasses import dataclass

import numpy as np

from .. import _checks


@dataclass(frozen=True)
class ConstantBroadening:
    """Sigma^R(eps) = -i Gamma with Gamma = hbar / (2 tau) in eV (> 0)."""

    gamma: float
    is_constant = True

    def __post_init__(self):
        object.__setattr__(self, "gamma", _checks.positive("broadening", self.gamma, "eV"))

    def self_energy(self, z, n_bands):
        """Sigma^R(z) as an (..., N, N) array broadcastable against H."""
        return -1j * self.gamma * np.eye(n_bands)


def retarded_green(z, hamiltonian, self_energy):
    """G^R(z) for complex energies z (shape ``S``) and Hamiltonians (shape ``S + (N, N)``).

    Parameters
    ----------
    z : array_like, complex
        Energies in eV (real for the physical G^R, Im z >= 0 for its continuation).
    hamiltonian : (..., N, N) array
        H(k) in eV, broadcast against ``z``.
    self_energy : object with ``self_energy(z, n_bands)``
        e.g. :class:`ConstantBroadening`.
    """
    n = hamiltonian.shape[-1]
    z = np.asarray(z, dtype=complex)[..., None, None]
    return np.linalg.inv(z * np.eye(n) - hamiltonian - self_energy.self_energy(z, n))
