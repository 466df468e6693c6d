"""The model protocol: what the Kubo-Bastin kernels and the k-space integrator ask of a model.

A model is a two-dimensional, N-band Bloch Hamiltonian H(k).  The kernels need H(k), the
velocity operators hbar v_j = dH/dk_j and the spin operators; the integrator, which works in
polar coordinates (k, phi), needs to know where the integrand is sharp so that it can place
its first points there (Fermi-contour crossings along each ray, band extrema, near
degeneracies), how far each ray extends, and the angles where the ray length has kinks.

A model may also offer ``has_angular_features(fermi_energy, energy_width)``: True where the
ray integrals vary sharply with the angle (see :mod:`kubo_sot.integrate.kspace`), so that
the integrator skips the periodic trapezoid rule and goes to angular panels at once.

Continuum models extend to infinite k (``ray_length`` is infinite); the integrator then
maps the tail beyond ``tail_start`` onto a finite interval.  A tight-binding model lives in
its Brillouin zone and returns finite ray lengths.
"""

from typing import Protocol, runtime_checkable

import numpy as np

from .._cache import cached_if_hashable

PAULI = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)
"""Pauli matrices s_x, s_y, s_z, shape (3, 2, 2)."""


@runtime_checkable
class BandModel(Protocol):
    """Protocol of a 2D band model (all energies in eV, wave vectors in nm^-1)."""

    n_bands: int

    def hamiltonian(self, kx, ky):
        """H(k), shape ``kx.shape + (N, N)``."""

    def velocity(self, kx, ky):
        """hbar v_j = dH/dk_j in eV nm, shape ``(2,) + kx.shape + (N, N)``."""

    def spin_operators(self):
        """Spin (Pauli) operators s_a, shape (3, N, N)."""

    def eigensystem(self, kx, ky):
        """Band energies (ascending, ``kx.shape + (N,)``) and eigenvectors as columns
        (``numpy.linalg.eigh(self.hamiltonian(kx, ky))`` for a generic model)."""

    def band_bottom(self):
        """Lowest band energy in eV."""

    def angular_breakpoints(self, fermi_energy=None, energy_width=0.0):
        """Angles (rad, in [0, 2 pi], including both ends) where the angular integrand may
        have kinks or, on the scale of energy_width (eV), sharp features."""

    def ray_length(self, phi):
        """Largest |k| along the ray at angle phi (np.inf for a continuum model)."""

    def ray_breakpoints(self, phi, fermi_energy, energy_width):
        """Radii where the integrand along the rays is sharp, and their widths.

        Returns ``(radii, widths)``, both of shape (n_rays, n_points), NaN-padded; a width is
        the radial scale of the feature (energy_width / |dE/dk| at a Fermi-contour crossing),
        NaN where none is known.
        """

    def tail_start(self, phi, fermi_energy, energy_width):
        """Radius beyond which the integrand decays as a power law (continuum models)."""


# Test points (nm^-1), angle (rad) and relative tolerance of :func:`rotates_with_spin`.
_ROTATION_CHECK_K = np.array([[0.31, 0.12], [-1.3, 0.7]])
_ROTATION_CHECK_ANGLE = 0.9
_ROTATION_CHECK_RTOL = 1e-12


@cached_if_hashable(maxsize=64)
def rotates_with_spin(model):
    """True if ``model.isotropic`` holds with k and spin rotating together about z:
    H(R k) = U H(k) U^dagger with U = exp(-i phi s_z / 2) (checked at two wave vectors;
    cached for hashable models, e.g. the frozen dataclasses of this package).

    The single-ray angular integral of isotropic models relies on it (velocities and
    spins then rotate as vectors); a spin-1/2 model whose spin rotates against k (a
    Dresselhaus term) or a model that is not two-band fails it.
    """
    if not getattr(model, "isotropic", False) or getattr(model, "n_bands", None) != 2:
        return False
    s_z = np.asarray(model.spin_operators(), complex)[2]
    s_z = s_z / np.max(np.abs(np.linalg.eigvalsh(s_z)))
    phi = _ROTATION_CHECK_ANGLE
    u = np.cos(0.5 * phi) * np.eye(2) - 1j * np.sin(0.5 * phi) * s_z
    rotation = np.array([[np.cos(phi), -np.sin(phi)], [np.sin(phi), np.cos(phi)]])
    kx, ky = _ROTATION_CHECK_K.T
    rx, ry = rotation @ _ROTATION_CHECK_K.T
    h, h_rotated = model.hamiltonian(kx, ky), model.hamiltonian(rx, ry)
    deviation = np.max(np.abs(h_rotated - u @ h @ u.conj().T))
    return bool(deviation <= _ROTATION_CHECK_RTOL * np.max(np.abs(h)))


def sampled_ray_breakpoints(band_energies, phi, k_max, fermi_energy, energy_width,
                            n_samples=1200):
    """Fermi-contour crossings, band extrema and near-degeneracies along rays, by sampling.

    Parameters
    ----------
    band_energies : callable
        ``band_energies(kx, ky) -> (..., N)`` ascending band energies in eV.
    phi : (n_rays,) array
        Ray angles in rad.
    k_max : (n_rays,) array
        Ray lengths in nm^-1 (finite).
    fermi_energy, energy_width : float
        Chemical potential and the energy scale of the sharp features (eV).

    Returns
    -------
    radii, widths : (n_rays, n_points) arrays, NaN-padded
        Crossings are refined by bisection to machine precision; their widths are
        ``energy_width / |dE/dk|``.  Local extrema of each band and local minima of each
        gap are located to the sampling resolution (width NaN).
    """
    phi = np.atleast_1d(np.asarray(phi, float))
    k_max = np.broadcast_to(np.asarray(k_max, float), phi.shape)
    t = np.linspace(0.0, 1.0, n_samples)
    k = k_max[:, None] * t[None, :]
    cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
    e = band_energies(k * cos, k * sin)  # (n_rays, n_samples, N)
    n_bands = e.shape[-1]
    radii, widths = [], []

    # Fermi-contour crossings: sign changes of E_n - mu, refined by bisection.
    d = e - fermi_energy
    change = np.signbit(d[:, :-1, :]) != np.signbit(d[:, 1:, :])
    ray, idx, band = np.nonzero(change)
    if ray.size:
        lo, hi = k[ray, idx], k[ray, idx + 1]
        c, s = np.cos(phi[ray]), np.sin(phi[ray])
        sign_lo = np.signbit(d[ray, idx, band])
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            em = band_energies(mid * c, mid * s)[np.arange(mid.size), band] - fermi_energy
            same = np.signbit(em) == sign_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        root = 0.5 * (lo + hi)
        h = 1e-6 * np.maximum(root, 1e-3)
        slope = (band_energies((root + h) * c, (root + h) * s)[np.arange(root.size), band]
                 - band_energies((root - h) * c, (root - h) * s)[np.arange(root.size), band]) / (2 * h)
        width = energy_width / np.maximum(np.abs(slope), 1e-12)
        radii.append((ray, root))
        widths.append(width)

    # Band extrema and gap minima along the ray (to the sampling resolution).  A sample
    # counts only if it differs from both neighbours by more than rounding, so that flat
    # curves (e.g. a constant gap) give none.
    curves = [(e[..., n], False) for n in range(n_bands)]
    curves += [(e[..., n + 1] - e[..., n], True) for n in range(n_bands - 1)]
    for y, minima_only in curves:
        tol = 1e-10 * (np.max(np.abs(y), axis=1, keepdims=True) + 1e-300)
        left = y[:, 1:-1] - y[:, :-2]
        right = y[:, 1:-1] - y[:, 2:]
        is_min = (left < -tol) & (right < -tol)
        is_max = (left > tol) & (right > tol)
        interior = np.zeros_like(y, dtype=bool)
        interior[:, 1:-1] = is_min if minima_only else (is_min | is_max)
        r_, i_ = np.nonzero(interior)
        if r_.size:
            radii.append((r_, k[r_, i_]))
            widths.append(np.full(r_.size, np.nan))

    return _pad_per_ray(phi.size, radii, widths)


def _pad_per_ray(n_rays, radii, widths):
    if not radii:
        return np.full((n_rays, 0), np.nan), np.full((n_rays, 0), np.nan)
    ray = np.concatenate([r for r, _ in radii])
    val = np.concatenate([v for _, v in radii])
    wid = np.concatenate(widths)
    counts = np.bincount(ray, minlength=n_rays)
    width_max = counts.max() if counts.size else 0
    out_r = np.full((n_rays, width_max), np.nan)
    out_w = np.full((n_rays, width_max), np.nan)
    order = np.argsort(ray, kind="stable")
    ray, val, wid = ray[order], val[order], wid[order]
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(ray.size) - start[ray]
    out_r[ray, slot] = val
    out_w[ray, slot] = wid
    return out_r, out_w


def spin_matrices(model):
    """Spin (Pauli) operators (3, N, N) of a model: its ``spin_operators()`` method, or the
    ``spin_operators`` array of a :class:`~kubo_sot.models.tight_binding.TightBindingModel`."""
    s = model.spin_operators
    return np.asarray(s() if callable(s) else s)
