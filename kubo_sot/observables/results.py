"""Result containers: tensors with their Fermi-surface / Fermi-sea parts and errors."""

import json
from dataclasses import dataclass, field

import numpy as np

from .torque import torque_coefficients


@dataclass(frozen=True)
class TensorResponse:
    """A response tensor (rows: response component, columns: field direction x, y).

    Attributes
    ----------
    total, fermi_surface, fermi_sea, error : ndarray
        total = fermi_surface + fermi_sea; ``error`` is the k-integration error estimate
        of ``total`` (element-wise, absolute, same unit).
    surface_a, surface_b : ndarray or None
        The two Fermi-surface terms I(a), I(b) where each converges on its own (None for
        the conductivity, whose diagonal I(a) and I(b) diverge separately).
    unit : str
    """

    name: str
    unit: str
    total: np.ndarray
    fermi_surface: np.ndarray
    fermi_sea: np.ndarray
    error: np.ndarray
    surface_a: np.ndarray = None
    surface_b: np.ndarray = None

    def to_dict(self):
        out = {"unit": self.unit}
        for key in ("total", "fermi_surface", "fermi_sea", "error", "surface_a", "surface_b"):
            value = getattr(self, key)
            if value is not None:
                out[key] = np.asarray(value).tolist()
        return out


@dataclass(frozen=True)
class BandData:
    """Fermi-level band data at T = 0 without broadening.

    Attributes
    ----------
    fermi_wavevectors : tuple
        Per band (lower, upper), angular mean radius of the outermost Fermi contour in
        nm^-1 (0 if the band is empty).
    occupations : tuple
        Per band, electron density n_-, n_+ in nm^-2.
    rashba_to_exchange : float
        alpha k_F / J with k_F of the majority (lower) band.
    """

    fermi_wavevectors: tuple
    occupations: tuple
    rashba_to_exchange: float

    def to_dict(self):
        return {"fermi_wavevectors_per_nm": list(self.fermi_wavevectors),
                "occupations_per_nm2": list(self.occupations),
                "alpha_kF_over_J": self.rashba_to_exchange}


@dataclass(frozen=True)
class LinearResponse:
    """Linear response of a model to an in-plane electric field (Kubo-Bastin).

    Attributes
    ----------
    conductivity : TensorResponse, (2, 2) in e^2/h
    spin_density : TensorResponse, (3, 2) in 1/(V nm)
    torkance : TensorResponse, (3, 2) in e/nm, t = J M x chi
    bands : BandData
    provenance : dict
        Model parameters, Fermi energy, broadening (or disorder, self-energy and vertex),
        temperature, rtol, route, k-points, convergence, package version.
    bare : LinearResponse or None
        With vertex corrections: the bare bubble with the same self-energy, from the same
        k-integral (for side-by-side comparison); None otherwise.
    """

    conductivity: TensorResponse
    spin_density: TensorResponse
    torkance: TensorResponse
    bands: BandData
    provenance: dict = field(default_factory=dict)
    bare: "LinearResponse" = None

    def torque_coefficients(self, field_direction=(1.0, 0.0)):
        """Field-like and damping-like torkances for the field direction E^ (in-plane).

        tau = t . E^ = t_FL e_FL + t_DL e_DL with e_FL = M x (z x E^), e_DL = M x e_FL.
        """
        return torque_coefficients(self, field_direction)

    def to_dict(self):
        out = {"conductivity": self.conductivity.to_dict(),
               "spin_density": self.spin_density.to_dict(),
               "torkance": self.torkance.to_dict(),
               "bands": self.bands.to_dict(),
               "provenance": self.provenance}
        if self.bare is not None:
            out["bare"] = self.bare.to_dict()
        return out

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)
