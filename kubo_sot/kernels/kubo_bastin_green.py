"""Check route: Kubo-Bastin integrands from explicit Green's-function matrices.

Independent of :mod:`kubo_sot.kernels.kubo_bastin`: no eigenvectors and no closed-form
energy integrals.  G^R(z) = (z - H - Sigma^R)^-1 is inverted numerically at every energy and
the energy integrals are done by numerical quadrature (``scipy.integrate.quad_vec``):

T = 0
    surface terms at eps = mu directly;
    sea: Int_{-inf}^{mu} g(eps) deps = -i Int_0^inf g(mu + i y) dy, since
    g = Tr[B G^R V dG^R - B dG^R V G^R] is analytic in the upper half plane and decays as
    |z|^-3 (contour closed at infinity); integrated in s = ln y.
T > 0 (y0 = 2 pi k_B T, z0 = mu + i pi k_B T, f(x + i y0) = f(x))
    sea:       Int f g = Int f(x) g(x + i y0) dx - 2 pi i k_B T g(z0)
    surface b: Int (-f') F_b = Int (-f'(x)) F_b(x + i y0) dx - 2 pi i k_B T F_b'(z0)
    surface a: F_a = Tr[B G^R V G^A] has poles on both sides of the real axis, so it is
    integrated on the real axis with Gauss-Legendre panels graded around the band energies
    (eigenvalues are used only to place the panels).
"""

import warnings

import numpy as np
from scipy.integrate import quad_vec

from ..errors import ConvergenceWarning
from .green import retarded_green

ENERGY_RTOL = 1e-12
FERMI_WINDOW = 40.0  # -df/deps < 5e-18 / k_B T beyond mu +/- 40 k_B T
_PANEL_ORDERS = (12, 16)


def _trace(b, g1, v, g2):
    """Tr[B G1 V G2] for B (P,K,N,N), V (P,2,N,N), G (P,Q,N,N) -> (P,Q,K,2)."""
    return np.einsum("pkab,pqbc,pjcd,pqda->pqkj", b, g1, v, g2, optimize=True)


def _sea_trace(b, g, v):
    """g(z) = Tr[B G V dG - B dG V G] with dG = -G^2."""
    gg = np.einsum("pqab,pqbc->pqac", g, g)
    return -_trace(b, g, v, gg) + _trace(b, gg, v, g)


def _as_real(c):
    return np.stack([c.real, c.imag], axis=-1)


def _quad_complex(func, lo, hi, shape):
    """Integral of a complex array-valued function (real and imaginary parts stacked)."""
    r = _quad(lambda x: _as_real(func(x)), lo, hi, shape + (2,))
    return r[..., 0] + 1j * r[..., 1]


def _quad(func, lo, hi, shape):
    res, err, info = quad_vec(lambda x: func(x).reshape(-1), lo, hi, epsrel=ENERGY_RTOL,
                              norm="max", full_output=True, limit=20000)
    if not info.success and err > 100 * ENERGY_RTOL * np.max(np.abs(res)):
        warnings.warn(f"check-route energy integral did not converge: error {err:.3g}, "
                      f"rtol {ENERGY_RTOL:g}", ConvergenceWarning, stacklevel=3)
    return res.reshape(shape)


def kubo_bastin_green(hamiltonian, velocities, operators, fermi_energy, broadening,
                      thermal_energy):
    """Surface (a), surface (b) and sea integrands, same definitions and units as
    :func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_eigenbasis`.

    Parameters
    ----------
    hamiltonian : (P, N, N) array
    velocities : (P, 2, N, N) array, hbar v_j in eV nm
    operators : (P, K, N, N) array
    fermi_energy : float, eV
    broadening : object with ``self_energy`` (e.g. ConstantBroadening)
    thermal_energy : float, k_B T in eV
    """
    h, v, b = hamiltonian, velocities, operators
    mu, kt = float(fermi_energy), float(thermal_energy)
    p, k = b.shape[0], b.shape[1]
    out_shape = (p, k, 2)

    def green(z):  # z: (Q,) complex -> (P, Q, N, N)
        return retarded_green(np.asarray(z)[None, :], h[:, None], broadening)

    scale = np.max(np.abs(h)) + abs(mu) + 1.0
    if kt == 0.0:
        gr = green(np.array([mu + 0j]))
        ga = np.conj(np.swapaxes(gr, -1, -2))
        surface_a = -_trace(b, gr, v, ga)[:, 0].real
        surface_b = _trace(b, gr, v, gr)[:, 0].real

        def along_imaginary_axis(s):
            y = np.exp(s)
            return _sea_trace(b, green(np.array([mu + 1j * y])), v)[:, 0].imag * y

        gamma = broadening.gamma
        sea = -_quad(along_imaginary_axis, np.log(1e-12 * gamma), np.log(1e7 * scale),
                     out_shape)
        return surface_a, surface_b, sea

    y0 = 2.0 * np.pi * kt
    z0 = np.array([mu + 0.5j * y0])
    lo, hi = mu - FERMI_WINDOW * kt, mu + FERMI_WINDOW * kt

    def minus_df(x):
        return 0.25 / kt / np.cosh(0.5 * (x - mu) / kt) ** 2

    def fermi(x):
        return 0.5 * (1.0 - np.tanh(0.5 * (x - mu) / kt))

    # Surface (b) on the shifted line plus the Matsubara residue.
    def surface_b_line(x):
        g = green(np.array([x + 1j * y0]))
        return minus_df(x) * _trace(b, g, v, g)[:, 0]

    line_b = _quad_complex(surface_b_line, lo, hi, out_shape)
    g0 = green(z0)
    gg0 = np.einsum("pqab,pqbc->pqac", g0, g0)
    fb_prime = (-_trace(b, gg0, v, g0) - _trace(b, g0, v, gg0))[:, 0]
    surface_b = (line_b - 2j * np.pi * kt * fb_prime).real

    # Sea: left tail (f = 1) by the contour up from x = lo, window on the shifted line,
    # and the Matsubara residue.
    def tail(s):
        y = y0 + np.exp(s)
        return _sea_trace(b, green(np.array([lo + 1j * y])), v)[:, 0] * np.exp(s)

    tail_int = -1j * _quad_complex(tail, np.log(1e-12 * y0), np.log(1e7 * scale), out_shape)

    def sea_line(x):
        g = green(np.array([x + 1j * y0]))
        return fermi(x) * _sea_trace(b, g, v)[:, 0]

    line_sea = _quad_complex(sea_line, lo, hi, out_shape)
    # The tail integral starts at lo + i y0 + i*1e-12 y0; the missing sliver is negligible.
    sea = -(tail_int + line_sea - 2j * np.pi * kt * _sea_trace(b, g0, v)[:, 0]).real

    surface_a = -_real_axis_surface_a(h, v, b, mu, kt, broadening, minus_df, lo, hi)
    return surface_a, surface_b, sea


def _real_axis_surface_a(h, v, b, mu, kt, broadening, minus_df, lo, hi, chunk=64):
    """Int (-f') Re Tr[B G^R V G^A] on graded Gauss-Legendre panels (two orders compared)."""
    if h.shape[0] > chunk:
        return np.concatenate([
            _real_axis_surface_a(h[i:i + chunk], v[i:i + chunk], b[i:i + chunk], mu, kt,
                                 broadening, minus_df, lo, hi, chunk)
            for i in range(0, h.shape[0], chunk)])
    gamma = broadening.gamma
    energies = np.linalg.eigvalsh(h)  # only to place the panels
    # Panels of width 2 k_B T resolve -f' (its poles are pi k_B T off the real axis);
    # geometric panels down to Gamma resolve the Lorentzians at the band energies.
    uniform = mu + kt * np.arange(-FERMI_WINDOW, FERMI_WINDOW + 1, 2.0)
    uniform = np.broadcast_to(uniform, (h.shape[0], uniform.size))
    steps = 4.0 ** np.arange(6)
    offsets = gamma * np.concatenate([[0.0], steps, -steps])
    graded = (energies[:, :, None] + offsets).reshape(h.shape[0], -1)
    edges = np.sort(np.clip(np.concatenate([uniform, graded], axis=1), lo, hi), axis=1)
    results = []
    for order in _PANEL_ORDERS:
        x, w = np.polynomial.legendre.leggauss(order)
        left, right = edges[:, :-1], edges[:, 1:]
        half = 0.5 * (right - left)
        eps = (0.5 * (left + right))[..., None] + half[..., None] * x  # (P, panels, order)
        eps = eps.reshape(h.shape[0], -1)
        wts = (half[..., None] * w).reshape(h.shape[0], -1) * minus_df(eps)
        gr = retarded_green(eps, h[:, None], broadening)
        ga = np.conj(np.swapaxes(gr, -1, -2))
        t = _trace(b, gr, v, ga).real
        results.append(np.einsum("pqkj,pq->pkj", t, wts))
    err = np.max(np.abs(results[1] - results[0]))
    if err > 1e-9 * max(np.max(np.abs(results[1])), 1e-300):
        warnings.warn(f"check-route surface (a) energy quadrature error {err:.3g}",
                      ConvergenceWarning, stacklevel=3)
    return results[1]
