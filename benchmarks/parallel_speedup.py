"""Serial vs 2 joblib workers on sweeps of 64 points, each configuration measured in a
fresh interpreter (``python -m benchmarks.parallel_speedup`` prints one JSON line).

Why a fresh interpreter: the serial baseline depends on the history of the process that
runs it.  glibc's malloc returns freed memory to the system, so each point page-faults its
working set (~4 MB) anew, unless earlier large allocations have raised malloc's dynamic
thresholds; late in the full benchmark run the same serial sweep is up to 30% faster than
in a fresh process, while the workers are always fresh processes.  Measuring both in a
fresh interpreter compares like with like, as a user's sweep script does.  The second
configuration sets the allocator variables of README.md (inherited by the workers), which
remove those page faults from serial and workers alike.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

# README.md, section on sweeps: keep freed memory instead of returning it to the system.
TUNED_ALLOCATOR = {"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "67108864"}
REPEAT = 5
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def joblib_speedup():
    """Serial vs 2 joblib workers on batches of 64 points (M along z: ~0.7 ms per point;
    M in-plane: ~9 ms).  'cold' includes starting the worker processes (about a second:
    importing numpy, scipy, numba), 'warm' reuses them, as every later sweep of a session
    does (joblib keeps its loky executor).  Warm and serial times are medians of REPEAT
    runs.  The points are evaluated one by one (share_kpoints=False): grouped, the 64
    Fermi energies along z would be one spectral-density sweep (~20 ms), a single task."""
    from joblib.externals.loky import get_reusable_executor

    from kubo_sot.sweep import sweep

    def timed(**kwargs):
        t = time.perf_counter()
        sweep(base, grid, share_kpoints=False, **kwargs)
        return time.perf_counter() - t

    out = {}
    for label, m in (("z_64_points", (0, 0, 1)), ("in_plane_64_points", (1, 0, 0))):
        base = dict(alpha=0.1, exchange=0.1, magnetization=m, broadening=0.01, rtol=1e-6)
        grid = {"fermi_energy": list(np.linspace(0.0, 0.5, 64))}
        sweep(base, {"fermi_energy": [0.1]}, backend="serial")  # load compiled kernels
        serial = statistics.median(timed(backend="serial") for _ in range(REPEAT))
        get_reusable_executor().shutdown(wait=True)
        cold = timed(backend="joblib", n_jobs=2)
        warm = statistics.median(timed(backend="joblib", n_jobs=2) for _ in range(REPEAT))
        out[label] = {"serial_s": serial, "two_workers_cold_s": cold,
                      "two_workers_warm_s": warm, "speedup_cold": serial / cold,
                      "speedup_warm": serial / warm}
    return out


def in_fresh_interpreters():
    """joblib_speedup() in a fresh interpreter, with the default and the tuned allocator."""
    out = {}
    for config, extra in (("default_allocator", {}), ("tuned_allocator", TUNED_ALLOCATOR)):
        env = {k: v for k, v in os.environ.items() if k not in TUNED_ALLOCATOR}
        run = subprocess.run([sys.executable, "-m", "benchmarks.parallel_speedup"],
                             env={**env, **extra}, cwd=REPOSITORY, capture_output=True,
                             text=True, check=True)
        out[config] = json.loads(run.stdout.strip().splitlines()[-1])
        for label, r in out[config].items():
            print(f"joblib 2 workers, {label}, {config}: {r['speedup_cold']:.2f}x cold, "
                  f"{r['speedup_warm']:.2f}x warm (serial {r['serial_s']:.2f} s, cold "
                  f"{r['two_workers_cold_s']:.2f} s, warm {r['two_workers_warm_s']:.2f} s)",
                  flush=True)
    return out


if __name__ == "__main__":
    print(json.dumps(joblib_speedup()))
