"""The two routes: closed-form eigenbasis vs explicit Green's functions with numerical
energy integration (docs/conventions.md §4.4, last paragraph)."""

import numpy as np
import pytest

from conftest import PARAMETER_POINTS, PER_K_AGREEMENT, ROUTE_AGREEMENT, TENSORS, point_ids
import kubo_sot
from kubo_sot.constants import BOLTZMANN_EV_PER_K
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.packed_integral import (_CHI_A, _CHI_B, _CHI_SEA, _SIGMA_SEA,
                                                  _SIGMA_SURFACE, response_integrand)
from kubo_sot.observables.response import route_comparison

# Per tensor, its parts: each part is compared relative to the largest element of the
# whole tensor's integrand (a part that vanishes identically, e.g. the diagonal Fermi sea
# of sigma, is zero in one route and rounding in the other).
TENSOR_PARTS = ((_SIGMA_SURFACE, _SIGMA_SEA), (_CHI_A, _CHI_B, _CHI_SEA))


def _sample_points(model, mu, gamma):
    """k-points on and around the Fermi contours (where the integrand is sharpest),
    at the minimal-gap point, and at random."""
    phi = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radii, widths = model.ray_breakpoints(phi, mu, gamma)
    rays = np.repeat(phi, radii.shape[1])
    offsets = np.array([-3.0, -0.5, 0.0, 0.2, 1.0, 7.0])
    r = (radii.reshape(-1)[:, None] + np.nan_to_num(widths.reshape(-1))[:, None] * offsets)
    keep = np.isfinite(r) & (r >= 0)
    ang = np.broadcast_to(rays[:, None], r.shape)[keep]
    r = r[keep]
    rng = np.random.default_rng(7)
    k_rand = rng.uniform(0, 1.5 * np.nanmax(radii), 200)
    p_rand = rng.uniform(0, 2 * np.pi, 200)
    kx = np.concatenate([r * np.cos(ang), k_rand * np.cos(p_rand), [0.0, 1e3]])
    ky = np.concatenate([r * np.sin(ang), k_rand * np.sin(p_rand), [0.0, 1e3]])
    if model.dirac_point() is not None:
        kd = np.array(model.dirac_point())
        kx = np.append(kx, kd[0] + np.array([0.0, 1e-9, 1e-4]))
        ky = np.append(ky, kd[1] + np.array([0.0, 0.0, 1e-4]))
    return kx, ky


@pytest.mark.parametrize("point", PARAMETER_POINTS, ids=point_ids())
def test_routes_agree_per_k(point):
    _, kwargs, mu, gamma, temperature = point
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    kt = BOLTZMANN_EV_PER_K * temperature
    kx, ky = _sample_points(model, mu, gamma)
    if temperature > 0:  # the T > 0 check route costs ~3 ms per k-point
        kx, ky = kx[::4], ky[::4]
    check = response_integrand(model, mu, ConstantBroadening(gamma), kt, "green")(kx, ky)
    # Both eigenbasis kernels ("auto" is the compiled one at T = 0 when numba is there).
    for kernel in ("numpy", "auto"):
        fast = response_integrand(model, mu, ConstantBroadening(gamma), kt, "eigenbasis",
                                  kernel)(kx, ky)
        for parts in TENSOR_PARTS:
            scale = max(np.max(np.abs(fast[:, g])) for g in parts)
            for g in parts:
                assert np.max(np.abs(fast[:, g] - check[:, g])) <= PER_K_AGREEMENT * scale


@pytest.mark.slow
@pytest.mark.parametrize("point", PARAMETER_POINTS, ids=point_ids())
def test_routes_agree_integrated(point):
    """Acceptance: the routes agree to 1e-8 per tensor (relative to its largest element),
    integrated on the same adaptive k-points."""
    _, kwargs, mu, gamma, temperature = point
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    fast, check = route_comparison(model, mu, gamma, temperature, rtol=1e-3)
    for name in TENSORS:
        a, b = getattr(fast, name), getattr(check, name)
        scale = np.max(np.abs(a.total))
        for part in ("total", "fermi_surface", "fermi_sea"):
            dev = np.max(np.abs(getattr(a, part) - getattr(b, part))) / scale
            assert dev <= ROUTE_AGREEMENT, (name, part, dev)
