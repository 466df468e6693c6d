"""python -m benchmarks [--quick] [--out benchmarks.json]

Prints, for a fixed set of points (M along z and in-plane, weak and strong Rashba,
Gamma 0.002..0.05 eV): time per full point (all tensors, parts, errors; T = 0) and k-points
at rtol 1e-4, 1e-6, 1e-8; the time per point over 32 random points at rtol 1e-6; the
k-points as Gamma falls from 0.05 to 0.0002 eV; the ratio
against the check route and against a uniform mesh at the same achieved accuracy; the cost
of 100 Fermi energies (M along z and in-plane) as a multiple of one point; the joblib
speedup on 2 workers (in fresh interpreters); the cost of a vertex-corrected point; the peak
memory; for lattice models, the per-k cost of the N-band kernel against LAPACK eigh
(benchmarks/nband_kernel.py) and both Brillouin-zone schemes against the uniform periodic
mesh of the same accuracy (benchmarks/brillouin_zone.py).  All other ratios are measured in
this process.
"""

import argparse
import json
import platform
import resource
import statistics
import time

import numpy as np

import kubo_sot
from kubo_sot.integrate import kspace
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables import bands
from kubo_sot.observables.packed_integral import response_integrand
from kubo_sot.observables.response import route_comparison

from . import brillouin_zone, nband_kernel
from .kernel_speed import kernel_speed
from .parallel_speedup import in_fresh_interpreters
from .uniform_mesh import uniform_mesh_integral

POINTS = [
    ("z_weak", dict(alpha=0.002, exchange=0.2, magnetization=(0, 0, 1)), 0.4, 0.005),
    ("x_weak", dict(alpha=0.002, exchange=0.2, magnetization=(1, 0, 0)), 0.1, 0.002),
    ("z_strong", dict(alpha=0.3, exchange=0.005, magnetization=(0, 0, 1)), 0.1, 0.01),
    ("y_strong", dict(alpha=0.3, exchange=0.01, magnetization=(0, 1, 0)), 0.0, 0.002),
    ("z_mid", dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1)), 0.3, 0.05),
    ("tilted_mid", dict(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8)), 0.3, 0.005),
    ("x_mid", dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0)), -0.1, 0.01),
    ("tilted_heavy", dict(alpha=0.02, exchange=0.3, magnetization=(0, 0.6, 0.8), mass=2.0),
     0.5, 0.02),
]


def _time(fn, repeat):
    """Run fn repeat times; each run starts without the ray-interval cache of the k-space
    integrator and the band-data cache (a sweep never repeats a point, so warm caches
    would flatter the figure)."""
    times = []
    for _ in range(repeat):
        kspace._cached_ray_intervals.cache_clear()
        bands.band_data.cache_clear()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def _max_rel(a, b):
    return max(float(np.max(np.abs(getattr(a, n).total - getattr(b, n).total))
                     / np.max(np.abs(getattr(b, n).total)))
               for n in ("conductivity", "spin_density", "torkance"))


def per_point(quick):
    rows = []
    repeat = 1 if quick else 3
    for name, kw, mu, gamma in POINTS:
        model = kubo_sot.RashbaFerromagnet(**kw)
        row = {"point": name, "gamma_eV": gamma}
        for rtol in (1e-4, 1e-6, 1e-8):
            r, times = _time(lambda: kubo_sot.linear_response(model, mu, gamma, rtol=rtol),
                             repeat)
            row[f"rtol_{rtol:g}"] = {"median_s": statistics.median(times), "min_s": min(times),
                                     "max_s": max(times), "kpoints": r.provenance["n_kpoints"]}
        rows.append(row)
        print(f"{name:13s} " + "  ".join(
            f"rtol {k[5:]}: {v['median_s'] * 1e3:8.1f} ms ({v['kpoints']} k)"
            for k, v in row.items() if k.startswith("rtol")), flush=True)
    for rtol in ("1e-04", "1e-06", "1e-08"):
        key = f"rtol_{float(rtol):g}"
        median = statistics.median(r[key]["median_s"] for r in rows)
        print(f"rtol {rtol}: median over the points {median * 1e3:.1f} ms per full point")
    return rows


RANDOM_POINTS = 32
RANDOM_SEED = 2026


def random_points(quick):
    """Time per point at rtol 1e-6 over random parameters (fixed seed): M anywhere on the
    upper hemisphere, alpha and J in 0.01..0.3, mu between the band bottom and 0.5 eV,
    Gamma log-uniform in 0.002..0.05 eV.  The fixed points above are chosen, these are
    not: some have Fermi pockets whose contours are tangent to rays (5 of the 32), where
    the angular integral needs adaptive panels and costs several times more."""
    rng = np.random.default_rng(RANDOM_SEED)
    times, kpoints, tangent = [], [], []
    for _ in range(RANDOM_POINTS // 4 if quick else RANDOM_POINTS):
        polar, azimuth = rng.uniform(0.0, 0.5 * np.pi), rng.uniform(0.0, 2.0 * np.pi)
        model = kubo_sot.RashbaFerromagnet(
            alpha=rng.uniform(0.01, 0.3), exchange=rng.uniform(0.01, 0.3),
            magnetization=(np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth),
                           np.cos(polar)))
        mu = rng.uniform(model.band_bottom(), 0.5)
        gamma = 10.0 ** rng.uniform(np.log10(0.002), np.log10(0.05))
        r, t = _time(lambda: kubo_sot.linear_response(model, mu, gamma, rtol=1e-6), 1)
        times.append(t[0])
        kpoints.append(r.provenance["n_kpoints"])
        tangent.append(bool(model.has_angular_features(mu, gamma)))
    out = {"n_points": len(times), "median_s": statistics.median(times),
           "min_s": min(times), "max_s": max(times),
           "p90_s": float(np.percentile(times, 90)),
           "median_kpoints": statistics.median(kpoints), "tangent_contours": sum(tangent)}
    print(f"{len(times)} random points, rtol 1e-6: median {out['median_s'] * 1e3:.1f} ms, "
          f"min {out['min_s'] * 1e3:.1f}, 90th percentile {out['p90_s'] * 1e3:.1f}, max "
          f"{out['max_s'] * 1e3:.1f} ms ({sum(tangent)} with contours tangent to rays)",
          flush=True)
    return out


def kpoints_versus_gamma():
    """k-points and time per point at rtol 1e-6 as Gamma falls 250-fold: the adaptive mesh
    grows like log(1/Gamma) per contour (a uniform mesh would grow like 1/Gamma^2)."""
    out = []
    for name, kw, mu, _ in (POINTS[0], POINTS[6], POINTS[5]):
        model = kubo_sot.RashbaFerromagnet(**kw)
        row = {"point": name, "gamma_eV": [], "kpoints": [], "median_s": []}
        for gamma in (0.05, 0.02, 0.005, 0.002, 0.0005, 0.0002):
            r, times = _time(lambda: kubo_sot.linear_response(model, mu, gamma, rtol=1e-6), 3)
            row["gamma_eV"].append(gamma)
            row["kpoints"].append(r.provenance["n_kpoints"])
            row["median_s"].append(statistics.median(times))
        out.append(row)
        print(f"{name:13s} k-points for Gamma = " + ", ".join(
            f"{g:g}: {k}" for g, k in zip(row["gamma_eV"], row["kpoints"])), flush=True)
    return out


def check_route_ratio():
    """Eigenbasis vs check route on the same k-points (route_comparison): time ratio."""
    name, kw, mu, gamma = POINTS[5]
    model = kubo_sot.RashbaFerromagnet(**kw)
    t = time.perf_counter()
    fast, check = route_comparison(model, mu, gamma, rtol=1e-4)
    t_both = time.perf_counter() - t
    t = time.perf_counter()
    kubo_sot.linear_response(model, mu, gamma, rtol=1e-4)
    t_fast = time.perf_counter() - t
    ratio = (t_both - t_fast) / t_fast
    print(f"check route / fast route on the same k-points ({name}): {ratio:.0f}x")
    return {"point": name, "check_over_fast_time": ratio}


def uniform_mesh_ratio():
    """k-points of a uniform mesh reaching the accuracy of the adaptive rtol = 1e-6 run."""
    name, kw, mu, gamma = "z_weak_gamma_0.005", POINTS[0][1], POINTS[0][2], 0.005
    model = kubo_sot.RashbaFerromagnet(**kw)
    ref = kubo_sot.linear_response(model, mu, gamma, rtol=1e-10)
    adaptive = kubo_sot.linear_response(model, mu, gamma, rtol=1e-6)
    target = max(_max_rel(adaptive, ref), 1e-6)
    integrand = response_integrand(model, mu, ConstantBroadening(gamma), 0.0, kernel="numpy")
    scale = np.max(np.abs(ref.spin_density.total))
    k_max = 2.0 * max(ref.bands.fermi_wavevectors)
    out = {"point": name, "adaptive_kpoints": adaptive.provenance["n_kpoints"],
           "adaptive_error": target, "uniform": []}
    for n in (256, 512, 1024, 2048):
        est = uniform_mesh_integral(model, integrand, k_max, n)
        chi = (est[8:14] + est[14:20] + est[20:26]) / (2 * np.pi)
        err = float(np.max(np.abs(chi.reshape(3, 2) - ref.spin_density.total)) / scale)
        out["uniform"].append({"n": n, "kpoints": n * n, "spin_density_error": err})
        print(f"uniform mesh {n}x{n}: spin-density error {err:.1e} "
              f"(adaptive: {target:.1e} with {adaptive.provenance['n_kpoints']} k-points)",
              flush=True)
    return out


def many_fermi_energies(point, temperature=0.0):
    """100 Fermi energies in one call (an array fermi_energy from 0 to 0.5 eV), serially and
    on 2 joblib workers, as a multiple of one point of the same model and temperature
    (median of 5).  For M along z, or with an in-plane part and weak Rashba coupling, the
    call takes one spectral-density sweep (serial either way; at T > 0 on a thermal grid);
    energies the sweep does not cover get a k-mesh each."""
    name, kw, mu, gamma = point
    model = kubo_sot.RashbaFerromagnet(**kw)
    energies = np.linspace(0.0, 0.5, 100)
    _, times = _time(lambda: kubo_sot.linear_response(model, mu, gamma, temperature,
                                                      rtol=1e-6), 5)
    one = statistics.median(times)
    out = {"point": name, "temperature_K": temperature, "one_point_s": one}
    for n_jobs in (1, 2):
        # The first call starts the workers and loads their compiled kernels; timed: 3 more.
        results, times = _time(lambda: kubo_sot.linear_response(
            model, energies, gamma, temperature, rtol=1e-6, n_jobs=n_jobs), 4)
        hundred = statistics.median(times[1:])
        out[f"ratio_n_jobs_{n_jobs}"] = hundred / one
        out["engine"] = results[0].provenance.get("engine", "k-mesh per energy")
        print(f"100 Fermi energies in one call ({name}, {temperature:g} K, {out['engine']}), "
              f"n_jobs = {n_jobs}: "
              f"{hundred * 1e3:.0f} ms = {hundred / one:.0f}x one point ({one * 1e3:.2f} ms)",
              flush=True)
    return out


def vertex_correction_cost(quick):
    """Vertex-corrected point (SCBA + ladder, white noise of Born width Gamma) vs the bare
    bubble of the same disorder and vs the constant-Gamma point, same rtol 1e-6."""
    rows = []
    for name, kw, mu, gamma in POINTS[: 4 if quick else None]:
        model = kubo_sot.RashbaFerromagnet(**kw)
        disorder = kubo_sot.WhiteNoiseDisorder.from_born_broadening(gamma, model.mass)
        timings = {}
        for label, args in (("constant_gamma", (gamma, False)), ("born_bare", (disorder, False)),
                            ("born_ladder", (disorder, True))):
            _, times = _time(lambda: kubo_sot.linear_response(
                model, mu, args[0], rtol=1e-6, vertex_corrections=args[1]), 1 if quick else 3)
            timings[label] = statistics.median(times)
        row = {"point": name, **timings,
               "ladder_over_constant": timings["born_ladder"] / timings["constant_gamma"],
               "ladder_over_bare": timings["born_ladder"] / timings["born_bare"]}
        rows.append(row)
        print(f"{name:13s} vertex-corrected {row['born_ladder'] * 1e3:7.1f} ms = "
              f"{row['ladder_over_constant']:.2f}x constant Gamma, "
              f"{row['ladder_over_bare']:.2f}x bare Born", flush=True)
    ratios = [r["ladder_over_constant"] for r in rows]
    print(f"vertex-corrected / constant Gamma: median {statistics.median(ratios):.2f}x, "
          f"max {max(ratios):.2f}x")
    return {"points": rows, "median_ladder_over_constant": statistics.median(ratios)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks.json")
    args = parser.parse_args(argv)
    report = {"version": kubo_sot.__version__, "machine": platform.platform(),
              "kernel": kernel_speed(),
              "per_point": per_point(args.quick), "random_points": random_points(args.quick)}
    # The engine's own peak (all points, rtol down to 1e-8), before the baselines run.
    report["peak_memory_engine_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the engine runs {report['peak_memory_engine_MB']:.0f} MB")
    report.update({"kpoints_versus_gamma": kpoints_versus_gamma(),
                   "check_route": check_route_ratio(),
                   "uniform_mesh": uniform_mesh_ratio(),
                   "fermi_energies_100": many_fermi_energies(POINTS[0]),
                   "fermi_energies_100_in_plane": many_fermi_energies(POINTS[1]),
                   "fermi_energies_100_tilted": many_fermi_energies(POINTS[7]),
                   "fermi_energies_100_tilted_300K": many_fermi_energies(POINTS[7], 300.0),
                   "joblib": in_fresh_interpreters(),
                   "vertex_corrections": vertex_correction_cost(args.quick),
                   # Lattice models (issue 17): the N-band kernel per k against eigh, and
                   # both Brillouin-zone schemes against the uniform periodic mesh.
                   "nband_kernel": nband_kernel.main(),
                   "brillouin_zone": brillouin_zone.run(args.quick)})
    report["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the whole process (incl. uniform-mesh baseline) "
          f"{report['peak_memory_MB']:.0f} MB")
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
