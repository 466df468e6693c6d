"""Anisotropic magnetoresistance (docs/conventions.md §6).

For a field direction E^, rho_EE(M) = E^ . rho . E^ with rho = sigma^-1 (2x2, from the total
conductivity).  The magnetization is rotated in the plane, at angle theta from E^:

    AMR ratio   = (rho_EE(theta = 0) - rho_EE(pi/2)) / rho_EE(pi/2)
    angular law = rho_EE(theta) / rho_EE(pi/2),

which the seed paper (Ho et al., Eq. 18) predicts to be 1 + eta cos^2(theta) with
eta = m alpha^2 / (hbar^2 J).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import _checks
from ..errors import ParameterError
from .response import linear_response
from .torque import field_direction_vector


@dataclass(frozen=True)
class AMRResult:
    """rho_EE(theta) in h/e^2 with its error, the AMR ratio and the angular law."""

    angles: np.ndarray  # rad, angle between in-plane M and E^
    rho_ee: np.ndarray  # h/e^2
    rho_ee_error: np.ndarray
    ratio: float
    ratio_error: float
    field_direction: tuple
    unit: str = "h/e^2"

    @property
    def angular_law(self):
        """rho_EE(theta) / rho_EE(pi/2) (dimensionless), interpolated at pi/2 if needed."""
        return self.rho_ee / self._perpendicular

    @property
    def _perpendicular(self):
        return float(np.interp(0.5 * np.pi, self.angles % np.pi, self.rho_ee,
                               period=np.pi))

    def to_dict(self):
        return {"angles_rad": self.angles.tolist(), "rho_ee": self.rho_ee.tolist(),
                "rho_ee_error": self.rho_ee_error.tolist(), "ratio": self.ratio,
                "ratio_error": self.ratio_error, "field_direction": list(self.field_direction),
                "unit": self.unit}


def longitudinal_resistivity(conductivity, field_direction):
    """rho_EE = E^.sigma^-1.E^ (h/e^2) and its error bound from the conductivity error.

    delta rho = -rho delta(sigma) rho, so |delta rho_EE| <= |E^ rho| |delta sigma| |rho E^|.
    """
    e = field_direction_vector(field_direction)[:2]
    rho = np.linalg.inv(conductivity.total)
    value = float(e @ rho @ e)
    error = float(np.abs(e @ rho) @ conductivity.error @ np.abs(rho @ e))
    return value, error


def anisotropic_magnetoresistance(model, fermi_energy, broadening, angles=None,
                                  field_direction=(1.0, 0.0), temperature=0.0, rtol=1e-6,
                                  n_jobs=1, vertex_corrections=False):
    """rho_EE(theta) for in-plane magnetization at angles theta from the field, and the AMR.

    Parameters
    ----------
    model : RashbaFerromagnet or SquareLatticeRashbaFerromagnet
        Its magnetization is replaced by the in-plane directions
        (cos(phi_E + theta), sin(phi_E + theta), 0).
    fermi_energy, broadening, temperature, rtol, n_jobs, vertex_corrections
        As in :func:`kubo_sot.linear_response` (eV, eV or WhiteNoiseDisorder, K).
    angles : array_like, optional
        theta in rad; default 13 angles in [0, pi].  0 and pi/2 are always added.
    field_direction : (2,) in-plane unit vector

    Returns
    -------
    AMRResult

    Examples
    --------
    >>> import kubo_sot
    >>> m = kubo_sot.RashbaFerromagnet(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0))
    >>> amr = kubo_sot.anisotropic_magnetoresistance(m, 0.1, 0.01, angles=[0.0], rtol=1e-4)
    >>> amr.ratio > 0
    True
    """
    if not hasattr(model, "magnetization") or not dataclasses.is_dataclass(model):
        raise ParameterError(f"model = {model!r} has no magnetization to rotate")
    e = field_direction_vector(field_direction)
    theta = np.linspace(0.0, np.pi, 13) if angles is None else np.atleast_1d(
        np.asarray(angles, float))
    for i, t in enumerate(theta):
        _checks.finite_scalar(f"angles[{i}]", t, "rad")
    theta = np.unique(np.concatenate([theta, [0.0, 0.5 * np.pi]]))
    phi_e = np.arctan2(e[1], e[0])
    rho, err = [], []
    for t in theta:
        m = (float(np.cos(phi_e + t)), float(np.sin(phi_e + t)), 0.0)
        rotated = dataclasses.replace(model, magnetization=m)
        r = linear_response(rotated, fermi_energy, broadening, temperature, rtol,
                            n_jobs=n_jobs, vertex_corrections=vertex_corrections)
        value, error = longitudinal_resistivity(r.conductivity, e[:2])
        rho.append(value)
        err.append(error)
    rho, err = np.array(rho), np.array(err)
    par, perp = rho[theta == 0.0][0], rho[theta == 0.5 * np.pi][0]
    d_par, d_perp = err[theta == 0.0][0], err[theta == 0.5 * np.pi][0]
    ratio = (par - perp) / perp
    ratio_error = (d_par + d_perp * par / perp) / perp
    return AMRResult(theta, rho, err, float(ratio), float(ratio_error),
                     (float(e[0]), float(e[1])))
