"""Work in progress (branch spectral-sweep): many Fermi energies at once, from
mu-independent spectral densities.

Prototype for an isotropic model (M along z) with monotone bands along the ray, T = 0 and
a constant Gamma; no error estimate yet.  For each band l the ray integral
Int k dk Re[c_l(k) g(mu - E_l(k))] (kubo_sot.kernels.pole_expansion) becomes
Int deps rho_l(eps) g(mu - eps) with rho_l = k c_l / E_l'(k) on Gauss panels in eps that
resolve rho (smooth, Gamma-independent), integrated exactly against the sharp kernels on
the panels near mu (kubo_sot.kernels.product_rules) and by the Gauss rule elsewhere; the
region beyond the lower band's k at mu_max + margin Gamma is integrated per mu with both
bands together (the sea's logarithms cancel between the bands only at equal k).

Measured (z_weak of the benchmarks, 100 energies in 0..0.5 eV, Gamma = 0.005 eV): 5.4 ms
= 9x one point, equal to the adaptive engine at rtol 1e-10 to 6e-14 of each tensor.
To do: split non-monotone bands (the Mexican hat: 1/sqrt densities at the ring), error
estimates (Legendre tails of rho per panel, tail region), in-plane M (densities at fixed
eps by contour integrals with the tangent-aware angular rule), T > 0.
"""
import numpy as np

from ..integrate.kspace import rotation_average
from ..kernels.kubo_bastin import to_eigenbasis
from ..kernels.pole_expansion import pole_coefficients
from ..kernels.product_rules import NEAR_PANEL, legendre_moments
from .response import LAYOUT, _pack

ORDER = 12
X_GL, W_GL = np.polynomial.legendre.leggauss(ORDER)
VINV = np.linalg.inv(np.polynomial.legendre.legvander(X_GL, ORDER - 1))  # values -> coeffs


def packed_coefficients(model, k, gamma):
    """(P, 3 basis, 26 packed, 2 bands) complex coefficients at k along phi = 0."""
    kx, ky = k, np.zeros_like(k)
    e, v = model.eigensystem(kx, ky)
    vel = to_eigenbasis(np.moveaxis(model.velocity(kx, ky), 0, 1), v)
    ops = np.concatenate([-vel, to_eigenbasis(model.spin_operators(), v)], axis=1)
    x = np.einsum("Mknm,Mjmn->Mkjnm", ops, vel)
    co = pole_coefficients(e, x, gamma)
    out = np.empty((k.size, 3, 26, 2), complex)
    for basis in range(3):
        parts = [co[t][basis] for t in ("surface_a", "surface_b", "sea")]  # (P, 5, 2, N)
        for band in range(2):
            out[:, basis, :, band] = _pack(*(p[..., band] for p in parts))
    return e, out


def band_k(model, eps, band):
    """k >= 0 on the ray with E_band(k) = eps (M || z, monotone bands)."""
    c, a, j = model._kinetic, model.alpha, model.exchange
    b = 2 * c * eps + a * a
    disc = np.sqrt(np.maximum(b * b - 4 * c * c * (eps * eps - j * j), 0.0))
    k2 = (b - disc) / (2 * c * c) if band == 1 else (b + disc) / (2 * c * c)
    return np.sqrt(np.maximum(k2, 0.0))


def band_slope(model, k, band):
    c, a, j = model._kinetic, model.alpha, model.exchange
    s = a * a * k / np.sqrt(a * a * k * k + j * j)
    return 2 * c * k + (s if band == 1 else -s)


def kernels(x, gamma):
    z = x + 1j * gamma
    g1 = 1.0 / z
    return np.stack([g1, g1 * g1, np.log(z)], axis=-1)  # (..., 3)


def sweep(model, mus, gamma, panel_width=0.1, margin=60.0):
    """Packed k-integrals (as KSpaceIntegral.estimate of linear_response) at every mu."""
    mus = np.asarray(mus, float)
    e_top = mus.max() + margin * gamma
    # K: the lower band reaches e_top there
    k_max = float(band_k(model, np.array([e_top]), 0)[0])
    total = np.zeros((mus.size, 26))
    for band in range(2):
        e0 = model.band_energies(np.zeros(1), np.zeros(1))[0, band]
        e1 = model.band_energies(np.array([k_max]), np.zeros(1))[0, band]
        if e1 <= e0:
            continue
        n_panels = max(int(np.ceil((e1 - e0) / panel_width)), 1)
        edges = np.linspace(e0, e1, n_panels + 1)
        mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
        eps = mid[:, None] + half[:, None] * X_GL  # (panels, ORDER)
        k = band_k(model, eps.ravel(), band)
        _, co = packed_coefficients(model, k, gamma)  # (P, 3, 26, 2)
        rho = co[..., band] * (k / band_slope(model, k, band))[:, None, None]  # (P, 3, 26)
        rho = rho.reshape(n_panels, ORDER, 3, 26)
        # far: plain Gauss for every (mu, node)
        w = (mus[:, None, None] + 1j * gamma - mid[None, :, None]) / half[None, :, None]
        near = np.abs(w[..., 0]) < NEAR_PANEL  # (mu, panel)
        g = kernels(mus[:, None, None] - eps[None], gamma)  # (mu, panel, node, 3)
        weights = (W_GL[None, None, :, None] * half[None, :, None, None]) * g
        weights = np.where(near[:, :, None, None], 0.0, weights)
        total += np.real(np.einsum("mpnb,pnbc->mc", weights, rho, optimize=True))
        # near: product integration
        mi, pi = np.nonzero(near)
        coeffs = np.einsum("jn,pnbc->pjbc", VINV, rho)  # Legendre coefficients per panel
        wn = w[mi, pi, 0]
        pole, double, log = legendre_moments(wn, ORDER - 1)  # (ORDER, n_near)
        h = half[pi]
        # Int rho(eps) g(mu - eps) deps = h Int rho(t) g(h (w - t)) dt
        m1 = pole.T  # Int P_j / (w - t) dt  -> times h / h = 1
        m2 = double.T / h[:, None]
        ml = h[:, None] * (log.T + np.log(h)[:, None] * np.r_[2.0, np.zeros(ORDER - 1)][None, :])
        mom = np.stack([m1, m2, ml], axis=-1)  # (n_near, ORDER, 3)
        contrib = np.real(np.einsum("qjb,qjbc->qc", mom, coeffs[pi], optimize=True))
        np.add.at(total, mi, contrib)
    # tail k > K: both bands together, per mu, plain Gauss on k = K / t
    t_edges = np.linspace(0.0, 1.0, 5)
    tm, th = 0.5 * (t_edges[1:] + t_edges[:-1]), 0.5 * (t_edges[1:] - t_edges[:-1])
    t = (tm[:, None] + th[:, None] * X_GL).ravel()
    tw = (th[:, None] * W_GL).ravel()
    k = k_max / t
    jac = k * k_max / (t * t) * tw  # k dk
    e, co = packed_coefficients(model, k, gamma)
    g = kernels(mus[:, None, None] - e[None], gamma)  # (mu, P, 2 bands, 3)
    total += np.real(np.einsum("mpnb,pbcn,p->mc", g, co, jac, optimize=True))
    average = rotation_average(LAYOUT)
    return total @ average.T / (2 * np.pi)
