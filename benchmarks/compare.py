"""python -m benchmarks.compare OLD.json NEW.json

Side by side, two reports of ``python -m benchmarks`` (e.g. of two commits): time per
point and k-points at each rtol, the medians, the kernel speed, the 100-energy and joblib
ratios, the vertex-correction cost and the peak memory, with the ratio new / old.  The
kernel's time per k-point, which no change of the integrator touches, shows how much of a
time ratio is the machine (the same code runs up to ~25% slower from one day to the next).
"""

import argparse
import json
import statistics


def _row(label, old, new, unit="", scale=1.0, digits=2):
    ratio = f"{new / old:6.2f}" if old else "     -"
    print(f"{label:58s} {old * scale:10.{digits}f} {new * scale:10.{digits}f} {unit:5s} {ratio}")


def compare(old, new):
    """Print the figures of two benchmark reports (dicts) with their ratios new / old."""
    print(f"{'':58s} {'old':>10s} {'new':>10s} {'':5s}  new/old")
    print(f"versions {old.get('version')} -> {new.get('version')}")
    for temperature in ("T_0K", "T_300K"):
        _row(f"kernel {temperature}, numba", old["kernel"][temperature]["numba_us_per_k"],
             new["kernel"][temperature]["numba_us_per_k"], "us/k", digits=3)
    rtols = [key for key in new["per_point"][0] if key.startswith("rtol_")]
    old_points = {row["point"]: row for row in old["per_point"]}
    for key in rtols:
        times = {"old": [], "new": []}
        for row in new["per_point"]:
            before = old_points.get(row["point"], {}).get(key)
            if before is None:
                continue
            after = row[key]
            times["old"].append(before["median_s"])
            times["new"].append(after["median_s"])
            _row(f"{row['point']} {key}", before["median_s"], after["median_s"], "ms", 1e3)
            _row(f"{row['point']} {key} k-points", before["kpoints"], after["kpoints"],
                 digits=0)
        if times["new"]:
            _row(f"median over the points, {key}", statistics.median(times["old"]),
                 statistics.median(times["new"]), "ms", 1e3)
    if "random_points" in old and "random_points" in new:
        for key in ("median_s", "p90_s", "max_s"):
            _row(f"random points, {key[:-2]}", old["random_points"][key],
                 new["random_points"][key], "ms", 1e3)
    for report in ("fermi_energies_100", "fermi_energies_100_in_plane",
                   "fermi_energies_100_tilted", "fermi_energies_100_tilted_300K"):
        if report not in old or report not in new:
            continue
        for key in ("ratio_n_jobs_1", "ratio_n_jobs_2"):
            _row(f"100 Fermi energies / one point, {new[report]['point']}, {key[6:]}",
                 old[report][key], new[report][key], "x", digits=1)
    for config, batches in new["joblib"].items():
        for label, figures in batches.items():
            before = old["joblib"].get(config, {}).get(label)
            if before is not None:
                _row(f"joblib warm speedup, {label}, {config}", before["speedup_warm"],
                     figures["speedup_warm"], "x")
    _row("vertex-corrected / constant Gamma (median)",
         old["vertex_corrections"]["median_ladder_over_constant"],
         new["vertex_corrections"]["median_ladder_over_constant"], "x")
    for key in ("peak_memory_engine_MB", "peak_memory_MB"):
        _row(key, old[key], new[key], "MB", digits=0)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare")
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args(argv)
    with open(args.old) as fh_old, open(args.new) as fh_new:
        compare(json.load(fh_old), json.load(fh_new))


if __name__ == "__main__":
    main()
