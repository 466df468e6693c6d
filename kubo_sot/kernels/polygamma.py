"""Polygamma functions psi^(n)(x) of complex argument, vectorized.

SciPy's ``polygamma`` accepts only real arguments; the Fermi-function energy integrals at
T > 0 (``energy_integrals``) need psi^(n) at x = 1/2 + (mu - z) / (2 pi i k_B T) with
Re x > 1/2.  We shift the argument up with the recurrence

    psi^(n)(x) = psi^(n)(x + N) - (-1)^n n! sum_{k=0}^{N-1} (x + k)^-(n+1)

and use the asymptotic (Stirling) series at |x + N| >= N (Abramowitz & Stegun 6.4.11):

    psi^(n)(z) ~ (-1)^(n+1) [ (n-1)!/z^n + n!/(2 z^(n+1))
                              + sum_k B_2k (2k+n-1)! / ((2k)! z^(2k+n)) ].

The tests compare with ``mpmath.polygamma`` at 50 digits.
"""

from math import factorial

import numpy as np
from scipy.special import bernoulli, psi

RECURRENCE_SHIFT = 30
ASYMPTOTIC_TERMS = 14
_BERNOULLI_EVEN = bernoulli(2 * ASYMPTOTIC_TERMS)[2::2]  # B_2, B_4, ..., B_2K


def polygamma(n, x, scale=None):
    """psi^(n)(x) for integer n >= 0 and complex x with Re x > 0 (array-valued).

    With ``scale`` (array broadcastable to x, n >= 1) returns scale^n psi^(n)(x), computed
    without forming the two factors, so that it neither overflows nor underflows for
    |x| ~ scale (psi^(n)(x) ~ (n-1)!/x^n at large |x|).
    """
    x = np.asarray(x, dtype=complex)
    if n == 0:
        return psi(x)
    lam = np.ones(x.shape) if scale is None else np.asarray(scale, float)
    correction = np.zeros_like(x)
    for k in range(RECURRENCE_SHIFT):
        correction += (lam / (x + k)) ** n / (x + k)
    z = x + RECURRENCE_SHIFT
    zinv = 1.0 / z
    lead = (lam * zinv) ** n  # (lambda / z)^n
    series = factorial(n - 1) * lead + 0.5 * factorial(n) * lead * zinv
    z2inv = zinv * zinv
    power = lead
    for k in range(1, ASYMPTOTIC_TERMS + 1):
        power = power * z2inv
        series = series + (_BERNOULLI_EVEN[k - 1] * factorial(2 * k + n - 1)
                           / factorial(2 * k)) * power
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    return sign * series - (-1.0) ** n * factorial(n) * correction
