"""Legendre moments of the pole, double-pole and logarithm kernels against mpmath
quadrature at points near and on the panel, in both half planes, down to |Im w| = 1e-4."""

import mpmath
import numpy as np
import pytest

from kubo_sot.kernels.product_rules import legendre_moments

# Upper and lower half plane (the sqrt-substituted panels need both).
W = [0.3 + 1e-4j, -0.999 + 1e-3j, 1.5 + 0.02j, 0.0 + 1.0j, -1.8 + 0.3j, 1.0 + 1e-4j, 3.0 + 0.5j,
     -10.0 + 1e-3j, 0.2 - 1e-3j, -1.5 - 0.3j, 1.0 - 1e-4j, 4.0 - 2.0j]


@pytest.mark.parametrize("w", W)
def test_moments_equal_quadrature(w):
    degree = 11
    pole, double, log = legendre_moments(np.array([w]), degree)
    mpmath.mp.dps = 30
    # Split at Re w so that the quadrature sees the near-singular point.
    points = [-1, min(max(w.real, -1), 1), 1] if abs(w.real) < 1 else [-1, 1]
    points = sorted(set(points))
    for j in range(degree + 1):
        def p(t):
            return mpmath.legendre(j, t)
        wm = mpmath.mpc(w.real, w.imag)
        exact = [mpmath.quad(lambda t: p(t) / (wm - t), points),
                 mpmath.quad(lambda t: p(t) / (wm - t) ** 2, points),
                 mpmath.quad(lambda t: p(t) * mpmath.log(wm - t), points)]
        scale = [abs(complex(e)) + 1.0 for e in exact]
        for got, e, s in zip((pole[j, 0], double[j, 0], log[j, 0]), exact, scale):
            # The double pole's moments grow like 1 / Im w; relative to that scale.
            assert abs(got - complex(e)) <= 1e-13 * max(s, abs(complex(e))), (j, got, e)
