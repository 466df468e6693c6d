"""The benchmark report comparison (benchmarks/compare.py) on two small synthetic reports:
every figure is printed with its ratio new / old (no timing is asserted)."""

import copy

from benchmarks.compare import compare


def _report(scale):
    point = {"median_s": 0.004 * scale, "min_s": 0.003, "max_s": 0.005, "kpoints": 1000}
    speedup = {"speedup_warm": 1.9 / scale}
    return {"version": "0", "kernel": {t: {"numba_us_per_k": 0.12 * scale}
                                       for t in ("T_0K", "T_300K")},
            "per_point": [{"point": "z", "rtol_1e-06": dict(point)},
                          {"point": "x", "rtol_1e-06": dict(point)}],
            "fermi_energies_100": {"point": "z", "ratio_n_jobs_1": 90.0, "ratio_n_jobs_2": 70.0},
            "joblib": {"default_allocator": {"batch": copy.copy(speedup)}},
            "vertex_corrections": {"median_ladder_over_constant": 3.0},
            "peak_memory_engine_MB": 200.0, "peak_memory_MB": 300.0}


def test_compare_prints_every_figure_with_its_ratio(capsys):
    compare(_report(1.0), _report(2.0))
    out = capsys.readouterr().out
    assert "median over the points, rtol_1e-06" in out and "8.00" in out
    assert "kernel T_300K" in out and "joblib warm speedup, batch" in out
    lines = [line for line in out.splitlines() if line.startswith("z rtol_1e-06 ")]
    assert lines[0].split()[-1] == "2.00"  # the time ratio new / old
    assert lines[1].split()[-1] == "1.00"  # the k-points
