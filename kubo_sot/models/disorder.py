"""Disorder models that replace the constant broadening Gamma.

Gaussian white-noise scalar impurities: V(r) with <V(r)> = 0 and
<V(r) V(r')> = n_i V^2 delta(r - r'), strength n_i V^2 in eV^2 nm^2.  In the Born
approximation a parabolic band of mass m (no spin-orbit coupling, no exchange) gets the
broadening

    Gamma_0 = pi n_i V^2 nu_0 = n_i V^2 m / (2 hbar^2) = n_i V^2 / (4 hbar^2/2m),

nu_0 = m / (2 pi hbar^2) the density of states per spin and area, which is the usual way to
quote the disorder strength (:meth:`WhiteNoiseDisorder.from_born_broadening`).
"""

from dataclasses import dataclass

from .. import _checks
from ..constants import kinetic_prefactor


@dataclass(frozen=True)
class WhiteNoiseDisorder:
    """Gaussian white-noise scalar disorder.

    Parameters
    ----------
    strength : float
        n_i V^2 in eV^2 nm^2 (> 0).
    self_consistent : bool, optional
        True (default): self-consistent Born self-energy (SCBA), the conserving partner of
        the ladder vertex corrections (the Ward identity holds).  False: one Born step,
        Sigma = n_i V^2 Int G^R with G^R broadened by the paramagnetic Gamma_0.

    Examples
    --------
    >>> from kubo_sot import RashbaFerromagnet
    >>> model = RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1), mass=0.5)
    >>> d = WhiteNoiseDisorder.from_born_broadening(0.01, model)
    >>> round(d.born_broadening(model), 12)
    0.01
    """

    strength: float
    self_consistent: bool = True

    def __post_init__(self):
        object.__setattr__(self, "strength",
                           _checks.positive("disorder strength n_i V^2", self.strength,
                                            "eV^2 nm^2"))
        if not isinstance(self.self_consistent, bool):
            raise _checks.ParameterError(
                f"self_consistent = {self.self_consistent!r} must be True or False")

    @classmethod
    def from_born_broadening(cls, gamma, mass=None, self_consistent=True):
        """Disorder whose Born broadening of a parabolic band of mass m is ``gamma`` (eV):
        n_i V^2 = 4 (hbar^2 / 2m) Gamma_0.

        Parameters
        ----------
        gamma : float
            Gamma_0 in eV (> 0).
        mass : model or float
            The model the disorder is used with (its ``kinetic_coefficient`` hbar^2/2m is
            taken), or its mass m in m_e.  Required: the same width means a different
            n_i V^2 for each mass, so it is never assumed.
        self_consistent : bool
            As for the constructor.
        """
        gamma = _checks.positive("born broadening", gamma, "eV")
        return cls(4.0 * _kinetic(mass, "from_born_broadening") * gamma, self_consistent)

    def born_broadening(self, mass=None):
        """Gamma_0 = n_i V^2 / (4 hbar^2/2m) in eV for a parabolic band of mass m, given as
        the model (or its mass in m_e)."""
        return self.strength / (4.0 * _kinetic(mass, "born_broadening"))


def _kinetic(mass, method):
    """hbar^2/2m in eV nm^2 of a model (its kinetic_coefficient) or of a mass in m_e."""
    if mass is None:
        raise _checks.ParameterError(
            f"WhiteNoiseDisorder.{method}(...) needs the band mass: pass the model the "
            "disorder is used with, or its mass in m_e (the Born width of a given n_i V^2 "
            "scales with the mass; no default mass is assumed)")
    if hasattr(mass, "kinetic_coefficient"):
        return _checks.positive("kinetic_coefficient of the model", mass.kinetic_coefficient,
                                "eV nm^2")
    if hasattr(mass, "hamiltonian"):
        raise _checks.ParameterError(
            f"WhiteNoiseDisorder.{method}: {type(mass).__name__} has no parabolic band mass "
            "(white-noise disorder is implemented for continuum models, e.g. "
            "RashbaFerromagnet); give the strength n_i V^2 directly")
    return kinetic_prefactor(_checks.positive("mass", mass, "m_e"))
