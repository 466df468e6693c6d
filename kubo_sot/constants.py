"""Physical constants and unit factors, all derived from :mod:`scipy.constants` (CODATA).

Units used throughout the package (docs/conventions.md §1): energies in eV, lengths in
nm, wave vectors in nm^-1, the Rashba parameter in eV nm, masses in free-electron masses,
temperatures in K.  Every constant is defined here once.
"""

import scipy.constants as _c

#: hbar^2 / (2 m_e) in eV nm^2 (kinetic energy of a free electron at k = 1 nm^-1).
HBAR2_OVER_2ME = _c.hbar**2 / (2.0 * _c.m_e) / _c.e * 1e18

#: Boltzmann constant in eV / K.
BOLTZMANN_EV_PER_K = _c.k / _c.e

#: Conductance quantum e^2 / h in siemens (conductivities are reported in units of it).
CONDUCTANCE_QUANTUM_E2_OVER_H = _c.e**2 / _c.h


def kinetic_prefactor(mass):
    """hbar^2 / (2 m) in eV nm^2 for an effective mass ``mass`` (units of m_e)."""
    return HBAR2_OVER_2ME / mass


# How the Kubo-Bastin prefactors reduce to plain numbers in these units (used by
# kubo_sot.observables.response; derivation in docs/conventions.md §4.3):
#
#   conductivity   sigma = e^2 hbar / (2 pi) Int Tr[v G v G]
#                        = (e^2/h) Int d^2k/(2pi)^2 Tr[(hbar v) G (hbar v) G]  -> factor 1 in e^2/h
#   spin density   chi   = -e hbar / (2 pi) Int Tr[s G v G]
#                        = -(e / 2 pi) Int d^2k/(2pi)^2 Tr[s G (hbar v) G]
#                  with hbar v in eV nm, G in 1/eV, k in 1/nm: e / (eV nm) = 1 / (V nm),
#                  so the factor is 1 / (2 pi) in 1/(V nm).
CONDUCTIVITY_FACTOR_E2_OVER_H = 1.0
SPIN_DENSITY_FACTOR_PER_V_NM = 1.0 / (2.0 * _c.pi)
