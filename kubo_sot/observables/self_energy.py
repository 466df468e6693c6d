"""Born self-energy of Gaussian white-noise disorder at the Fermi energy.

    Sigma^R(mu) = n_i V^2 Int d^2k/(2 pi)^2 G^R(mu, k),   G^R = (mu - H(k) - Sigma^R)^-1

k-independent, a 2x2 matrix Sigma = sum_a c_a s_a (a = 0, x, y, z).  Self-consistent Born
(SCBA) iterates this map to its fixed point; the map's derivative is small (of order
Gamma / E_F), so a few iterations converge.  The one-step Born variant evaluates it once
with G^R broadened by the paramagnetic Born width Gamma_0 = n_i V^2 / (4 hbar^2/2m).

The real part of c_0 diverges logarithmically in the continuum model: at large k,
Re Tr G / 2 -> 1 / (mu - hbar^2 k^2 / 2m), so Re c_0 ~ -(n_i V^2 / 4 pi (hbar^2/2m))
ln(K^2 hbar^2 / 2m |mu|) with the cutoff K.  It is a uniform energy shift and is absorbed
into the chemical potential: ``fermi_energy`` is measured from the disorder-shifted band,
Re c_0 = 0 by definition, and no cutoff enters.  Every other component converges: the
spin part of G decays as b(k) / k^4, whose leading (Rashba, odd in k) term even cancels
along each ray pair; Im c_0 decays as Gamma / k^4.  The exchange-like real part Re c_x,y,z
renormalizes J M and is kept.  (tests/test_disorder.py checks both statements with an
explicit cutoff.)
"""

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ConvergenceWarning, ParameterError
from ..integrate.kspace import integrate_kspace
from ..kernels.disorder_numba import fused_self_energy_integrand
from ..kernels.green import MatrixSelfEnergy
from ..kernels.ladder import pauli_components
from ..models.disorder import WhiteNoiseDisorder
from .packed_integral import angular_average, compiled_integrand

MAX_ITERATIONS = 50
# Packed integrand: Im c0, Re/Im cx, Re/Im cy, Re/Im cz of G^R (Re c0 is absorbed in mu).
_N_PACKED = 7
# How they rotate with k (kubo_sot.integrate.kspace.rotation_average): c_0 and c_z are
# invariant, (c_x, c_y) is a vector (its real and imaginary parts each).
_LAYOUT = [(1,), ("vector", 2), (2,)]


@dataclass(frozen=True)
class BornSelfEnergy:
    """Result of :func:`born_self_energy`.

    Attributes
    ----------
    self_energy : MatrixSelfEnergy
        Sigma^R(mu) in eV (Re c_0 = 0: absorbed into mu).
    error : float
        Bound on |Sigma - Sigma_exact| in eV per component (k-integration error plus the
        last iteration's change).
    iterations : int
        k-integrals done (1 for one-step Born).
    n_kpoints : int
        k-points of the last k-integral.
    """

    self_energy: MatrixSelfEnergy
    error: float
    iterations: int
    n_kpoints: int

    def to_dict(self):
        c = self.self_energy.components
        return {"sigma_components_eV": [[x.real, x.imag] for x in c],
                "error_eV": self.error, "iterations": self.iterations,
                "n_kpoints": self.n_kpoints}


def _unpack(values):
    im0, rx, ix, ry, iy, rz, iz = values
    return np.array([1j * im0, rx + 1j * ix, ry + 1j * iy, rz + 1j * iz])


def self_energy_integrand(model, fermi_energy, matrix, strength, kernel="auto"):
    """Per-k integrand ``f(kx, ky) -> (P, 7)`` of the Born self-energy (eV nm^2).

    n_i V^2 times the Pauli components c_a = Tr[s_a G^R] / 2 of G^R = (mu - H(k) - Sigma)^-1,
    packed as (Im c_0, Re c_x, Im c_x, Re c_y, Im c_y, Re c_z, Im c_z) (Re c_0 is absorbed
    into mu).  ``matrix`` is Sigma (2x2, eV), ``strength`` n_i V^2 (eV^2 nm^2).
    ``kernel``: "numpy" is the readable reference below; "numba" the compiled loop of
    :func:`kubo_sot.kernels.disorder_numba.fused_self_energy_integrand` (continuum
    RashbaFerromagnet; same numbers to rounding, tests/test_disorder_numba.py); "auto"
    takes numba where it applies and is installed.
    """
    fused = compiled_integrand(
        kernel, lambda: fused_self_energy_integrand(model, fermi_energy, matrix, strength))
    if fused is not None:
        return fused
    mu = float(fermi_energy)

    def integrand(kx, ky):
        h = model.hamiltonian(kx, ky)
        g = np.linalg.inv(mu * np.eye(2) - h - matrix)
        c = strength * pauli_components(g)
        return np.stack([c[:, 0].imag, c[:, 1].real, c[:, 1].imag, c[:, 2].real,
                         c[:, 2].imag, c[:, 3].real, c[:, 3].imag], axis=1)
    return integrand


def _anderson_step(image, residual, previous):
    """Next SCBA input: Anderson mixing of depth 1 (a secant step) on Sigma -> F(Sigma),
    which needs about half the iterations of plain F(Sigma); the plain image where the
    mixed point would not be causal."""
    if previous is not None:
        d_residual = residual - previous[1]
        norm = float(np.vdot(d_residual, d_residual).real)
        if norm > 0:
            beta = np.vdot(d_residual, residual) / norm
            try:
                return MatrixSelfEnergy(tuple(image - beta * (image - previous[0])))
            except ParameterError:
                pass
    return MatrixSelfEnergy(tuple(image))


def check_continuum_two_band(model):
    """White-noise disorder is implemented for continuum two-band models only."""
    if not hasattr(model, "kinetic_coefficient") or getattr(model, "n_bands", None) != 2:
        raise ParameterError(
            f"white-noise disorder is implemented for the continuum two-band models "
            f"(e.g. RashbaFerromagnet), not for {type(model).__name__}")


def born_self_energy(model, fermi_energy, disorder, rtol=1e-8, n_jobs=1, kernel="auto"):
    """Born (or self-consistent Born) self-energy at the Fermi energy.

    Parameters
    ----------
    model : RashbaFerromagnet
        A continuum two-band model with ``kinetic_coefficient``.
    fermi_energy : float
        mu in eV (measured from the disorder-shifted band: Re c_0 is absorbed into it).
    disorder : WhiteNoiseDisorder
    rtol : float
        Accuracy of Sigma relative to the paramagnetic Born width Gamma_0.
    n_jobs : int
        joblib workers for the k-integral.
    kernel : {"auto", "numpy", "numba"}
        Per-k kernel (:func:`self_energy_integrand`).

    Returns
    -------
    BornSelfEnergy
    """
    if not isinstance(disorder, WhiteNoiseDisorder):
        raise ParameterError(f"disorder = {disorder!r} must be a WhiteNoiseDisorder")
    check_continuum_two_band(model)
    strength = disorder.strength
    gamma0 = strength / (4.0 * model.kinetic_coefficient)
    atol = 0.25 * rtol * gamma0
    mu = float(fermi_energy)

    average = angular_average(model, _LAYOUT)

    def k_integral(sigma, tolerance):
        return integrate_kspace(model, self_energy_integrand(model, mu, sigma.matrix, strength,
                                                      kernel),
                                mu, gamma0, np.full(_N_PACKED, tolerance), n_jobs=n_jobs,
                                angular_average=average)

    sigma = MatrixSelfEnergy((-1j * gamma0, 0, 0, 0))
    change, previous = gamma0, None
    for iteration in range(1, MAX_ITERATIONS + 1):
        # Early iterations need Sigma only to a fraction of their change: cheap integrals
        # first, the final tolerance once the fixed point is close.
        tolerance = atol if not disorder.self_consistent else max(atol, 0.01 * change)
        result = k_integral(sigma, tolerance)
        image = _unpack(result.estimate)
        residual = image - np.asarray(sigma.components)
        change = float(np.max(np.abs(residual)))
        error = float(np.max(result.error))
        if not disorder.self_consistent:
            return BornSelfEnergy(MatrixSelfEnergy(tuple(image)), error, iteration,
                                  result.n_kpoints)
        if change <= atol and tolerance == atol:
            return BornSelfEnergy(MatrixSelfEnergy(tuple(image)), error + change, iteration,
                                  result.n_kpoints)
        sigma = _anderson_step(image, residual, previous)
        previous = (image, residual)
    warnings.warn(f"self-consistent Born self-energy not converged after {MAX_ITERATIONS} "
                  f"iterations: last change {change:.3g} eV > {atol:.3g} eV",
                  ConvergenceWarning, stacklevel=2)
    return BornSelfEnergy(sigma, error + change, MAX_ITERATIONS, result.n_kpoints)

