"""Fermi-level band data: Fermi wave vectors, band occupations, alpha k_F / J."""

import numpy as np

from .._cache import cached_if_hashable
from .results import BandData

# The angular integrals are periodic trapezoid sums of smooth functions (spectrally
# accurate while the contours enclose k = 0); 96 rays reach rounding for them.
N_RAYS = 96
# Where rays are tangent to a contour (a pocket that does not enclose k = 0), the occupied
# length of a ray has square-root points and its outer crossing jumps: the angle is split
# there, and each panel integrated by Gauss-Legendre after phi = a + (b - a)(3 s^2 - 2 s^3),
# which makes sqrt(phi - a) and sqrt(b - phi) smooth in s (tests/test_models.py checks
# against an adaptive quadrature to 1e-10).
PANEL_NODES = 48
N_SAMPLES = 3000
RAY_BLOCK = 24


@cached_if_hashable(maxsize=256)
def band_data(model, fermi_energy):
    """Band occupations n_n (nm^-2) and mean outer Fermi radii k_F,n (nm^-1) at T = 0.

    Cached by (model, mu) for hashable models (e.g. the frozen dataclasses of this
    package): sweeps over broadening or temperature ask for the same band data again.

    n_n = (2 pi)^-2 Int dphi Int k dk theta(mu - E_n): the occupied segments of each ray
    end at its Fermi crossings, in closed form where the model provides them
    (``model.fermi_crossings``; the angle is then split where rays are tangent to a contour,
    ``model.tangent_directions``), else from the sign changes of E_n - mu between
    N_SAMPLES samples (linear interpolation, accuracy ~ (1/N_SAMPLES)^2).  k_F,n is the
    angular mean of the outermost crossing of band n (0 along rays that miss its contour).
    """
    phi, weights = _angular_rule(model, fermi_energy)
    if hasattr(model, "fermi_crossings"):
        areas, outer = _exact_occupied_areas(model, fermi_energy, phi, weights)
    else:
        # Blocks of rays keep the samples (rays x N_SAMPLES x bands) to a few MB.
        areas, outer = np.sum([_occupied_areas(model, fermi_energy, phi[i:i + RAY_BLOCK],
                                               weights[i:i + RAY_BLOCK])
                               for i in range(0, phi.size, RAY_BLOCK)], axis=0)
    return _band_data(model, areas, outer)


def _angular_rule(model, fermi_energy):
    """Rays and weights for Int_0^2pi dphi: one ray for an isotropic model (circles), the
    periodic trapezoid rule on N_RAYS, or mapped Gauss-Legendre panels between the tangent
    directions of a model that provides them."""
    if getattr(model, "isotropic", False):
        return np.array([np.pi]), np.array([2 * np.pi])
    tangents = (np.unique(model.tangent_directions(fermi_energy))
                if hasattr(model, "tangent_directions") else np.zeros(0))
    if tangents.size == 0:
        return ((np.arange(N_RAYS) + 0.5) * 2 * np.pi / N_RAYS,
                np.full(N_RAYS, 2 * np.pi / N_RAYS))
    a = tangents
    b = np.append(tangents[1:], tangents[0] + 2 * np.pi)
    x, w = np.polynomial.legendre.leggauss(PANEL_NODES)
    s, w = 0.5 * (x + 1.0), 0.5 * w
    phi = a[:, None] + (b - a)[:, None] * (3 * s**2 - 2 * s**3)
    weights = (b - a)[:, None] * (6 * s * (1 - s) * w)
    return phi.reshape(-1), weights.reshape(-1)


def _exact_occupied_areas(model, fermi_energy, phi, weights):
    """Per band, the weighted sums over the rays phi of the occupied Int k dk and of the
    outermost Fermi crossing (0 if none), from the model's closed-form crossings: the ray
    is cut at every crossing and each segment is occupied where E_n < mu at its midpoint."""
    radii, band, _ = model.fermi_crossings(phi, fermi_energy)
    cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
    areas, outers = [], []
    for n in range(model.n_bands):
        r = np.sort(np.where(band == n, radii, np.nan), axis=1)  # NaN last
        ends = np.concatenate([np.zeros((phi.size, 1)), r], axis=1)
        lo, hi = ends[:, :-1], ends[:, 1:]
        mid = 0.5 * (lo + hi)
        energy = model.band_energies(np.nan_to_num(mid) * cos, np.nan_to_num(mid) * sin)[..., n]
        occupied = np.isfinite(hi) & (energy < fermi_energy)
        areas.append(weights @ np.sum(np.where(occupied, 0.5 * (hi**2 - lo**2), 0.0), axis=1))
        outer = np.nan_to_num(np.nanmax(np.where(np.isfinite(r), r, -np.inf), axis=1),
                              neginf=0.0)
        outers.append(weights @ outer / (2 * np.pi))
    return np.array(areas), np.array(outers)


def _band_data(model, areas, outer):
    """BandData from the occupied areas Int dphi Int k dk (per band) and mean outer radii."""
    occupations = tuple(float(a / (2 * np.pi) ** 2) for a in areas)
    k_fermi = tuple(float(o) for o in outer)
    exchange = getattr(model, "exchange", 0.0)
    alpha = getattr(model, "alpha", 0.0)
    ratio = alpha * k_fermi[0] / exchange if exchange > 0 else float("inf")
    return BandData(k_fermi, occupations, float(ratio))


def _occupied_areas(model, fermi_energy, phi, weights):
    """As :func:`_exact_occupied_areas`, from sign changes of E_n - mu between samples."""
    k_max = np.asarray(model.tail_start(phi, fermi_energy, 0.0), float)
    t = np.linspace(0.0, 1.0, N_SAMPLES)
    k = k_max[:, None] * t
    kx, ky = k * np.cos(phi)[:, None], k * np.sin(phi)[:, None]
    if hasattr(model, "band_energies"):
        energies = model.band_energies(kx, ky)
    else:
        energies = model.eigensystem(kx, ky)[0]
    areas, outers = [], []
    for n in range(energies.shape[-1]):
        s = energies[..., n] - fermi_energy
        k0, k1, s0, s1 = k[:, :-1], k[:, 1:], s[:, :-1], s[:, 1:]
        cross = np.signbit(s0) != np.signbit(s1)
        with np.errstate(divide="ignore", invalid="ignore"):
            kc = np.where(cross, k0 + (k1 - k0) * s0 / (s0 - s1), np.nan)
        lo = np.where(s0 < 0, k0, kc)
        hi = np.where(s1 < 0, k1, kc)
        areas.append(weights @ np.sum(np.where((s0 < 0) | (s1 < 0), 0.5 * (hi**2 - lo**2),
                                               0.0), axis=1))
        outer = np.nanmax(np.where(cross, kc, -np.inf), axis=1)
        outers.append(weights @ np.where(np.isfinite(outer), outer, 0.0) / (2 * np.pi))
    return np.array(areas), np.array(outers)
