"""Compiled (numba) per-k integrands of the white-noise-disorder engine, T = 0.

The readable references are the numpy codes
``kubo_sot.observables.disordered_response.disordered_integrand(model, mu, sigma,
"eigenbasis", kernel="numpy")`` (Kubo-Bastin terms with a constant 2x2 self-energy, built
from :func:`kubo_sot.kernels.kubo_bastin.spectral_projectors`,
:func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_projectors`,
:func:`kubo_sot.kernels.energy_integrals.pole_pair_integrals` and
:func:`kubo_sot.kernels.ladder.ra_traces`) and
``kubo_sot.observables.self_energy.self_energy_integrand(..., kernel="numpy")`` (the
k-integrand of the Born self-energy); ``tests/test_disorder_numba.py`` compares them per
k to rounding.  This module fuses the same steps into one compiled loop over k-points for
:class:`kubo_sot.models.rashba.RashbaFerromagnet`: closed-form 2x2 spectral projectors of
the non-Hermitian H + Sigma, the pole-pair energy integrals (closed forms and the
near-degenerate midpoint series, same switch), the traces and their packing.  Per k-point
it takes about 1/15 of the numpy time for the 58-component integrand and 1/20 for the
self-energy integrand.

numba is optional (``pip install kubo_sot[fast]``); without it this module imports, reports
``AVAILABLE = False`` and its ``fused_*`` functions return None.
"""

import cmath

import numpy as np

from .green import PAULI_BASIS
from .kubo_bastin_numba import (AVAILABLE, _compiled, _hamiltonian, _log_ratio, _pole_pair,
                                applies, flat_wave_vectors, ray_rule_from_loop)

N_COMPONENTS = 58  # layout of kubo_sot.observables.disordered_response.disordered_integrand
N_SELF_ENERGY = 7  # layout of kubo_sot.observables.self_energy.self_energy_integrand


@_compiled
def _pauli_traces(x, out):
    """Tr[s_a X] (a = 0, x, y, z) of a 2x2 complex matrix X into ``out`` (4,)."""
    out[0] = x[0, 0] + x[1, 1]
    out[1] = x[0, 1] + x[1, 0]
    out[2] = 1j * (x[0, 1] - x[1, 0])
    out[3] = x[0, 0] - x[1, 1]


@_compiled
def _product(x, y, out):
    """out = X Y for 2x2 complex matrices."""
    for a in range(2):
        for b in range(2):
            out[a, b] = x[a, 0] * y[0, b] + x[a, 1] * y[1, b]


@_compiled
def _velocity_trace(velocity, traces):
    """Tr[hbar v_j X] from the Pauli components of hbar v_j and the traces Tr[s_a X]."""
    return (velocity[0] * traces[0] + velocity[1] * traces[1] + velocity[2] * traces[2]
            + velocity[3] * traces[3])


@_compiled
def _disordered_loop(kx, ky, kinetic, alpha, exchange, mx, my, mz, fermi_energy, sigma,
                     pauli, out):
    """Fill ``out`` (P, 58) with the packed disordered integrand at the k-points (kx, ky).

    Same sums as the reference, regrouped so that few 2x2 products are needed (this, more
    than compilation, is what makes the kernel fast):
      - at T = 0 the RA weight factorizes, sum_{n,m} P_1(z_m) conj(P_1(z_n)) P_m V
        P_n^dagger = G^R V G^A, so surface_a = -Re Tr[B G^R V G^A] is one of the ladder
        traces, all of which follow from the four G^R s_b G^A;
      - the RR and sea sums are Tr[B X_j] with X_j = sum_{n,m} weight_nm P_m V_j P_n, and
        P_(-/+) = (1 -/+ U) / 2 (U = w.s / q) reduces X_j to U V_j, V_j U and U V_j U;
      - hbar v_j = sum_a v_ja s_a (v_x = 2 c k_x s_0 - alpha s_y, v_y = 2 c k_y s_0 +
        alpha s_x), so every trace is a combination of Pauli traces Tr[s_a X].
    """
    mu = fermi_energy
    # Work arrays reused at every k.
    velocity = np.zeros((2, 4))  # Pauli components v_ja of hbar v_j
    vel = np.empty((2, 2, 2), np.complex128)  # hbar v_j as matrices
    unit = np.empty((2, 2), np.complex128)  # U = w.s / q, so that P_(-/+) = (1 -/+ U) / 2
    green = np.empty((2, 2), np.complex128)
    green_a = np.empty((2, 2), np.complex128)
    work = np.empty((2, 2), np.complex128)
    dressed = np.empty((2, 2), np.complex128)  # G^R s_b G^A
    ladder = np.empty((4, 4), np.complex128)  # Tr[s_a G^R s_b G^A], [a, b]
    source = np.empty((4, 2), np.complex128)  # Tr[s_a G^R hbar v_j G^A]
    uv = np.empty((2, 2), np.complex128)
    vu = np.empty((2, 2), np.complex128)
    uvu = np.empty((2, 2), np.complex128)
    rr_sum = np.empty((2, 2), np.complex128)
    sea_sum = np.empty((2, 2), np.complex128)
    rr_traces = np.empty(4, np.complex128)
    sea_traces = np.empty(4, np.complex128)
    column = np.empty(4, np.complex128)
    for i in range(kx.shape[0]):
        qx, qy = kx[i], ky[i]
        eps, bx, by, bz = _hamiltonian(qx, qy, kinetic, alpha, exchange, mx, my, mz)
        velocity[0, 0] = 2.0 * kinetic * qx
        velocity[0, 2] = -alpha
        velocity[1, 0] = 2.0 * kinetic * qy
        velocity[1, 1] = alpha
        for j in range(2):
            for a in range(2):
                for b in range(2):
                    vel[j, a, b] = (velocity[j, 0] * pauli[0, a, b]
                                    + velocity[j, 1] * pauli[1, a, b]
                                    + velocity[j, 2] * pauli[2, a, b])

        # A = H + Sigma = a_0 + w.s: poles a_0 -/+ q, q = sqrt(w.w), P = (1 -/+ w.s / q) / 2,
        # as kubo_bastin.spectral_projectors (w along z at q = 0, where any split is exact).
        a00 = (eps + bz) + sigma[0, 0]
        a11 = (eps - bz) + sigma[1, 1]
        a01 = complex(bx, -by) + sigma[0, 1]
        a10 = complex(bx, by) + sigma[1, 0]
        a0 = 0.5 * (a00 + a11)
        w0 = 0.5 * (a01 + a10)
        w1 = 0.5j * (a01 - a10)
        w2 = 0.5 * (a00 - a11)
        q = cmath.sqrt(w0 * w0 + w1 * w1 + w2 * w2)
        if q == 0:
            u0, u1, u2 = 0j, 0j, 1.0 + 0j
        else:
            u0, u1, u2 = w0 / q, w1 / q, w2 / q
        z0 = a0 - q
        z1 = a0 + q
        unit[0, 0] = u2
        unit[1, 1] = -u2
        unit[0, 1] = u0 - 1j * u1
        unit[1, 0] = u0 + 1j * u1
        p0 = 1.0 / (mu - z0)  # P_1(z_n) = G^R_n(mu)
        p1 = 1.0 / (mu - z1)

        # Ladder traces Tr[O G^R P G^A] at mu, G^R = sum_n P_n P_1(z_n), G^A = (G^R)^dagger:
        # O, P = s_a, s_b at 26 + 4a + b; O = s_a, P = hbar v_j at 42 + 2a + j;
        # O = -hbar v_i, P = s_b at 50 + 4i + b.
        for a in range(2):
            for b in range(2):
                identity = 1.0 if a == b else 0.0
                green[a, b] = (0.5 * (identity - unit[a, b]) * p0
                               + 0.5 * (identity + unit[a, b]) * p1)
        for a in range(2):
            for b in range(2):
                green_a[a, b] = green[b, a].conjugate()
        for b in range(4):
            _product(green, pauli[b], work)
            _product(work, green_a, dressed)
            _pauli_traces(dressed, column)
            for a in range(4):
                ladder[a, b] = column[a]
                out[i, 26 + 4 * a + b] = column[a].real
            for j in range(2):
                out[i, 50 + 4 * j + b] = -_velocity_trace(velocity[j], column).real
        for a in range(4):
            for j in range(2):
                source[a, j] = _velocity_trace(velocity[j], ladder[a])
                out[i, 42 + 2 * a + j] = source[a, j].real

        # Energy weights [n, m] as energy_integrals.pole_pair_integrals at T = 0: equal
        # poles give P_2 = P_1^2 and no sea term (factor z_n - z_n = 0); the pair (0, 1)
        # gives rr, symmetric in (n, m), and sea, antisymmetric through its z_m - z_n.
        # With P_(-/+) = (1 -/+ U) / 2 the sums X_j = sum_{n,m} rr_nm P_m V_j P_n and
        # Z_j = sum_{n,m} sea_nm P_m V_j P_n become
        #   4 X_j = (p0^2 + p1^2 + 2 rr) V + (p1^2 - p0^2)(U V + V U) + (p0^2 + p1^2 - 2 rr) U V U
        #   2 Z_j = sea_01 (U V - V U).
        rr, sea_01 = _pole_pair(z0, z1, mu, 0.0, p0, p1, _log_ratio(mu, z1, z0))
        c_v = 0.25 * (p0 * p0 + p1 * p1 + 2.0 * rr)
        c_sym = 0.25 * (p1 * p1 - p0 * p0)
        c_uvu = 0.25 * (p0 * p0 + p1 * p1 - 2.0 * rr)
        c_anti = 0.5 * sea_01
        for j in range(2):
            _product(unit, vel[j], uv)
            _product(vel[j], unit, vu)
            _product(uv, unit, uvu)
            for a in range(2):
                for b in range(2):
                    rr_sum[a, b] = (c_v * vel[j, a, b] + c_sym * (uv[a, b] + vu[a, b])
                                    + c_uvu * uvu[a, b])
                    sea_sum[a, b] = c_anti * (uv[a, b] - vu[a, b])
            _pauli_traces(rr_sum, rr_traces)
            _pauli_traces(sea_sum, sea_traces)
            # B = -hbar v_i: surface_a = +Re Tr[v_i G^R v_j G^A] (with I(b) for sigma),
            # surface_b = -Re Tr[v_i X_j], sea = +Re Tr[v_i Z_j]; packed as response._pack.
            for k in range(2):
                out[i, 2 * k + j] = (_velocity_trace(velocity[k], source[:, j])
                                     - _velocity_trace(velocity[k], rr_traces)).real
                out[i, 4 + 2 * k + j] = _velocity_trace(velocity[k], sea_traces).real
            # B = s_a (a = x, y, z): chi I(a), I(b), II.
            for a in range(3):
                out[i, 8 + 2 * a + j] = -source[1 + a, j].real
                out[i, 14 + 2 * a + j] = rr_traces[1 + a].real
                out[i, 20 + 2 * a + j] = -sea_traces[1 + a].real


@_compiled
def _self_energy_loop(kx, ky, kinetic, alpha, exchange, mx, my, mz, fermi_energy, sigma,
                      strength, out):
    """Fill ``out`` (P, 7) with the packed Born self-energy integrand at (kx, ky)."""
    for i in range(kx.shape[0]):
        qx, qy = kx[i], ky[i]
        eps, bx, by, bz = _hamiltonian(qx, qy, kinetic, alpha, exchange, mx, my, mz)
        # D = mu - H - Sigma and G^R = D^-1 = adj(D) / det(D) (2x2).
        d00 = (fermi_energy - (eps + bz)) - sigma[0, 0]
        d11 = (fermi_energy - (eps - bz)) - sigma[1, 1]
        d01 = -complex(bx, -by) - sigma[0, 1]
        d10 = -complex(bx, by) - sigma[1, 0]
        scale = strength / (d00 * d11 - d01 * d10)
        # c_a = n_i V^2 Tr[s_a G^R] / 2 with G^R = (d11, -d01; -d10, d00) / det.
        c0 = 0.5 * scale * (d11 + d00)
        cx = -0.5 * scale * (d01 + d10)
        cy = -0.5j * scale * (d01 - d10)
        cz = 0.5 * scale * (d11 - d00)
        out[i, 0] = c0.imag
        out[i, 1] = cx.real
        out[i, 2] = cx.imag
        out[i, 3] = cy.real
        out[i, 4] = cy.imag
        out[i, 5] = cz.real
        out[i, 6] = cz.imag


def _integrand_from_loop(model, loop, n_components, *arguments):
    """The closure ``f(kx, ky) -> (P, n_components)`` of a compiled loop over k-points,
    ``loop(kx, ky, c, alpha, J, M_x, M_y, M_z, *arguments, out)``, with the compiled
    quadrature rule around the same loop as its ``ray_rule``."""
    mx, my, mz = (float(x) for x in model.magnetization)
    scalars = (float(model.kinetic_coefficient), float(model.alpha), float(model.exchange),
               mx, my, mz, *arguments)

    def fill(kx, ky, out):
        loop(kx, ky, *scalars, out)

    def integrand(kx, ky):
        kx, ky = flat_wave_vectors(kx, ky)
        out = np.empty((kx.size, n_components))
        fill(kx, ky, out)
        return out

    integrand.ray_rule = ray_rule_from_loop(fill, n_components)
    return integrand


def fused_disordered_integrand(model, fermi_energy, self_energy):
    """Compiled ``f(kx, ky) -> (P, 58)``: the disordered Kubo-Bastin integrand, or None.

    For H(k) = c k^2 + b(k).s, b = (alpha k_y - J M_x, -alpha k_x - J M_y, -J M_z), and a
    constant 2x2 self-energy Sigma, G^R(eps) = (eps - H - Sigma)^-1 = sum_n P_n / (eps - z_n)
    with the poles z_(-/+) = a_0 -/+ q and the spectral projectors
    P_(-/+) = (1 -/+ w.s / q) / 2 of H + Sigma = a_0 + w.s (q = sqrt(w.w), complex).  Per
    k, at T = 0 and with B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z), V = hbar v_j:

        surface_a = -Re sum_{n,m} Tr[B P_m V P_n^dagger] P_1(z_m) conj(P_1(z_n))
        surface_b = +Re sum_{n,m} Tr[B P_m V P_n] Int (-f') G^R_m G^R_n
        sea       = -Re sum_{n,m} Tr[B P_m V P_n] (z_m - z_n) Int f (G^R_m)^2 (G^R_n)^2

    packed as ``kubo_sot.observables.packed_integral._pack`` (26 components), then the 32 ladder
    traces Tr[O G^R(mu) P G^A(mu)] (O, P = s_a, s_b; s_a, hbar v_j; -hbar v_i, s_b).  Same
    poles, projectors, energy integrals, branches (q = 0, near-degenerate series) and
    layout as the numpy reference
    :func:`kubo_sot.observables.disordered_response.disordered_integrand` (route
    "eigenbasis"), fused into one compiled loop with the sums regrouped (``_disordered_loop``),
    so the numbers agree to rounding; Ado, Tretiakov, Titov, PRB 95, 094401 (2017) for the
    physics.

    Parameters
    ----------
    model : BandModel
        Used only if it is exactly a :class:`kubo_sot.RashbaFerromagnet`.
    fermi_energy : float
        mu in eV.
    self_energy : MatrixSelfEnergy
        Constant retarded self-energy (e.g. the Born self-energy at mu).

    Returns
    -------
    callable or None
        ``integrand(kx, ky)`` returning a (P, 58) float array in the units of the reference,
        or None when the kernel does not apply (other model, or numba missing); the caller
        then uses the numpy route.

    Examples
    --------
    >>> import kubo_sot
    >>> from kubo_sot.kernels.disorder_numba import AVAILABLE, fused_disordered_integrand
    >>> from kubo_sot.kernels.green import MatrixSelfEnergy
    >>> model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> f = fused_disordered_integrand(model, 0.3, MatrixSelfEnergy((-0.01j, 0, 0, 0)))
    >>> (f is not None) == AVAILABLE
    True
    """
    if not applies(model):
        return None
    return _integrand_from_loop(model, _disordered_loop, N_COMPONENTS, float(fermi_energy),
                                np.ascontiguousarray(self_energy.matrix, complex),
                                PAULI_BASIS)


def fused_self_energy_integrand(model, fermi_energy, matrix, strength):
    """Compiled ``f(kx, ky) -> (P, 7)``: the k-integrand of the Born self-energy, or None.

    Per k, with G^R = (mu - H(k) - Sigma)^-1 in closed form (adjugate over determinant) and
    c_a = n_i V^2 Tr[s_a G^R] / 2, returns (Im c_0, Re c_x, Im c_x, Re c_y, Im c_y, Re c_z,
    Im c_z) in eV nm^2, as the numpy reference
    :func:`kubo_sot.observables.self_energy.self_energy_integrand` (Re c_0 is absorbed into
    mu).

    Parameters
    ----------
    model : BandModel
        Used only if it is exactly a :class:`kubo_sot.RashbaFerromagnet`.
    fermi_energy : float
        mu in eV.
    matrix : (2, 2) complex array
        The self-energy Sigma in eV that broadens G^R.
    strength : float
        n_i V^2 in eV^2 nm^2.

    Returns
    -------
    callable or None
        The closure, or None when the kernel does not apply (other model, or numba missing).

    Examples
    --------
    >>> import numpy as np
    >>> import kubo_sot
    >>> from kubo_sot.kernels.disorder_numba import AVAILABLE, fused_self_energy_integrand
    >>> model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    >>> f = fused_self_energy_integrand(model, 0.3, -0.01j * np.eye(2), 0.0015)
    >>> (f is not None) == AVAILABLE
    True
    """
    if not applies(model):
        return None
    return _integrand_from_loop(model, _self_energy_loop, N_SELF_ENERGY, float(fermi_energy),
                                np.ascontiguousarray(matrix, complex), float(strength))
