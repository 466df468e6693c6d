"""Shared parameter points and comparison helpers for the kubo_sot tests."""

import numpy as np
import pytest

import kubo_sot

# Named tolerances (why each has its value is said where it is used).
ROUTE_AGREEMENT = 1e-8  # acceptance: eigenbasis vs explicit Green's functions
PER_K_AGREEMENT = 1e-10  # per-k integrands; the check route's energy quadrature is 1e-12


def _tilted(theta_deg, phi_deg):
    t, p = np.radians(theta_deg), np.radians(phi_deg)
    return (float(np.sin(t) * np.cos(p)), float(np.sin(t) * np.sin(p)), float(np.cos(t)))


# (name, model kwargs, fermi_energy eV, broadening eV, temperature K)
# Coverage: M along z, x, y and tilted; weak Rashba (alpha k_F/J < 0.05) and strong
# (> 20); mu inside the exchange gap and above it; Gamma 0.002..0.05 eV; T = 0 and 300 K;
# mass != 1.
PARAMETER_POINTS = [
    ("z_weak_gap", dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.1, 0.005, 0.0),
    ("z_weak_both", dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.4, 0.002, 0.0),
    ("y_weak_gap", dict(alpha=0.004, exchange=0.15, magnetization=(0, 1, 0)), 0.0, 0.002, 0.0),
    ("x_strong_both", dict(alpha=0.3, exchange=0.005, magnetization=(1, 0, 0)), 0.1, 0.01, 0.0),
    ("y_strong_gap", dict(alpha=0.3, exchange=0.01, magnetization=(0, 1, 0)), 0.0, 0.002, 0.0),
    ("z_strong_gap", dict(alpha=0.5, exchange=0.01, magnetization=(0, 0, 1)), 0.0, 0.02, 0.0),
    ("tilted_mass", dict(alpha=0.1, exchange=0.1, magnetization=_tilted(37, 30), mass=0.5),
     0.3, 0.02, 0.0),
    ("x_mass_gap", dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), mass=0.3),
     -0.1, 0.01, 0.0),
    ("tilted_heavy", dict(alpha=0.02, exchange=0.3, magnetization=_tilted(53, 90), mass=2.0),
     0.5, 0.05, 0.0),
    ("tilted_300K", dict(alpha=0.1, exchange=0.1, magnetization=_tilted(37, 30), mass=0.5),
     0.3, 0.02, 300.0),
    ("z_gap_300K", dict(alpha=0.05, exchange=0.1, magnetization=(0, 0, 1)), 0.05, 0.05, 300.0),
]


def point_ids():
    return [p[0] for p in PARAMETER_POINTS]


@pytest.fixture(params=PARAMETER_POINTS, ids=point_ids())
def parameter_point(request):
    name, kwargs, mu, gamma, temperature = request.param
    return name, kubo_sot.RashbaFerromagnet(**kwargs), mu, gamma, temperature


TENSORS = ("conductivity", "spin_density", "torkance")


def assert_agree_within_errors(a, b, parts=("total",)):
    """Every tensor of two LinearResponse results equal within the sum of their error
    estimates (plus rounding, 1e-12 of the tensor's largest element), in each of ``parts``
    (e.g. also "fermi_surface", "fermi_sea": the split, within the same errors)."""
    for name in TENSORS:
        x, y = getattr(a, name), getattr(b, name)
        scale = np.max(np.abs(y.total))
        for part in parts:
            assert np.all(np.abs(getattr(x, part) - getattr(y, part))
                          <= x.error + y.error + 1e-12 * scale), (name, part)


def tensor_deviation(a, b, part="total", reference=None):
    """max |a - b| relative to the largest element of the reference tensor (a.total)."""
    ref = np.max(np.abs((reference or a).total))
    return float(np.max(np.abs(getattr(a, part) - getattr(b, part))) / ref)


def worst_block_deviation(fast, reference, scale, blocks):
    """max over k-points and component blocks of |fast - reference| divided by the block's
    largest rounding scale at that k-point (the compiled-vs-numpy kernel comparisons)."""
    worst = 0.0
    for block in blocks:
        level = np.max(scale[:, block], axis=1, keepdims=True)
        deviation = np.abs(fast[:, block] - reference[:, block]) / np.maximum(level, 1e-300)
        worst = max(worst, float(np.max(deviation)))
    return worst


def miss_every_second_energy(monkeypatch, module):
    """Make ``module.sweep`` report every second Fermi energy above its tolerance (its
    error estimate inflated 1e9x, not converged), as a sweep that missed them would."""
    original = module.sweep

    def partly_missed(*args, **kwargs):
        swept = original(*args, **kwargs)
        swept.error[::2] *= 1e9
        swept.converged[::2] = False
        return swept
    monkeypatch.setattr(module, "sweep", partly_missed)
