"""Linear response of a lattice model, integrated over its whole Brillouin zone.

For :class:`kubo_sot.TightBindingModel` (any 2D lattice, N bands) and the square-lattice
Rashba ferromagnet.  The response operators are B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z,
T_x, T_y, T_z) with the torque operator T = -M x X(k) of the exchange operators X_a
(H = H0 + sum_a M_a X_a; T = J M x s for X = -J s, docs/conventions.md §3): the torkance
is the response of T itself, which stays right when X depends on k or is not
proportional to the spin.  Each term of the Kubo-Bastin split (I(a), I(b), II) is
integrated by :func:`kubo_sot.integrate.brillouin_zone.integrate_brillouin_zone`; on a
lattice every part converges separately (the zone is bounded), but the conductivity's
I(a) and I(b) are reported together as for the continuum model.
"""

import numpy as np

from .._parallel import single_blas_thread
from ..constants import BOLTZMANN_EV_PER_K, SPIN_DENSITY_FACTOR_PER_V_NM
from ..integrate.brillouin_zone import integrate_brillouin_zone
from ..integrate.brillouin_zone_lines import integrate_brillouin_zone_iterated
from ..kernels.energy_integrals import EnergyIntegrals
from ..kernels.green import ConstantBroadening
from ..errors import ParameterError
from ..kernels import kubo_bastin_nband_numba as nband_numba
from ..kernels.kubo_bastin import kubo_bastin_matrices
from ..kernels.kubo_bastin_green import kubo_bastin_green
from ..models.base import spin_matrices
# The tolerance rules of the polar engine, shared: SCALE_FLOOR (an element below it
# counts as zero), VANISHING_FRACTION (a tensor that vanishes by symmetry is resolved
# to rtol times this fraction of its Int |integrand|) and CANCELLATION_FLOOR (rounding).
from .packed_integral import (_SIGMA_SEA, _SIGMA_SURFACE, CANCELLATION_FLOOR, SCALE_FLOOR,
                              VANISHING_FRACTION, conductivity_tensor)
from .results import BandData, LinearResponse, TensorResponse

# Packed layout (44 components): sigma I (a + b) and II (2 x 2 each, the first 8 as in
# packed_integral, whose _SIGMA_SURFACE and _SIGMA_SEA they are), then spin density and
# torkance, I(a), I(b), II (3 x 2 each).
_CHI = (slice(8, 14), slice(14, 20), slice(20, 26))
_TORQUE = (slice(26, 32), slice(32, 38), slice(38, 44))
N_COMPONENTS = 44
_GROUPS = ((_SIGMA_SURFACE, _SIGMA_SEA), _CHI, _TORQUE)
# Band occupations: midpoint rule on this many points per reciprocal axis.
OCCUPATION_MESH = 192


def is_lattice_model(model):
    """True for models this module integrates (a Brillouin zone and a torque operator)."""
    return all(hasattr(model, name) for name in
               ("reciprocal_vectors", "cell_area", "band_energies", "exchange_is_local"))


def torque_matrices(model, kx, ky):
    """Torque operators T_a (P, 3, N, N) at the wave vectors, or (3, N, N) if k-independent."""
    if model.exchange_is_local:
        return np.asarray(model.local_torque_operators(), complex)
    return np.moveaxis(model.torque_operators(kx, ky), 0, 1)


def _pack(surface_a, surface_b, sea):
    """(P, 8, 2) kernel outputs -> (P, 44) packed integrand."""
    p = surface_a.shape[0]
    flat = [(surface_a[:, :2] + surface_b[:, :2]).reshape(p, 4), sea[:, :2].reshape(p, 4)]
    for ops in (slice(2, 5), slice(5, 8)):
        flat += [part[:, ops].reshape(p, 6) for part in (surface_a, surface_b, sea)]
    return np.concatenate(flat, axis=1)


def _hamiltonian_and_velocity(model, kx, ky):
    """H (P, N, N) and hbar v (P, 2, N, N), from one Fourier sum where the model offers it."""
    if hasattr(model, "hamiltonian_and_velocity"):
        h, v = model.hamiltonian_and_velocity(kx, ky)
    else:
        h, v = model.hamiltonian(kx, ky), model.velocity(kx, ky)
    return h, np.moveaxis(v, 0, 1)


def lattice_integrand(model, fermi_energy, gamma, thermal_energy, route="eigenbasis",
                      kernel="auto"):
    """The per-k integrand ``f(kx, ky) -> (P, 44)`` (module docstring's layout).

    ``route="eigenbasis"``: closed-form band-pair energy integrals in the eigenbasis of
    H(k): ``kernel="numba"`` the compiled N-band loop
    (:func:`kubo_sot.kernels.kubo_bastin_nband_numba.nband_integrand`), ``"numpy"`` its
    readable reference (:func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_matrices`),
    ``"auto"`` numba where installed; ``route="green"``: explicit Green's functions and
    numerical energy integration
    (:func:`kubo_sot.kernels.kubo_bastin_green.kubo_bastin_green`), the check route.
    """
    spins = np.asarray(spin_matrices(model), complex)
    integrals = EnergyIntegrals(fermi_energy, thermal_energy)
    broadening = ConstantBroadening(gamma)
    compiled = route == "eigenbasis" and kernel != "numpy" and nband_numba.applies()
    if kernel == "numba" and not compiled:
        raise ParameterError("kernel = 'numba' needs numba (pip install 'kubo_sot[fast]') "
                             "and route = 'eigenbasis'; use kernel = 'auto' or 'numpy'")
    if compiled:
        local = model.exchange_is_local
        constant = np.concatenate([spins, np.asarray(model.local_torque_operators(), complex)]
                                  ) if local else spins

        def fast(kx, ky):
            h, vel = _hamiltonian_and_velocity(model, kx, ky)
            per_k = None if local else np.moveaxis(model.torque_operators(kx, ky), 0, 1)
            return _pack(*nband_numba.nband_integrand(h, vel, constant, per_k, fermi_energy,
                                                       gamma, thermal_energy))
        return fast

    def operators(kx, ky, vel):
        torque = torque_matrices(model, kx, ky)
        p = vel.shape[0]
        if torque.ndim == 3:
            torque = np.broadcast_to(torque, (p,) + torque.shape)
        return np.concatenate([-vel, np.broadcast_to(spins, (p,) + spins.shape), torque],
                              axis=1)

    def integrand(kx, ky):
        h, vel = _hamiltonian_and_velocity(model, kx, ky)
        if route == "green":
            return _pack(*kubo_bastin_green(h, vel, operators(kx, ky, vel), fermi_energy,
                                            broadening, thermal_energy))
        return _pack(*kubo_bastin_matrices(h, vel, operators(kx, ky, vel), gamma, integrals))
    return integrand


def _tolerances(rtol):
    """Absolute tolerances (44,) from a pilot estimate and its Int |integrand|."""
    def tolerance(estimate, magnitude):
        atol = np.empty(N_COMPONENTS)
        for group in _GROUPS:
            total = np.sum([estimate[part] for part in group], axis=0)
            if group is _GROUPS[0]:
                total = estimate[_SIGMA_SURFACE] + estimate[_SIGMA_SEA]
            size = max(np.max(np.abs(total)),
                       VANISHING_FRACTION * max(np.max(magnitude[part]) for part in group),
                       SCALE_FLOOR)
            floor = CANCELLATION_FLOOR * max(np.max(magnitude[part]) for part in group)
            for part in group:
                atol[part] = max(rtol * size / len(group), floor)
        return atol
    return tolerance


#: The Brillouin-zone integrators by name (same call, same KSpaceIntegral).
BRILLOUIN_ZONE_SCHEMES = {"cells": integrate_brillouin_zone,
                          "lines": integrate_brillouin_zone_iterated}
# scheme = "auto": the cells while the cells that resolve every Fermi crossing to its
# width (known from band samples, before any integrand evaluation) cost at most this many
# k-points, else the lines.  The cells' cost grows as contour length / width (2-5x this
# forced part in the end), the lines' as log(1 / width) with a larger constant (they need
# enough lines across the smallest pocket).  Measured at rtol 1e-6 (benchmarks/
# brillouin_zone.py; forced part -> cells total / lines total, k-points): honeycomb
# K pockets at Gamma = 0.04 and 0.01 eV, 51k / 266k -> 0.16M / 0.59M against lines
# 0.88M / 3.0M; square lattice at its van Hove energy, 2.2M at 0.01 eV -> cells beyond
# the 4M budget against lines 2.0M; at mu = 1 eV, 0.63M at 0.01 eV -> 1.7M against 0.60M.
AUTO_CELLS_LIMIT = 500_000


def lattice_response(model, fermi_energy, gamma, temperature, rtol, route="eigenbasis",
                     max_kpoints=None, kernel="auto", scheme="auto"):
    """:func:`kubo_sot.linear_response` of a lattice model (arguments already checked).

    Returns the KSpaceIntegral, its absolute tolerances (44,) and the LinearResponse, whose
    torkance is the response of T = -M x X(k); its provenance records the k-points
    (``n_kpoints``) and the scheme (``brillouin_zone_scheme``): one of
    BRILLOUIN_ZONE_SCHEMES, or "auto" to choose by AUTO_CELLS_LIMIT.
    """
    kt = BOLTZMANN_EV_PER_K * temperature
    integrand = lattice_integrand(model, fermi_energy, gamma, kt, route, kernel)
    options = {} if max_kpoints is None else {"max_kpoints": max_kpoints}
    tolerance = _tolerances(rtol)
    # One BLAS thread: the Fourier sums over R are BLAS products whose rounding depends on
    # how a multithreaded BLAS splits them, and a point must come out bit-identical in any
    # process (a sweep's own, a joblib or Dask worker, the CLI).
    args = (model, integrand, fermi_energy, max(gamma, kt), tolerance)
    with single_blas_thread():
        result = None
        if scheme == "auto":
            result = BRILLOUIN_ZONE_SCHEMES["cells"](*args, broadening=gamma, **options,
                                                    max_forced_kpoints=AUTO_CELLS_LIMIT)
            scheme = "cells" if result is not None else "lines"
        if result is None:
            result = BRILLOUIN_ZONE_SCHEMES[scheme](*args, broadening=gamma, **options)
    return (result, tolerance(result.estimate, result.magnitude),
            assemble(model, result, fermi_energy, gamma, temperature, rtol, route, scheme))


def assemble(model, result, fermi_energy, gamma, temperature, rtol, route, scheme="cells"):
    """LinearResponse from the packed (44,) integral."""
    from .. import __version__
    est, err = result.estimate, result.error
    fs = SPIN_DENSITY_FACTOR_PER_V_NM
    conductivity = conductivity_tensor(est, err)

    def tensor(name, unit, parts):
        a, b, sea = (fs * est[p].reshape(3, 2) for p in parts)
        error = fs * np.sum([err[p] for p in parts], axis=0).reshape(3, 2)
        return TensorResponse(name, unit, a + b + sea, a + b, sea, error, a, b)

    # <T> = chi of T: the same prefactor as the spin density, times the eV of T, so the
    # torque density per field comes out in eV nm^-2 per V/nm = e/nm.
    spin = tensor("spin_density", "1/(V nm)", _CHI)
    torkance = tensor("torkance", "e/nm", _TORQUE)
    provenance = {
        "model": model.parameters() if hasattr(model, "parameters") else repr(model),
        "fermi_energy_eV": fermi_energy, "broadening_eV": gamma,
        "temperature_K": temperature, "rtol": rtol, "route": route,
        "integrator": "brillouin_zone", "brillouin_zone_scheme": scheme,
        "n_kpoints": int(result.n_kpoints),
        "converged": bool(result.converged), "package": "kubo_sot", "version": __version__,
        "units": {"conductivity": "e^2/h", "spin_density": "1/(V nm)", "torkance": "e/nm",
                  "energies": "eV", "wave vectors": "1/nm"},
    }
    return LinearResponse(conductivity, spin, torkance,
                          lattice_band_data(model, fermi_energy), provenance)


def lattice_band_data(model, fermi_energy):
    """Band occupations n_n (nm^-2) at T = 0 by the midpoint rule on an OCCUPATION_MESH^2
    mesh of the zone (error ~ contour length x mesh spacing^(3/2) for a step function),
    and each band's equivalent-circle Fermi radius sqrt(4 pi n_n) (nm^-1)."""
    n = OCCUPATION_MESH
    u = (np.arange(n) + 0.5) / n
    u1, u2 = (a.reshape(-1) for a in np.meshgrid(u, u, indexing="ij"))
    b = np.asarray(model.reciprocal_vectors, float)
    occupied = np.zeros(model.n_bands)
    for i in range(0, u1.size, 8192):
        kx = u1[i:i + 8192] * b[0, 0] + u2[i:i + 8192] * b[1, 0]
        ky = u1[i:i + 8192] * b[0, 1] + u2[i:i + 8192] * b[1, 1]
        occupied += np.count_nonzero(model.band_energies(kx, ky) <= fermi_energy, axis=0)
    density = occupied / (n * n) / model.cell_area
    return BandData(tuple(np.sqrt(4 * np.pi * density)), tuple(density), float("nan"))
