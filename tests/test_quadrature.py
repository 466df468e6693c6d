"""The quadrature's per-interval error estimate is an upper bound of the actual error.

Intervals of the real Kubo-Bastin integrands along rays -- the integrator's feature-aligned
initial partition, but graded more coarsely than it is (factor 4 instead of 2, out to 16
widths instead of 512, so that errors remain to be bounded), and three levels of its
bisection -- are integrated by the 12-point rule with its estimate and by an 80-point Gauss
rule on 4 sub-intervals (the reference).  Every actual error above rounding (1e-13 of the ray
integral of the largest component) must be below its estimate, component by component.
This is the calibration of quadrature.DECAY_PAIRS, on other parameter points.

(No null rule bounds the error of an interval whose nodes all miss a feature; the
integrator places its intervals at the Fermi crossings, band extrema and gap minima so
that none does.)
"""

import numpy as np
import pytest
from conftest import PARAMETER_POINTS

import kubo_sot
from kubo_sot.integrate import kspace, quadrature
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.packed_integral import response_integrand

REFERENCE_ORDER = 80
ROUNDING = 1e-13
T0 = [p for p in PARAMETER_POINTS if p[4] == 0.0]


def _ray_function(model, integrand, phi, fermi_energy, gamma):
    """The radial integrand of kspace.radial_integrals along one ray and its initial
    intervals (k = x up to k_end, then the tail map)."""
    _, a, b, k_end, infinite = kspace._build_ray_intervals(model, np.array([phi]),
                                                           fermi_energy, gamma)

    def func(x, _owner=None):
        tail = infinite[0] & (x > k_end[0])
        t = np.where(tail, k_end[0] + 1.0 - x, 1.0)
        k = np.where(tail, k_end[0] / t, x)
        jacobian = np.where(tail, k * k_end[0] / (t * t), k)
        return integrand(k * np.cos(phi), k * np.sin(phi)) * jacobian[:, None]
    return func, a, b


def _reference(func, a, b):
    """Gauss-80 on 4 equal parts of each interval."""
    nodes, weights = np.polynomial.legendre.leggauss(REFERENCE_ORDER)
    edges = a[:, None] + (b - a)[:, None] * np.linspace(0.0, 1.0, 5)
    lo, hi = edges[:, :-1].reshape(-1), edges[:, 1:].reshape(-1)
    half = 0.5 * (hi - lo)
    x = (0.5 * (lo + hi))[:, None] + half[:, None] * nodes
    f = func(x.reshape(-1)).reshape(lo.size, REFERENCE_ORDER, -1)
    parts = np.einsum("ipc,p->ic", f, weights) * half[:, None]
    return parts.reshape(a.size, 4, -1).sum(axis=1)


@pytest.mark.parametrize("point", T0, ids=[p[0] for p in T0])
def test_error_estimate_bounds_the_actual_error(point, monkeypatch):
    monkeypatch.setattr(kspace, "GRADING_FACTOR", 4.0)
    monkeypatch.setattr(kspace, "GRADING_STEPS", 3)
    _, kwargs, mu, gamma, _ = point
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    integrand = response_integrand(model, mu, ConstantBroadening(gamma), 0.0, kernel="numpy")
    rule = quadrature._rule(quadrature.GAUSS_ORDER)
    checked = 0
    for phi in (0.4, 2.3, 4.1):
        func, a, b = _ray_function(model, integrand, phi, mu, gamma)
        for level in range(4):
            value, estimate = rule.apply(func, np.zeros(a.size, dtype=np.intp), a, b)
            reference = _reference(func, a, b)
            actual = np.abs(reference - value)
            relevant = actual > ROUNDING * np.max(np.abs(reference.sum(axis=0)))
            checked += relevant.sum()
            assert np.all(estimate[relevant] >= actual[relevant]), (
                f"phi = {phi}, bisection level {level}: estimate/actual down to "
                f"{np.min(estimate[relevant] / actual[relevant]):.2g}")
            mid = 0.5 * (a + b)
            a, b = np.concatenate([a, mid]), np.concatenate([mid, b])
    assert checked > 0  # the partitions must leave errors to bound
