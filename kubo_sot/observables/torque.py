"""Field-like / damping-like decomposition of the torque (docs/conventions.md §5).

For an in-plane field direction E^ the torque per unit field is tau = t . E^ (t the
torkance, e/nm).  It is perpendicular to M and decomposes on

    e_FL = M x (z x E^),   e_DL = M x e_FL,
    t_FL = tau . e_FL / |e_FL|^2,   t_DL = tau . e_DL / |e_DL|^2 .

Undefined when M is parallel to z x E^ (then e_FL = 0).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

MIN_BASIS_NORM = 1e-6
_Z = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class TorqueCoefficients:
    """Field-like and damping-like torkances t_FL, t_DL in e/nm (docs/conventions.md §5).

    ``parts[name]`` gives ``total``, ``fermi_surface``, ``fermi_sea`` and ``error`` for
    ``name`` in {"field_like", "damping_like"}.
    """

    field_like: float
    damping_like: float
    field_direction: tuple
    parts: dict
    unit: str = "e/nm"

    def to_dict(self):
        return {"field_like": self.field_like, "damping_like": self.damping_like,
                "field_direction": list(self.field_direction), "unit": self.unit,
                "parts": self.parts}


def _fmt(v):
    return "(" + ", ".join(f"{float(x):.6g}" for x in v) + ")"


def field_direction_vector(field_direction):
    """Validate an in-plane unit field direction; return it as a 3-vector."""
    try:
        e = np.asarray(field_direction, float).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"field_direction = {field_direction!r} must be 2 or 3 "
                             "real numbers (in-plane unit vector)") from None
    if e.size == 2:
        e = np.append(e, 0.0)
    if e.size != 3 or not np.all(np.isfinite(e)):
        raise ParameterError(f"field_direction = {field_direction!r} must be a finite "
                             "in-plane unit vector (Ex, Ey) or (Ex, Ey, 0)")
    if abs(e[2]) > 1e-9:
        raise ParameterError(f"field_direction = {_fmt(e)} has a z component {e[2]:g}; "
                             "the field must be in-plane (z component 0)")
    norm = np.linalg.norm(e)
    if abs(norm - 1.0) > 1e-9:
        raise ParameterError(f"field_direction = {_fmt(e)} must be a unit vector "
                             f"(norm {norm:.12g}, allowed 1 +/- 1e-9)")
    return e


def torque_basis(magnetization, field_direction):
    """e_FL, e_DL for unit M and in-plane unit E^; raises where e_FL vanishes."""
    m = np.asarray(magnetization, float)
    e = field_direction_vector(field_direction)
    e_fl = np.cross(m, np.cross(_Z, e))
    if np.linalg.norm(e_fl) < MIN_BASIS_NORM:
        raise ParameterError(
            f"field_direction = {_fmt(e[:2])}: magnetization {_fmt(m)} is parallel to "
            "z x E, so e_FL = M x (z x E) vanishes and the FL/DL decomposition is "
            "undefined; choose a field direction not perpendicular to the in-plane M")
    return e_fl, np.cross(m, e_fl)


def torque_coefficients(response, field_direction):
    m = np.asarray(response.provenance["model"]["magnetization"], float)
    e = field_direction_vector(field_direction)
    e_fl, e_dl = torque_basis(m, e)
    t = response.torkance
    parts = {}
    for name, basis in (("field_like", e_fl), ("damping_like", e_dl)):
        scale = 1.0 / np.dot(basis, basis)
        entry = {}
        for key in ("total", "fermi_surface", "fermi_sea"):
            tau = getattr(t, key) @ e[:2]
            entry[key] = float(np.dot(tau, basis) * scale)
        tau_err = np.abs(t.error) @ np.abs(e[:2])
        entry["error"] = float(np.dot(tau_err, np.abs(basis)) * scale)
        parts[name] = entry
    return TorqueCoefficients(field_like=parts["field_like"]["total"],
                              damping_like=parts["damping_like"]["total"],
                              field_direction=tuple(float(x) for x in e[:2]), parts=parts)
