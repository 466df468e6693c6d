"""Fermi-level band data: Fermi wave vectors, band occupations, alpha k_F / J."""

import numpy as np

from .results import BandData

# The angular integrals are periodic trapezoid sums of smooth functions (spectrally
# accurate while the contours enclose k = 0); 96 rays reach rounding for them.
N_RAYS = 96
N_SAMPLES = 3000
RAY_BLOCK = 24


def band_data(model, fermi_energy):
    """Band occupations n_n (nm^-2) and mean outer Fermi radii k_F,n (nm^-1) at T = 0.

    n_n = (2 pi)^-2 Int dphi Int k dk theta(mu - E_n): the occupied segments of each ray
    end at its Fermi crossings, in closed form where the model provides them
    (``model.fermi_crossings``), else from the sign changes of E_n - mu between N_SAMPLES
    samples (linear interpolation, accuracy ~ (1/N_SAMPLES)^2).
    """
    n_rays = 1 if getattr(model, "isotropic", False) else N_RAYS  # circles: one ray suffices
    phi = (np.arange(n_rays) + 0.5) * 2 * np.pi / n_rays
    if hasattr(model, "fermi_crossings"):
        areas, outer = _exact_occupied_areas(model, fermi_energy, phi)
    else:
        # Blocks of rays keep the samples (rays x N_SAMPLES x bands) to a few MB.
        blocks = [_occupied_areas(model, fermi_energy, phi[i:i + RAY_BLOCK])
                  for i in range(0, n_rays, RAY_BLOCK)]
        areas = np.sum([b[0] for b in blocks], axis=0)
        outer = np.concatenate([b[1] for b in blocks], axis=1)  # (bands, rays)
    areas = areas * (2 * np.pi / n_rays)
    occupations = tuple(float(a / (2 * np.pi) ** 2) for a in areas)
    k_fermi = tuple(float(np.mean(o)) for o in outer)
    exchange = getattr(model, "exchange", 0.0)
    alpha = getattr(model, "alpha", 0.0)
    ratio = alpha * k_fermi[0] / exchange if exchange > 0 else float("inf")
    return BandData(k_fermi, occupations, float(ratio))


def _exact_occupied_areas(model, fermi_energy, phi):
    """As :func:`_occupied_areas`, from the model's closed-form Fermi crossings: the ray is
    cut at every crossing and each segment is occupied where E_n < mu at its midpoint."""
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
        areas.append(np.sum(np.where(occupied, 0.5 * (hi**2 - lo**2), 0.0)))
        outers.append(np.nan_to_num(np.nanmax(np.where(np.isfinite(r), r, -np.inf), axis=1),
                                    neginf=0.0))
    return np.array(areas), np.array(outers)


def _occupied_areas(model, fermi_energy, phi):
    """Per band: sum over the rays phi of the occupied Int k dk, and each ray's outermost
    Fermi crossing (0 if none)."""
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
        areas.append(np.sum(np.where((s0 < 0) | (s1 < 0), 0.5 * (hi**2 - lo**2), 0.0)))
        outer = np.nanmax(np.where(cross, kc, -np.inf), axis=1)
        outers.append(np.where(np.isfinite(outer), outer, 0.0))
    return np.array(areas), np.array(outers)
