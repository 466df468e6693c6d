"""Retarded Green's functions with disorder broadening.

    G^R(z) = (z - H(k) - Sigma^R(z))^-1,   Sigma^R = -i Gamma  (constant broadening)

``z`` may be complex: G^R(z) continued into the upper half plane is what the contour
integrals of the check route evaluate.  The self-energy is an object: a constant scalar
-i Gamma (:class:`ConstantBroadening`) or a constant 2x2 matrix (:class:`MatrixSelfEnergy`,
the Born self-energy of white-noise disorder at the Fermi level).  A constant Sigma is
analytic in z, so both continue into the upper half plane unchanged.
"""

from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..errors import ParameterError


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


PAULI_BASIS = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]],
                        [[1, 0], [0, -1]]], dtype=complex)
"""s_0, s_x, s_y, s_z, shape (4, 2, 2)."""


@dataclass(frozen=True)
class MatrixSelfEnergy:
    """Constant (k- and energy-independent) 2x2 retarded self-energy in eV.

    Sigma^R = sum_a c_a s_a with complex Pauli components ``components`` = (c_0, c_x, c_y,
    c_z).  Causality requires the broadening matrix Gamma = i (Sigma - Sigma^dagger) / 2
    to be positive semi-definite and not zero.

    Attributes
    ----------
    gamma : float
        Largest eigenvalue of the broadening matrix in eV: the energy scale of the sharpest
        Fermi-surface features the k-integrator must resolve is at least this fine at the
        broadest band; ``broadening_matrix`` gives the full matrix.
    """

    components: tuple
    is_constant = True

    def __post_init__(self):
        c = np.asarray(self.components, complex).reshape(-1)
        if c.size != 4 or not np.all(np.isfinite(c)):
            raise ParameterError(f"self-energy components = {self.components!r} must be 4 "
                                 "finite complex numbers (eV)")
        object.__setattr__(self, "components", tuple(complex(x) for x in c))
        widths = np.linalg.eigvalsh(self.broadening_matrix)
        if widths[0] < -1e-12 * abs(widths[-1]) or widths[-1] <= 0:
            raise ParameterError(
                f"self-energy {self.components} eV is not causal: the eigenvalues of its "
                f"broadening matrix i(Sigma - Sigma^dagger)/2 are {widths} eV; allowed >= 0 "
                "and not all zero")

    @property
    def matrix(self):
        return np.einsum("a,aij->ij", np.asarray(self.components), PAULI_BASIS)

    @property
    def broadening_matrix(self):
        m = self.matrix
        return 0.5j * (m - m.conj().T)

    @property
    def gamma(self):
        return float(np.linalg.eigvalsh(self.broadening_matrix)[-1])

    def self_energy(self, z, n_bands):
        if n_bands != 2:
            raise ParameterError(f"a 2x2 self-energy needs a two-band model, got {n_bands} bands")
        return self.matrix
