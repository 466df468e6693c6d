"""Closed-form band-pair energy integrals against mpmath quadrature at high precision.

Covers T = 0 and T > 0 and band splittings on both sides of the switch between the closed
forms and the near-degenerate midpoint expansions (docs/conventions.md §4.4, trap 5).
"""

import mpmath
import numpy as np
import pytest

from kubo_sot.kernels.energy_integrals import (NEAR_DEGENERATE_RATIO, EnergyIntegrals,
                                               band_pair_integrals)

MU, GAMMA, CENTER = 0.1, 0.01, 0.13
# Closed forms lose ~eps / ratio^3 ~ 3e-14 at the switch; the series is truncated at 1e-18.
RTOL = 1e-11


def _switch_splitting(kt):
    c = CENTER - 1j * GAMMA
    return 2 * NEAR_DEGENERATE_RATIO * abs(MU + 1j * np.pi * kt - c)


def _reference(e1, e2, kt):
    """(surface_ra, surface_rr, sea) for [n, m] = [0, 1] by mpmath quadrature."""
    mpmath.mp.dps = 30
    mu = mpmath.mpf(MU)
    z1, z2 = mpmath.mpc(e1, -GAMMA), mpmath.mpc(e2, -GAMMA)

    def gr(z, x):
        return 1 / (x - z)

    if kt == 0:
        ra = gr(z2, mu) * mpmath.conj(gr(z1, mu))
        rr = gr(z2, mu) * gr(z1, mu)
        sea = (e2 - e1) * mpmath.quad(lambda x: gr(z2, x) ** 2 * gr(z1, x) ** 2,
                                      [-mpmath.inf, min(e1, e2) - 1, e1, e2, mu])
        return complex(ra), complex(rr), complex(sea)
    t = mpmath.mpf(kt)
    fermi = lambda x: 1 / (mpmath.exp((x - mu) / t) + 1)  # noqa: E731
    mdf = lambda x: 1 / (4 * t * mpmath.cosh((x - mu) / (2 * t)) ** 2)  # noqa: E731
    pts = sorted({float(e1), float(e2), MU})
    win = [MU - 40 * kt] + pts + [MU + 40 * kt]
    ra = mpmath.quad(lambda x: mdf(x) * gr(z2, x) * mpmath.conj(gr(z1, x)), win)
    rr = mpmath.quad(lambda x: mdf(x) * gr(z2, x) * gr(z1, x), win)
    sea = (e2 - e1) * mpmath.quad(lambda x: fermi(x) * gr(z2, x) ** 2 * gr(z1, x) ** 2,
                                  [-mpmath.inf, min(e1, e2) - 1] + win + [mpmath.inf])
    return complex(ra), complex(rr), complex(sea)


@pytest.mark.parametrize("kt", [0.0, 0.02585])
@pytest.mark.parametrize("factor", [0.0, 1e-6, 0.9, 0.99, 1.01, 1.1, 8.0])
def test_band_pair_integrals_match_mpmath(kt, factor):
    d = factor * _switch_splitting(kt)
    e1, e2 = CENTER - d / 2, CENTER + d / 2
    ra, rr, sea = band_pair_integrals(np.array([[e1, e2]]), GAMMA, EnergyIntegrals(MU, kt))
    ref = _reference(e1, e2, kt)
    ours = (ra[0, 0, 1], rr[0, 0, 1], sea[0, 0, 1])
    scale = (abs(ref[0]), abs(ref[1]), abs(ref[1]) / GAMMA)  # sea ~ rr/Gamma in size
    for name, a, b, s in zip(("ra", "rr", "sea"), ours, ref, scale):
        assert abs(a - b) <= RTOL * s, (name, factor, a, b)


def test_closed_form_and_series_agree_across_switch():
    """Just below and just above the switch the two branches give continuous results."""
    for kt in (0.0, 0.02585):
        d = _switch_splitting(kt)
        below = band_pair_integrals(np.array([[CENTER - 0.4999999 * d, CENTER + 0.4999999 * d]]),
                                    GAMMA, EnergyIntegrals(MU, kt))
        above = band_pair_integrals(np.array([[CENTER - 0.5000001 * d, CENTER + 0.5000001 * d]]),
                                    GAMMA, EnergyIntegrals(MU, kt))
        for x, y in zip(below, above):
            # Splitting differs by 2e-7 relative: the functions change by ~1e-7 at most.
            assert np.allclose(x, y, rtol=1e-6, atol=0)
