"""The packed Kubo-Bastin integral of a continuum two-band model (the polar engine).

One k-integral gives every tensor and part at once: the per-k integrand packs
sigma_ij (I(a) + I(b), II) and chi_aj (I(a), I(b), II) into 26 components (B operators
-hbar v_x, -hbar v_y, s_x, s_y, s_z; field directions x, y; docs/conventions.md §3-4).
This module owns that layout, the integrand on both routes, the tolerances per tensor,
the convergence report and the assembly of the LinearResponse.  The response entry point
(:mod:`kubo_sot.observables.response`), the disorder response, the self-energy and the
spectral sweeps build on it; it imports none of them, so there is no import circle.
"""

import warnings

import numpy as np

from .. import _checks
from ..constants import CONDUCTIVITY_FACTOR_E2_OVER_H, SPIN_DENSITY_FACTOR_PER_V_NM
from ..errors import ConvergenceError, ConvergenceWarning, ParameterError
from ..integrate.kspace import rotation_average
from ..kernels.energy_integrals import EnergyIntegrals
from ..kernels.kubo_bastin import kubo_bastin_eigenbasis, response_elements
from ..kernels.kubo_bastin_green import kubo_bastin_green
from ..kernels.kubo_bastin_numba import fused_integrand
from ..models.base import rotates_with_spin
from .bands import band_data
from .results import LinearResponse, TensorResponse

# Below this (in the tensor's unit) an element counts as zero when setting tolerances.
SCALE_FLOOR = 1e-12
# A tensor's size for its tolerance: its largest element, but never less than this
# fraction of the largest Int |integrand| of its components (all parts), the physical scale
# of what cancels in it (for the spin density ~ the conductivity's Drude value divided by
# hbar v_F, since |s| = 1 where |hbar v| = hbar v_F).  A tensor that vanishes by symmetry
# is then resolved to rtol times this fraction of its natural size instead of chasing
# rounding.  The same value as kubo_sot.observables.lattice_response.VANISHING_FRACTION.
VANISHING_FRACTION = 1e-3
# Components that cancel (e.g. by symmetry) can be resolved only to rounding of the
# integral of |integrand|; the tolerance never asks for less than this fraction of the
# largest such integral within the tensor.
CANCELLATION_FLOOR = 1e-11
# Raise instead of warn when the error estimate exceeds the tolerance by this factor.
ERROR_MARGIN = 100.0
# Layout of the packed integrand: B operators are (-hbar v_x, -hbar v_y, s_x, s_y, s_z).
_SIGMA_SURFACE = slice(0, 4)
_SIGMA_SEA = slice(4, 8)
_CHI_A = slice(8, 14)
_CHI_B = slice(14, 20)
_CHI_SEA = slice(20, 26)
N_COMPONENTS = 26
# The packed components of each tensor (sigma, chi), all its parts.
TENSOR_GROUPS = ((_SIGMA_SURFACE, _SIGMA_SEA), (_CHI_A, _CHI_B, _CHI_SEA))


def group_scale(values):
    """For every packed component of ``values`` (..., 26), the largest |value| among the
    components of its tensor, all parts (the scale that tolerances, error floors and
    Sigma's error bound refer to)."""
    values = np.abs(np.asarray(values))
    out = np.empty(values.shape)
    for group in TENSOR_GROUPS:
        largest = np.max([np.max(values[..., part], axis=-1) for part in group], axis=0)
        for part in group:
            out[..., part] = np.asarray(largest)[..., None]
    return out
# The conductivity's I(a) and I(b) are not integrated separately: on the diagonal each
# diverges logarithmically, and off the diagonal each decays only as sin(2 phi) / k^2, so
# it converges only conditionally (after the angular integral), never ray by ray.


def _pack(surface_a, surface_b, sea):
    """(P, 5, 2) kernel outputs -> (P, 26) integrand (I(a) + I(b) combined per k for sigma)."""
    p = surface_a.shape[0]
    return np.concatenate([
        (surface_a[:, :2] + surface_b[:, :2]).reshape(p, 4), sea[:, :2].reshape(p, 4),
        surface_a[:, 2:].reshape(p, 6), surface_b[:, 2:].reshape(p, 6),
        sea[:, 2:].reshape(p, 6)], axis=1)


# How the packed components rotate with k about z (kubo_sot.integrate.kspace.rotation_average):
# sigma_ij (parts I and II) and chi_aj (I(a), I(b), II).
LAYOUT = [("vector", "vector")] * 2 + [("spin", "vector")] * 3


def angular_average(model, layout):
    """kspace.rotation_average(layout) for a model whose H(R k) = U H(k) U^dagger is
    verified (:func:`kubo_sot.models.base.rotates_with_spin`), else None (three rays)."""
    return rotation_average(layout) if rotates_with_spin(model) else None


KERNELS = ("auto", "numpy", "numba")


def compiled_integrand(kernel, build):
    """The compiled integrand ``build()`` that ``kernel`` asks for, or None for numpy.

    ``build`` returns a closure of :mod:`kubo_sot.kernels.kubo_bastin_numba` or
    :mod:`kubo_sot.kernels.disorder_numba`, or None where it does not apply (numba missing,
    not the continuum RashbaFerromagnet): "auto" then falls back to numpy, "numba" raises.
    """
    _checks.choice("kernel", kernel, KERNELS)
    fused = None if kernel == "numpy" else build()
    if fused is None and kernel == "numba":
        raise ParameterError("kernel = 'numba' needs numba (pip install 'kubo_sot[fast]') and "
                             "a continuum RashbaFerromagnet; use kernel = 'auto' or 'numpy'")
    return fused


def response_integrand(model, fermi_energy, broadening, thermal_energy, route="eigenbasis",
                       kernel="auto"):
    """The per-k Kubo-Bastin integrand ``f(kx, ky) -> (P, 26)`` of :func:`linear_response`.

    Operators B = (-hbar v_x, -hbar v_y, s_x, s_y, s_z), field directions j = x, y.
    ``kernel`` (eigenbasis route): "numpy" is the readable reference; "numba" the compiled
    fused loop of :mod:`kubo_sot.kernels.kubo_bastin_numba` (continuum RashbaFerromagnet,
    any T; same numbers to rounding); "auto" takes numba where it applies and is installed.
    """
    if route == "eigenbasis":
        fused = compiled_integrand(kernel, lambda: fused_integrand(
            model, fermi_energy, broadening.gamma, thermal_energy))
        if fused is not None:
            return fused
        integrals = EnergyIntegrals(fermi_energy, thermal_energy)
        gamma = broadening.gamma

        def integrand(kx, ky):
            energies, ops, vel = response_elements(model, kx, ky)
            return _pack(*kubo_bastin_eigenbasis(energies, ops, vel, gamma, integrals))
        return integrand

    spins = model.spin_operators()

    def integrand(kx, ky):
        h = model.hamiltonian(kx, ky)
        vel = np.moveaxis(model.velocity(kx, ky), 0, 1)
        ops = np.concatenate([-vel, np.broadcast_to(spins, (h.shape[0],) + spins.shape)],
                             axis=1)
        return _pack(*kubo_bastin_green(h, vel, ops, fermi_energy, broadening,
                                        thermal_energy))
    return integrand


def _exchange_and_magnetization(model):
    """J (eV) and M of a model; a model without exchange gives no torque (J = 0)."""
    return (float(getattr(model, "exchange", 0.0)),
            getattr(model, "magnetization", (0.0, 0.0, 1.0)))


def _torkance(chi, exchange, magnetization):
    """t_aj = J (M x chi_{:, j})_a for a (3, 2) array (M x as its 3x3 matrix; np.cross
    costs ~30 us a call in its axis handling)."""
    mx, my, mz = magnetization
    m_cross = np.array([[0.0, -mz, my], [mz, 0.0, -mx], [-my, mx, 0.0]])
    return exchange * (m_cross @ chi)


def _tolerances(rtol, exchange, magnetization):
    """Absolute tolerances on the packed integral, from a pilot estimate of it (a (26,)
    vector, or a stack (..., 26) of them, e.g. one per Fermi energy)."""
    mx, my, mz = magnetization
    m_cross = np.array([[0.0, -mz, my], [mz, 0.0, -mx], [-my, mx, 0.0]])

    def largest(x, axes):
        return np.max(np.abs(x), axis=axes)

    def tolerance(est, magnitude):
        est, magnitude = np.asarray(est), np.asarray(magnitude)
        sigma = est[..., _SIGMA_SURFACE] + est[..., _SIGMA_SEA]
        chi = (est[..., _CHI_A] + est[..., _CHI_B] + est[..., _CHI_SEA]).reshape(
            est.shape[:-1] + (3, 2))
        natural = VANISHING_FRACTION * group_scale(magnitude)  # per tensor, all parts
        floor_sigma = np.maximum(natural[..., 0], SCALE_FLOOR)
        floor_chi = np.maximum(natural[..., _CHI_A.start], SCALE_FLOOR)
        scale_sigma = np.maximum(largest(sigma, -1), floor_sigma)
        scale_chi = np.maximum(largest(chi, (-2, -1)), floor_chi)
        if exchange > 0:
            # The torkance J M x chi can be much smaller than chi (chi mostly along M);
            # its own largest element sets the accuracy needed for chi, down to the same
            # natural floor (M x chi vanishing by symmetry sets no tolerance either).
            torque = largest(m_cross @ chi, (-2, -1))
            scale_chi = np.minimum(scale_chi, np.maximum(torque, floor_chi))
        atol = np.empty(est.shape)
        atol[..., _SIGMA_SURFACE] = atol[..., _SIGMA_SEA] = (0.5 * rtol * scale_sigma)[..., None]
        atol[..., _CHI_A] = atol[..., _CHI_B] = atol[..., _CHI_SEA] = (
            rtol * scale_chi / 3.0)[..., None]
        # Floors per tensor group (sigma, chi): rounding of the largest |integrand| in it.
        return np.maximum(atol, CANCELLATION_FLOOR * group_scale(magnitude))
    return tolerance


def _report_convergence(result, tolerance, rtol, partial=None):
    """Warn when the error estimate exceeds the tolerance; raise ConvergenceError when it
    does by more than ERROR_MARGIN or when the k-point budget ran out first (``partial()``
    builds the estimate reached, which the error carries as ``result``)."""
    ratio = float(np.max(result.error / np.maximum(tolerance, 1e-300)))
    if ratio <= 1.0:
        return
    if not np.isfinite(ratio) or not np.all(np.isfinite(result.estimate)):
        ratio = float("inf")  # no estimate at all (e.g. the budget ran out in the pilot)
    message = (f"k-space integral missed its tolerance: error estimate up to {ratio:.3g} "
               f"times the tolerance for rtol = {rtol:g} ({result.n_kpoints} k-points)")
    exhausted = getattr(result, "budget_exhausted", False)
    if exhausted:
        message += ("; the k-point budget max_kpoints was spent: loosen rtol, widen the "
                    "broadening, or raise max_kpoints (the estimate reached is the error's "
                    "'result')")
    if ratio > ERROR_MARGIN or exhausted:
        raise ConvergenceError(message, partial() if partial is not None else None,
                               int(result.n_kpoints), ratio)
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def conductivity_tensor(estimate, error):
    """sigma (e^2/h) with its Fermi-surface and Fermi-sea parts and error from a packed
    integral whose first 8 components are sigma I(a) + I(b) and II (this module's layout
    and the lattice one of :mod:`kubo_sot.observables.lattice_response`)."""
    fc = CONDUCTIVITY_FACTOR_E2_OVER_H
    surface = fc * estimate[_SIGMA_SURFACE].reshape(2, 2)
    sea = fc * estimate[_SIGMA_SEA].reshape(2, 2)
    err = fc * (error[_SIGMA_SURFACE] + error[_SIGMA_SEA]).reshape(2, 2)
    return TensorResponse("conductivity", "e^2/h", surface + sea, surface, sea, err)


def _assemble(model, result, exchange, magnetization, mu, gamma, temperature, rtol, route,
              bands=None):
    from .. import __version__
    est, err = result.estimate, result.error
    fs = SPIN_DENSITY_FACTOR_PER_V_NM
    conductivity = conductivity_tensor(est, err)
    chi_a = fs * est[_CHI_A].reshape(3, 2)
    chi_b = fs * est[_CHI_B].reshape(3, 2)
    chi_sea = fs * est[_CHI_SEA].reshape(3, 2)
    chi_err = fs * (err[_CHI_A] + err[_CHI_B] + err[_CHI_SEA]).reshape(3, 2)
    spin = TensorResponse("spin_density", "1/(V nm)", chi_a + chi_b + chi_sea,
                          chi_a + chi_b, chi_sea, chi_err, chi_a, chi_b)
    m = np.asarray(magnetization, float)
    tk = {key: _torkance(val, exchange, m) for key, val in
          (("a", chi_a), ("b", chi_b), ("sea", chi_sea))}
    # |(M x d)_a| <= sum_b |M_b| |d_c| over the two other components.
    abs_m = np.abs(m)
    t_err = exchange * np.stack([abs_m[1] * chi_err[2] + abs_m[2] * chi_err[1],
                                 abs_m[0] * chi_err[2] + abs_m[2] * chi_err[0],
                                 abs_m[0] * chi_err[1] + abs_m[1] * chi_err[0]])
    torkance = TensorResponse("torkance", "e/nm", tk["a"] + tk["b"] + tk["sea"],
                              tk["a"] + tk["b"], tk["sea"], t_err, tk["a"], tk["b"])
    provenance = {
        "model": model.parameters() if hasattr(model, "parameters") else repr(model),
        "fermi_energy_eV": mu, "temperature_K": temperature,
        "rtol": rtol, "route": route, "n_kpoints": int(result.n_kpoints),
        "converged": bool(result.converged), "package": "kubo_sot", "version": __version__,
        "units": {"conductivity": "e^2/h", "spin_density": "1/(V nm)", "torkance": "e/nm",
                  "energies": "eV", "wave vectors": "1/nm"},
    }
    if gamma is not None:  # a constant Gamma (disorder models record their own data)
        provenance["broadening_eV"] = gamma
    bands = band_data(model, mu) if bands is None else bands
    return LinearResponse(conductivity, spin, torkance, bands, provenance)
