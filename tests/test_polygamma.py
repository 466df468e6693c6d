"""Complex polygamma against mpmath at 40 digits."""

import mpmath
import numpy as np
import pytest

from kubo_sot.kernels.polygamma import polygamma

# Arguments as they occur: x = 1/2 + (mu - z)/(2 pi i k_B T), Re x > 1/2, |Im x| up to 1e4.
ARGS = [0.5 + 0.01j, 0.6 - 3j, 2.5 + 40j, 0.52 - 0.3j, 17 + 1e4j, 0.9 + 0.0j, 30 - 30j]
# Recurrence + 14-term Stirling series at |z| >= 30: truncation ~1e-30; the recurrence sum
# of up to 30 terms loses a few ulps.
RTOL = 1e-13


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 15, 23])
def test_polygamma_matches_mpmath(n):
    mpmath.mp.dps = 40
    ours = polygamma(n, np.array(ARGS))
    for x, value in zip(ARGS, ours):
        exact = complex(mpmath.polygamma(n, mpmath.mpc(x.real, x.imag)))
        assert abs(value - exact) <= RTOL * abs(exact), (n, x, value, exact)


@pytest.mark.parametrize("n", [1, 5, 21])
def test_scaled_polygamma_has_no_overflow(n):
    # |x| = 1e12: psi^(n) ~ (n-1)!/x^n underflows for large n, the scaled form must not.
    x = np.array([0.7 + 1e12j])
    scaled = polygamma(n, x, scale=np.abs(x))
    mpmath.mp.dps = 40
    exact = complex(mpmath.polygamma(n, mpmath.mpc(0.7, 1e12)) * mpmath.mpf(1e12) ** n)
    assert abs(scaled[0] - exact) <= RTOL * abs(exact)
