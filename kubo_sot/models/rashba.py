"""Rashba ferromagnet of the seed paper (Ho et al., Eq. 1), continuum and square lattice.

    H(k) = (hbar^2 k^2 / 2m) s_0 + alpha (k_y s_x - k_x s_y) - J M.s          (continuum)
    H(k) = 2t(2 - cos k_x a - cos k_y a) s_0
           + (alpha/a)(sin k_y a s_x - sin k_x a s_y) - J M.s                 (lattice)

Both write H = eps(k) s_0 + b(k).s; the lower band (majority, spin along +M) is
eps - |b|.  Conventions: docs/conventions.md §2.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from .. import _checks
from ..constants import kinetic_prefactor
from .base import PAULI, sampled_ray_breakpoints
from .quartic import real_roots

# Radial range searched for features: energies up to this many energy widths above mu.
FEATURE_ENERGY_MARGIN = 40.0


def _two_band_eigensystem(eps, b):
    """Closed-form eigensystem of eps s_0 + b.s (ascending energies, eigenvectors as columns).

    The eigenvector of b.s with eigenvalue -|b| is built from whichever of two equivalent
    formulas is better conditioned, so that it stays accurate for any direction of b; at
    |b| = 0 any orthonormal basis is an eigenbasis and the construction returns one.
    """
    bx, by, bz = b
    norm = np.sqrt(bx * bx + by * by + bz * bz)
    energies = np.stack([eps - norm, eps + norm], axis=-1)
    # Eigenvector for -|b|: (bx - i by, -(|b| + bz)) / N  or  (|b| - bz, -(bx + i by)) / N.
    use_first = bz >= 0
    u0 = np.where(use_first, bx - 1j * by, norm - bz)
    u1 = np.where(use_first, -(norm + bz), -(bx + 1j * by))
    n = np.sqrt(np.abs(u0) ** 2 + np.abs(u1) ** 2)
    degenerate = n == 0
    n = np.where(degenerate, 1.0, n)
    u0 = np.where(degenerate, 1.0, u0 / n)
    u1 = np.where(degenerate, 0.0, u1 / n)
    # Second column orthogonal to the first: (-conj(u1), conj(u0)).
    vectors = np.empty(np.shape(eps) + (2, 2), dtype=complex)
    vectors[..., 0, 0] = u0
    vectors[..., 1, 0] = u1
    vectors[..., 0, 1] = -np.conj(u1)
    vectors[..., 1, 1] = np.conj(u0)
    return energies, vectors


def _pauli_combination(c0, cx, cy, cz):
    """c0 s_0 + cx s_x + cy s_y + cz s_z for arrays of coefficients."""
    shape = np.broadcast(c0, cx, cy, cz).shape
    out = np.empty(shape + (2, 2), dtype=complex)
    out[..., 0, 0] = c0 + cz
    out[..., 1, 1] = c0 - cz
    out[..., 0, 1] = cx - 1j * cy
    out[..., 1, 0] = cx + 1j * cy
    return out


@functools.lru_cache(maxsize=1024)
def _lower_band_minimum(c, a, j, m_par, mz):
    """Minimum over s of c (s/a)^2 - sqrt((s + J M_par)^2 + (J M_z)^2) (see band_bottom)."""
    if a == 0.0:
        return -j

    def lower(s):
        return c * (s / a) ** 2 - np.sqrt((s + j * m_par) ** 2 + (j * mz) ** 2)
    # The minimum is at |s| <= alpha^2 / (2c) + J (where the parabola outgrows the root).
    s_max = a * a / (2 * c) + 2 * j + 1e-12
    s = np.linspace(-s_max, s_max, 4001)
    i = int(np.argmin(lower(s)))
    lo, hi = s[max(i - 1, 0)], s[min(i + 1, s.size - 1)]
    best = minimize_scalar(lower, bounds=(lo, hi), method="bounded",
                           options={"xatol": 1e-14 * max(s_max, 1.0)})
    return float(min(best.fun, lower(s[i])))


class _TwoBandExchangeRashba:
    """Shared part of the continuum and lattice models: H = eps(k) s_0 + b(k).s."""

    n_bands = 2

    def _check_common(self):
        object.__setattr__(self, "alpha", _checks.non_negative("alpha", self.alpha, "eV nm"))
        object.__setattr__(self, "exchange",
                           _checks.non_negative("exchange", self.exchange, "eV"))
        object.__setattr__(self, "magnetization",
                           _checks.unit_vector("magnetization", self.magnetization))

    def hamiltonian(self, kx, ky):
        eps = self.kinetic_energy(kx, ky)
        bx, by, bz = self.exchange_rashba_field(kx, ky)
        return _pauli_combination(eps, bx, by, bz)

    def spin_operators(self):
        return PAULI.copy()

    def eigensystem(self, kx, ky):
        eps = self.kinetic_energy(kx, ky)
        return _two_band_eigensystem(eps, self.exchange_rashba_field(kx, ky))

    def band_energies(self, kx, ky):
        eps = self.kinetic_energy(kx, ky)
        bx, by, bz = self.exchange_rashba_field(kx, ky)
        norm = np.sqrt(bx * bx + by * by + bz * bz)
        return np.stack([eps - norm, eps + norm], axis=-1)

    def parameters(self):
        """Model parameters as a plain dict (for provenance and JSON)."""
        out = {"model": type(self).__name__}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, kw_only=True)
class RashbaFerromagnet(_TwoBandExchangeRashba):
    """Two-dimensional Rashba ferromagnet in the continuum (seed paper, Eq. 1).

    Parameters
    ----------
    alpha : float
        Rashba parameter alpha in eV nm (>= 0).
    exchange : float
        Exchange energy J in eV (>= 0); at k = 0 the bands are at -J and +J.
    magnetization : sequence of 3 floats
        Unit vector M (norm 1 within 1e-9).
    mass : float, optional
        Effective mass m in units of the free-electron mass (> 0), default 1.

    Notes
    -----
    The model extends to infinite k; the integrator integrates the power-law tail exactly
    through a change of variables, with no cutoff.

    Examples
    --------
    >>> import kubo_sot
    >>> model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> round(model.band_bottom(), 6)
    -0.1
    """

    alpha: float
    exchange: float
    magnetization: tuple
    mass: float = 1.0
    _kinetic: float = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "mass", _checks.positive("mass", self.mass, "m_e"))
        object.__setattr__(self, "_kinetic", kinetic_prefactor(self.mass))

    @property
    def kinetic_coefficient(self):
        """hbar^2 / 2m in eV nm^2."""
        return self._kinetic

    def kinetic_energy(self, kx, ky):
        return self._kinetic * (np.square(kx) + np.square(ky))

    def exchange_rashba_field(self, kx, ky):
        mx, my, mz = self.magnetization
        a, j = self.alpha, self.exchange
        kx, ky = np.broadcast_arrays(np.asarray(kx, float), np.asarray(ky, float))
        return a * ky - j * mx, -a * kx - j * my, np.full(kx.shape, -j * mz)

    def velocity(self, kx, ky):
        c, a = self._kinetic, self.alpha
        zero = np.zeros(np.shape(kx))
        vx = _pauli_combination(2 * c * np.asarray(kx, float), zero, zero - a, zero)
        vy = _pauli_combination(2 * c * np.asarray(ky, float), zero + a, zero, zero)
        return np.stack([vx, vy])

    def band_bottom(self):
        """Minimum of the lower band in eV.

        The minimum lies on the line q = alpha (k x z) = -s M_par/|M_par|, along which
        E_-(s) = (hbar^2/2m)(s/alpha)^2 - sqrt((s + J|M_par|)^2 + J^2 M_z^2).
        Cached by parameters: a sweep validates and evaluates many points of one model.
        """
        return _lower_band_minimum(self._kinetic, self.alpha, self.exchange,
                                   float(np.hypot(*self.magnetization[:2])),
                                   float(self.magnetization[2]))

    @property
    def isotropic(self):
        """True for M = +/-z: H is invariant under rotations about z (with spin)."""
        return self.magnetization[0] == 0.0 and self.magnetization[1] == 0.0

    def dirac_point(self):
        """k where b(k) = 0 (band touching), or None (needs M_z = 0 and alpha > 0)."""
        mx, my, mz = self.magnetization
        if self.alpha == 0.0 or mz != 0.0:
            return None
        return (-self.exchange * my / self.alpha, self.exchange * mx / self.alpha)

    def angular_breakpoints(self, fermi_energy=None, energy_width=0.0):
        """Quadrant ends, the direction of the minimal-gap point k_gap (where
        alpha (k x z) = J M_par) and, when the bands there are within
        FEATURE_ENERGY_MARGIN energy widths of mu, two more at +-2 delta around it: seen
        from k = 0 the region where the bands bend, of radius
        sqrt((J M_z)^2 + energy_width^2) / alpha, spans the angle
        delta = arctan(radius / |k_gap|) (the Dirac cone of an in-plane M)."""
        points = [0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi, 2.0 * np.pi]
        mx, my, mz = self.magnetization
        m_par = np.hypot(mx, my)
        if self.alpha > 0 and m_par > 0:
            direction = float(np.arctan2(mx, -my))
            points.append(direction % (2 * np.pi))
            k_gap = self.exchange * m_par / self.alpha
            gap_energy = self._kinetic * k_gap**2  # midpoint of the bands at k_gap
            if fermi_energy is not None and abs(gap_energy - fermi_energy) < (
                    self.exchange * abs(mz) + FEATURE_ENERGY_MARGIN * energy_width):
                radius = np.hypot(self.exchange * mz, energy_width) / self.alpha
                delta = float(np.arctan2(radius, k_gap))
                if delta < 0.125 * np.pi:
                    points += [(direction - 2 * delta) % (2 * np.pi),
                               (direction + 2 * delta) % (2 * np.pi)]
        return np.unique(points)

    def has_angular_features(self, fermi_energy, energy_width):
        """True when rays are tangent to a Fermi contour (one that does not enclose k = 0):
        the ray integrals then have square-root points in phi, and the k-space integrator
        goes to panels between the angular breakpoints at once instead of trying the
        periodic trapezoid rule first.  (The Dirac cone of an in-plane M near mu, for which
        angular_breakpoints adds points, is no such sign: of 12 random tilted points, 9
        had it within FEATURE_ENERGY_MARGIN widths; the rule met rtol 1e-6 at 7 of them
        with -74% to +7% k-points and handed over to the panels at 2 with +31% and +48%,
        -18% in all.)"""
        return self.tangent_directions(fermi_energy).size > 0

    def ray_length(self, phi):
        return np.full(np.shape(phi), np.inf)

    def _feature_radius(self, fermi_energy, energy_width):
        """Radius (nm^-1) within which the integrand has its sharp features."""
        c, a, j = self._kinetic, self.alpha, self.exchange
        e_top = max(fermi_energy, -j) + j + FEATURE_ENERGY_MARGIN * energy_width
        # Beyond this radius even the lower band (>= c k^2 - alpha k - J) lies above e_top.
        k_e = (a + np.sqrt(a * a + 4 * c * e_top)) / (2 * c)
        k_gap = j / a if a > 0 else 0.0
        # Include the minimal-gap region only when it lies near the Fermi region; far in
        # the tail both bands are far above mu and the gap closing is invisible.
        return max(k_e, 1.2 * k_gap) if k_gap < 3 * k_e else k_e

    def _ray_projection(self, phi):
        """p = M_x sin(phi) - M_y cos(phi): along the ray k (cos phi, sin phi) the field is
        |b|^2 = alpha^2 k^2 - 2 alpha J p k + J^2."""
        mx, my, _ = self.magnetization
        phi = np.atleast_1d(np.asarray(phi, float))
        return mx * np.sin(phi) - my * np.cos(phi)

    def fermi_crossings(self, phi, fermi_energy):
        """Radii where a band crosses mu along each ray, in closed form.

        E_+-(k) = c k^2 +- |b(k)| = mu  <=>  (c k^2 - mu)^2 = |b|^2, the quartic
        c^2 k^4 - (2 c mu + alpha^2) k^2 + 2 alpha J p k + mu^2 - J^2 = 0 (roots polished
        by Newton steps); the band is the lower one where c k^2 > mu.

        Returns
        -------
        radii, band, slope : (n_rays, 4) arrays
            Crossing radii (nm^-1, ascending, NaN-padded), band index (0 lower, 1 upper)
            and dE/dk there (eV nm).
        """
        c, a, j = self._kinetic, self.alpha, self.exchange
        p = self._ray_projection(phi)
        ones = np.ones_like(p)
        coefficients = np.stack([c * c * ones, 0 * ones, -(2 * c * fermi_energy + a * a) * ones,
                                 2 * a * j * p, (fermi_energy**2 - j * j) * ones], axis=1)
        k = real_roots(coefficients)
        k = np.where(k >= 0, k, np.nan)
        s = c * k * k - fermi_energy
        band = np.where(s > 0, 0, 1)
        norm = np.sqrt(a * a * k * k - 2 * a * j * p[:, None] * k + j * j)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = 2 * c * k + np.where(band == 0, -1.0, 1.0) * (a * a * k - a * j * p[:, None]) / norm
        return k, band, slope

    def tangent_directions(self, fermi_energy):
        """Directions (rad, in [0, 2 pi)) of the rays tangent to a Fermi contour, where two
        Fermi crossings of a ray merge (contours that do not enclose k = 0).

        A double root of the crossing quartic Q(k) of :meth:`fermi_crossings`: Q'(k) = 0
        gives 2 alpha J p = 2 (2 c mu + alpha^2) k - 4 c^2 k^3, and Q = 0 then becomes
        -3 c^2 k^4 + (2 c mu + alpha^2) k^2 + mu^2 - J^2 = 0, a quadratic in k^2.  With
        p = |M_par| sin(phi - theta_M), each root k > 0 with |p| < |M_par| gives two
        directions.  None without Rashba coupling or an in-plane magnetization (the
        contours are then circles about k = 0).
        """
        c, a, j = self._kinetic, self.alpha, self.exchange
        mx, my, _ = self.magnetization
        m_par = float(np.hypot(mx, my))
        if a == 0.0 or j * m_par == 0.0:
            return np.zeros(0)
        b = 2 * c * fermi_energy + a * a
        discriminant = b * b + 12 * c * c * (fermi_energy**2 - j * j)
        if discriminant < 0:
            return np.zeros(0)
        k2 = (b + np.array([1.0, -1.0]) * np.sqrt(discriminant)) / (6 * c * c)
        k = np.sqrt(k2[k2 > 0])
        s = (2 * b * k - 4 * c * c * k**3) / (2 * a * j * m_par)
        s = s[np.abs(s) < 1.0]
        theta = np.arctan2(my, mx)
        return np.sort(np.concatenate([theta + np.arcsin(s), theta + np.pi - np.arcsin(s)])
                       % (2 * np.pi))

    def ray_breakpoints(self, phi, fermi_energy, energy_width):
        """Fermi crossings (width energy_width / |dE/dk|), band extrema and the minimal gap
        along each ray, in closed form (sampled when alpha = 0, where the quartics
        degenerate).

        Band extrema: dE_+-/dk = 0, squared, is the quartic
        4 c^2 alpha^2 k^4 - 8 c^2 alpha J p k^3 + (4 c^2 J^2 - alpha^4) k^2
        + 2 alpha^3 J p k - alpha^2 J^2 p^2 = 0;  the gap 2|b| is smallest at k = J p / alpha,
        with width sqrt(J^2 (1 - p^2) + energy_width^2) / alpha.
        """
        k_max = 1.25 * self._feature_radius(fermi_energy, energy_width)
        if self.alpha == 0.0:
            return sampled_ray_breakpoints(self.band_energies, phi,
                                           np.full(np.shape(phi), k_max), fermi_energy,
                                           energy_width)
        c, a, j = self._kinetic, self.alpha, self.exchange
        p = self._ray_projection(phi)
        crossing, _, slope = self.fermi_crossings(phi, fermi_energy)
        width = energy_width / np.maximum(np.abs(slope), 1e-12)
        ones = np.ones_like(p)
        extrema = real_roots(np.stack([4 * c * c * a * a * ones, -8 * c * c * a * j * p,
                                        (4 * c * c * j * j - a**4) * ones,
                                        2 * a**3 * j * p, -(a * j * p) ** 2], axis=1))
        gap = (j * p / a)[:, None]
        # Around the minimal gap |b|^2 = alpha^2 (k - k_gap)^2 + J^2 (1 - p^2): the bands
        # bend over a radial scale sqrt(J^2 (1 - p^2) + Gamma^2) / alpha (the Dirac cone of
        # an in-plane M, where the direction p = +-1 closes the gap, at Gamma / alpha).
        gap_width = np.sqrt(j * j * np.maximum(1.0 - p * p, 0.0) + energy_width**2) / a
        radii = np.concatenate([crossing, extrema, gap], axis=1)
        widths = np.concatenate([width, np.full((p.size, 4), np.nan), gap_width[:, None]],
                                axis=1)
        keep = (radii >= 0) & (radii <= k_max)
        return np.where(keep, radii, np.nan), np.where(keep, widths, np.nan)

    def tail_start(self, phi, fermi_energy, energy_width):
        k = 1.5 * self._feature_radius(fermi_energy, energy_width)
        return np.full(np.shape(phi), k)


@dataclass(frozen=True, kw_only=True)
class SquareLatticeRashbaFerromagnet(_TwoBandExchangeRashba):
    """Rashba ferromagnet on a square lattice (docs/conventions.md §2.3).

    Parameters
    ----------
    hopping : float
        Nearest-neighbour hopping t in eV (> 0); hbar^2/2m = t a^2 for k a << 1.
    lattice_constant : float
        Lattice constant a in nm (> 0).
    alpha : float
        Rashba parameter in eV nm (>= 0).
    exchange : float
        Exchange energy J in eV (>= 0).
    magnetization : sequence of 3 floats
        Unit vector M.

    Examples
    --------
    >>> import kubo_sot
    >>> lat = kubo_sot.SquareLatticeRashbaFerromagnet(
    ...     hopping=3.81, lattice_constant=0.1, alpha=0.1, exchange=0.1,
    ...     magnetization=(0, 0, 1))
    >>> lat.n_bands
    2
    """

    hopping: float
    lattice_constant: float
    alpha: float
    exchange: float
    magnetization: tuple

    def __post_init__(self):
        self._check_common()
        object.__setattr__(self, "hopping", _checks.positive("hopping", self.hopping, "eV"))
        object.__setattr__(self, "lattice_constant",
                           _checks.positive("lattice_constant", self.lattice_constant, "nm"))

    @classmethod
    def from_continuum(cls, model, lattice_constant):
        """Lattice model with hbar^2/2m = t a^2 of a continuum ``RashbaFerromagnet``."""
        return cls(hopping=model.kinetic_coefficient / lattice_constant**2,
                   lattice_constant=lattice_constant, alpha=model.alpha,
                   exchange=model.exchange, magnetization=model.magnetization)

    def kinetic_energy(self, kx, ky):
        a = self.lattice_constant
        return 2 * self.hopping * (2 - np.cos(np.asarray(kx) * a) - np.cos(np.asarray(ky) * a))

    def exchange_rashba_field(self, kx, ky):
        mx, my, mz = self.magnetization
        lat, ra, j = self.lattice_constant, self.alpha / self.lattice_constant, self.exchange
        kx, ky = np.broadcast_arrays(np.asarray(kx, float), np.asarray(ky, float))
        return (ra * np.sin(ky * lat) - j * mx, -ra * np.sin(kx * lat) - j * my,
                np.full(kx.shape, -j * mz))

    def velocity(self, kx, ky):
        t, lat, a = self.hopping, self.lattice_constant, self.alpha
        kx, ky = np.asarray(kx, float), np.asarray(ky, float)
        zero = np.zeros(np.broadcast(kx, ky).shape)
        vx = _pauli_combination(2 * t * lat * np.sin(kx * lat) + zero, zero,
                                -a * np.cos(kx * lat) + zero, zero)
        vy = _pauli_combination(2 * t * lat * np.sin(ky * lat) + zero,
                                a * np.cos(ky * lat) + zero, zero, zero)
        return np.stack([vx, vy])

    def band_bottom(self):
        """Minimum of the lower band in eV (dense Brillouin-zone sampling, then refined)."""
        from scipy.optimize import minimize
        a = self.lattice_constant
        g = np.linspace(-np.pi / a, np.pi / a, 401)
        kx, ky = np.meshgrid(g, g, indexing="ij")
        e = self.band_energies(kx, ky)[..., 0]
        i = np.unravel_index(np.argmin(e), e.shape)
        res = minimize(lambda k: self.band_energies(k[0], k[1])[0],
                       x0=[kx[i], ky[i]], method="Nelder-Mead",
                       options={"xatol": 1e-12, "fatol": 1e-15})
        return float(min(res.fun, e[i]))

    def angular_breakpoints(self, fermi_energy=None, energy_width=0.0):
        return np.linspace(0.0, 2.0 * np.pi, 9)

    def ray_length(self, phi):
        phi = np.asarray(phi, float)
        return np.pi / (self.lattice_constant * np.maximum(np.abs(np.cos(phi)),
                                                           np.abs(np.sin(phi))))

    def ray_breakpoints(self, phi, fermi_energy, energy_width):
        return sampled_ray_breakpoints(self.band_energies, phi, self.ray_length(phi),
                                       fermi_energy, energy_width)

    def tail_start(self, phi, fermi_energy, energy_width):
        return self.ray_length(phi)

    # The lattice view used by the Brillouin-zone integrator
    # (:mod:`kubo_sot.integrate.brillouin_zone`, :mod:`kubo_sot.observables.lattice_response`).
    exchange_is_local = True

    @property
    def lattice_vectors(self):
        """Rows a1 = (a, 0), a2 = (0, a) in nm."""
        return self.lattice_constant * np.eye(2)

    @property
    def reciprocal_vectors(self):
        """Rows b1, b2 in nm^-1 (a_i . b_j = 2 pi delta_ij)."""
        return (2.0 * np.pi / self.lattice_constant) * np.eye(2)

    @property
    def cell_area(self):
        """a^2 in nm^2."""
        return self.lattice_constant ** 2

    def local_torque_operators(self):
        """T = J M x s, (3, 2, 2): the torque operator of the exchange -J M.s."""
        mx, my, mz = self.magnetization
        m_cross = np.array([[0.0, -mz, my], [mz, 0.0, -mx], [-my, mx, 0.0]])
        return self.exchange * np.einsum("ab,bij->aij", m_cross, PAULI)
