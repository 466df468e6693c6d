"""Lattice models: the adaptive Brillouin-zone integrator against a uniform periodic mesh.

For each case the adaptive result at rtol 1e-6 (k-points, wall time) is put beside the
uniform periodic mesh (n x n points in reduced coordinates) that reaches the same accuracy:
the mesh's error is measured against a converged reference (the adaptive result at rtol
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

import kubo_sot
from kubo_sot.integrate.brillouin_zone import integrate_brillouin_zone
from kubo_sot.models.lattices import (honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet,
                                      supercell)
from kubo_sot.observables.lattice_response import (_CHI, _SIGMA_SEA, _SIGMA_SURFACE,
                                                   _TORQUE, _tolerances, lattice_integrand)

RTOL = 1e-6
REFERENCE_RTOL = 1e-9
TILTED = (0.6, 0.0, 0.8)


def cases(quick=False):
    """(name, model, Fermi energy eV, Gamma eV)."""
    sq = square_rashba_ferromagnet(hopping=1.0, lattice_constant=1.0, alpha=0.3,
                                   exchange=0.5, magnetization=TILTED)
    hc = honeycomb_kane_mele_ferromagnet(hopping=1.0, spin_orbit=0.05, rashba=0.05,
                                         sublattice=0.1, exchange=0.1, magnetization=TILTED)
    out = [("square_saddle_G0.05", sq, 3.5, 0.05), ("honeycomb_G0.04", hc, 0.5, 0.04)]
    if not quick:
        out += [("square_saddle_G0.01", sq, 3.5, 0.01), ("honeycomb_G0.01", hc, 0.5, 0.01),
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


def uniform_mesh(model, integrand, n, chunk=8192):
    """Int_BZ d^2k/(2 pi)^2 integrand on the n x n periodic mesh (midpoints of reduced
    coordinates), chunked."""
    u = (np.arange(n) + 0.5) / n
    b = np.asarray(model.reciprocal_vectors, float)
    total = 0.0
    for i in range(0, n * n, chunk):
        idx = np.arange(i, min(i + chunk, n * n))
        u1, u2 = u[idx // n], u[idx % n]
        total = total + integrand(u1 * b[0, 0] + u2 * b[1, 0],
                                  u1 * b[0, 1] + u2 * b[1, 1]).sum(axis=0)
    return total / (n * n) / model.cell_area


def smallest_mesh(model, integrand, reference, rtol, n_start=32):
    """The smallest n (to 5%) whose mesh error is <= rtol, its error and its wall time."""
    n, errors = n_start, {}

    def error(n):
        if n not in errors:
            t = time.perf_counter()
            errors[n] = (relative_error(uniform_mesh(model, integrand, n), reference),
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
    rows = []
    for name, model, mu, gamma in cases(quick):
        kubo_sot.linear_response(model, mu, 0.2, rtol=1e-3)  # compile and warm the caches
        t = time.perf_counter()
        r = kubo_sot.linear_response(model, mu, gamma, rtol=RTOL)
        wall = time.perf_counter() - t
        integrand = lattice_integrand(model, mu, gamma, 0.0)
        adaptive = integrate_brillouin_zone(model, integrand, mu, gamma, _tolerances(RTOL))
        reference = integrate_brillouin_zone(model, integrand, mu, gamma,
                                             _tolerances(REFERENCE_RTOL)).estimate
        n, mesh_error, mesh_wall = smallest_mesh(model, integrand, reference, RTOL)
        row = {"case": name, "bands": model.n_bands, "fermi_energy_eV": mu,
               "broadening_eV": gamma, "adaptive_kpoints": r.provenance["n_kpoints"],
               "adaptive_s": wall, "adaptive_error": relative_error(adaptive.estimate,
                                                                    reference),
               "mesh_n": n, "mesh_kpoints": n * n, "mesh_error": mesh_error,
               "mesh_s": mesh_wall}
        row["kpoint_ratio"] = row["mesh_kpoints"] / row["adaptive_kpoints"]
        row["time_ratio"] = row["mesh_s"] / row["adaptive_s"]
        rows.append(row)
        print(f"{name:30s} N={model.n_bands:2d}  adaptive {row['adaptive_kpoints']:9d} k "
              f"{wall:7.2f} s (err {row['adaptive_error']:.1e})  mesh {n}^2 = {n * n:9d} k "
              f"{mesh_wall:7.2f} s (err {mesh_error:.1e})  k-ratio "
              f"{row['kpoint_ratio']:6.1f}  time ratio {row['time_ratio']:6.1f}", flush=True)
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
