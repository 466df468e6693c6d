"""Lattice models: the adaptive Brillouin-zone integrators against a uniform periodic mesh.

For each case the results of both adaptive schemes (kubo_sot.integrate.brillouin_zone's
cells and brillouin_zone_lines' iterated lines) at rtol 1e-6 (k-points, wall time) are
put beside the
uniform periodic mesh (n x n points in reduced coordinates) that reaches the same accuracy:
the mesh's error is measured against a converged reference (an adaptive result at rtol
1e-9), per tensor relative to its largest element as the adaptive tolerance is, and the
smallest n that reaches 1e-6 is found by doubling and then bisection (the mesh converges
exponentially, ~exp(-2 pi Gamma / (hbar v dk)), for Gamma > 0).  Both use the same per-k
integrand (the compiled N-band kernel where numba is installed), so the ratios measure the
k-space strategy only.

    python -m benchmarks.brillouin_zone [--quick]
"""

import argparse
import json
import time

import numpy as np

from kubo_sot.integrate.uniform_mesh import integrate_uniform_mesh
from kubo_sot.models.lattices import (honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet,
                                      supercell)
from kubo_sot.observables.lattice_response import (_CHI, _SIGMA_SEA, _SIGMA_SURFACE,
                                                   _TORQUE, BRILLOUIN_ZONE_SCHEMES,
                                                   _tolerances, lattice_integrand)

RTOL = 1e-6
REFERENCE_RTOL = 1e-9
# The scheme of the reference per model family (the one that converges at 1e-9 in
# reasonable time: lines on the square's large contours, cells on the honeycomb's pockets).
REFERENCE_SCHEME = {"square": "lines", "honeycomb": "cells"}
# Below this Gamma (eV) the uniform mesh is extrapolated, not run.
MESH_GAMMA = 0.04
TILTED = (0.6, 0.0, 0.8)


def cases(quick=False):
    """(name, model, Fermi energy eV, Gamma eV)."""
    sq = square_rashba_ferromagnet(hopping=1.0, lattice_constant=1.0, alpha=0.3,
                                   exchange=0.5, magnetization=TILTED)
    hc = honeycomb_kane_mele_ferromagnet(hopping=1.0, spin_orbit=0.05, rashba=0.05,
                                         sublattice=0.1, exchange=0.1, magnetization=TILTED)
    out = [("square_saddle_G0.05", sq, 3.5, 0.05), ("honeycomb_G0.04", hc, 0.5, 0.04)]
    if not quick:
        out += [("square_saddle_G0.01", sq, 3.5, 0.01), ("square_saddle_G0.002", sq, 3.5, 0.002),
                ("honeycomb_G0.01", hc, 0.5, 0.01),
                ("honeycomb_2x2_16bands_G0.04", supercell(hc, (2, 2)), 0.5, 0.04),
                ("honeycomb_3x3_36bands_G0.04", supercell(hc, (3, 3)), 0.5, 0.04)]
    return out


def _tensors(packed):
    """sigma (total), spin density and torkance (all parts) of a packed (44,) integral."""
    sigma = packed[_SIGMA_SURFACE] + packed[_SIGMA_SEA]
    return [sigma] + [np.concatenate([packed[p] for p in group]) for group in (_CHI, _TORQUE)]


def relative_error(packed, reference):
    """Largest error of any tensor element relative to its tensor's largest element."""
    out = 0.0
    for a, b in zip(_tensors(packed), _tensors(reference)):
        scale = max(np.max(np.abs(b)), 1e-300)
        out = max(out, float(np.max(np.abs(a - b)) / scale))
    return out


def smallest_mesh(model, integrand, reference, rtol, n_start=32):
    """The smallest n (to 5%) whose mesh error is <= rtol, its error and its wall time."""
    n, errors = n_start, {}

    def error(n):
        if n not in errors:
            t = time.perf_counter()
            errors[n] = (relative_error(integrate_uniform_mesh(model, integrand, n), reference),
                         time.perf_counter() - t)
        return errors[n][0]

    while error(n) > rtol:
        n *= 2
    lo, hi = n // 2, n
    while hi - lo > max(2, hi // 20):
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if error(mid) > rtol else (lo, mid)
    return hi, errors[hi][0], errors[hi][1]


def run(quick=False):
    """One row per case: both adaptive schemes at RTOL (k-points, wall time, true error
    against the reference) and the smallest uniform mesh of the same accuracy.  At
    Gamma < MESH_GAMMA the mesh is not run (it would need ~10^8 k-points): its n is
    extrapolated from the case at 0.05 eV by n ~ 1/Gamma (the exponential convergence
    law), and the row says so."""
    rows, measured_n = [], {}
    for name, model, mu, gamma in cases(quick):
        integrand = lattice_integrand(model, mu, gamma, 0.0)
        integrand(np.array([0.1]), np.array([0.2]))  # compile or load the numba cache
        row = {"case": name, "bands": model.n_bands, "fermi_energy_eV": mu,
               "broadening_eV": gamma}
        results = {}
        for scheme, integrate in BRILLOUIN_ZONE_SCHEMES.items():
            t = time.perf_counter()
            results[scheme] = integrate(model, integrand, mu, gamma, _tolerances(RTOL),
                                        broadening=gamma)
            row[f"{scheme}_s"] = time.perf_counter() - t
            row[f"{scheme}_kpoints"] = int(results[scheme].n_kpoints)
            row[f"{scheme}_converged"] = bool(results[scheme].converged)
        reference = BRILLOUIN_ZONE_SCHEMES[REFERENCE_SCHEME[name.split("_")[0]]](
            model, integrand, mu, gamma, _tolerances(REFERENCE_RTOL), broadening=gamma)
        for scheme, r in results.items():
            row[f"{scheme}_error"] = relative_error(r.estimate, reference.estimate)
        family = name.split("_G")[0]
        if gamma >= MESH_GAMMA:
            n, row["mesh_error"], row["mesh_s"] = smallest_mesh(model, integrand,
                                                                reference.estimate, RTOL)
            measured_n[family] = (n, gamma)
            row["mesh_extrapolated"] = False
        elif family in measured_n:
            n0, gamma0 = measured_n[family]
            n = int(round(n0 * gamma0 / gamma))
            row["mesh_extrapolated"] = True
        else:
            n = None
        if n is not None:
            row["mesh_n"], row["mesh_kpoints"] = n, n * n
            for scheme in BRILLOUIN_ZONE_SCHEMES:
                row[f"{scheme}_kpoint_ratio"] = n * n / row[f"{scheme}_kpoints"]
        rows.append(row)
        mesh = ("-" if n is None else
                f"{n}^2 = {n * n:10d} k" + (" (extrapolated)" if row["mesh_extrapolated"]
                                            else f" {row['mesh_s']:6.1f} s"))
        print(f"{name:30s} N={model.n_bands:2d}  " + "  ".join(
            f"{scheme} {row[f'{scheme}_kpoints']:8d} k {row[f'{scheme}_s']:6.1f} s "
            f"(err {row[f'{scheme}_error']:.0e}"
            + ("" if row[f"{scheme}_converged"] else ", NOT converged") + ")"
            for scheme in BRILLOUIN_ZONE_SCHEMES) + f"  mesh {mesh}", flush=True)
        if n is not None:
            print(" " * 36 + "mesh k-points / adaptive: " + ", ".join(
                f"{scheme} {row[f'{scheme}_kpoint_ratio']:.1f}"
                for scheme in BRILLOUIN_ZONE_SCHEMES), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.brillouin_zone",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="only the two Gamma >= 0.04 eV cases (about a minute)")
    parser.add_argument("--out", default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
