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
    >>> d = WhiteNoiseDisorder.from_born_broadening(0.01, mass=1.0)
    >>> round(d.born_broadening(mass=1.0), 12)
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
    def from_born_broadening(cls, gamma, mass=1.0, self_consistent=True):
        """Disorder whose Born broadening of a parabolic band of mass ``mass`` (m_e) is
        ``gamma`` (eV): n_i V^2 = 4 (hbar^2 / 2m) Gamma_0."""
        gamma = _checks.positive("born broadening", gamma, "eV")
        mass = _checks.positive("mass", mass, "m_e")
        return cls(4.0 * kinetic_prefactor(mass) * gamma, self_consistent)

    def born_broadening(self, mass=1.0):
        """Gamma_0 = n_i V^2 / (4 hbar^2/2m) in eV for a band of mass ``mass`` (m_e)."""
        return self.strength / (4.0 * kinetic_prefactor(_checks.positive("mass", mass, "m_e")))
