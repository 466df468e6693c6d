"""Sweeps through a real SLURM: Dask workers started as batch jobs by dask-jobqueue.

Needs a running SLURM whose jobs run on this machine (``.ci/start_slurm.sh`` starts a
single-node one on localhost as root; ``.ci/run`` calls it); skipped, with the reason,
where ``sinfo`` does not answer or no node is up.  The two tests hold a file lock, so that
under pytest-xdist they never run at the same time (they would compete for the node's
CPUs).  They share a numba cache directory: the first worker compiles the kernels into
it (~30 s on the CI machine), later ones load them.
"""

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
from kubo_sot.sweep import cluster as kc

pytestmark = pytest.mark.slurm

# 8 points, in-plane M at 4 angles and 2 Fermi energies: each point is its own task
# (fewer than 8 energies share no spectral sweep), so the tasks are spread over workers.
TOML = """
[model]
alpha = 0.05
exchange = 0.2
magnetization = [1, 0, 0]
[response]
broadening = 0.01
rtol = 1e-4
[grid]
fermi_energy = [0.1, 0.3]
magnetization_azimuth_deg = [0, 30, 60, 90]
"""
BASE = dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), broadening=0.01, rtol=1e-4)
GRID = {"fermi_energy": [0.1, 0.3], "magnetization_azimuth_deg": [0.0, 30.0, 60.0, 90.0]}
CACHE = Path(tempfile.gettempdir()) / "kubo_sot_slurm_test_numba_cache"
# Jobs of this size fit the CI node twice (2 CPUs); the walltime is the allowed minimum.
OPTIONS = dict(memory="1GB", walltime="00:05:00", interface="lo")
UP_STATES = ("idle", "mixed", "allocated", "completing")


@functools.lru_cache(maxsize=None)
def _slurm_problem():
    """Why SLURM cannot run the test here, or None (asked once: sinfo retries for ~10 s
    when slurmctld is down)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no SLURM commands (sinfo, sbatch); .ci/start_slurm.sh starts one as root"
    try:
        run = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                             timeout=15)
    except subprocess.TimeoutExpired:
        return "sinfo does not answer within 15 s (slurmctld down?)"
    if run.returncode != 0:
        return f"sinfo fails: {run.stderr.strip()[:200]}"
    states = run.stdout.split()
    if not any(s.startswith(UP_STATES) for s in states):
        return f"no SLURM node is up (states {states})"
    return None


@pytest.fixture
def slurm():
    """Skip without a usable SLURM; hold the lock that serializes the SLURM tests."""
    pytest.importorskip("dask_jobqueue")
    problem = _slurm_problem()
    if problem:
        pytest.skip(problem)
    CACHE.mkdir(exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "kubo_sot_slurm_test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _assert_bit_identical(ds, reference):
    assert sorted(ds.data_vars) == sorted(reference.data_vars)
    for name in reference.data_vars:
        assert np.array_equal(ds[name].values, reference[name].values, equal_nan=True), name


def test_cli_sweep_on_slurm_is_bit_identical_to_serial(slurm, tmp_path):
    xr = pytest.importorskip("xarray")
    config = tmp_path / "sweep.toml"
    config.write_text(TOML)
    out = tmp_path / "slurm.nc"
    args = [sys.executable, "-m", "kubo_sot.cli", "sweep", str(config), "--out", str(out),
            "--cluster", "slurm", "--jobs", "2", "--numba-cache-dir", str(CACHE)]
    for key, value in OPTIONS.items():
        args += [f"--{key}", value]
    start = time.perf_counter()
    run = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-3000:]
    # sized to the work: 8 tasks, at most the 2 jobs asked for
    assert "8 points in 8 tasks on 1-2 slurm job(s) of 1 core(s)" in run.stdout
    assert "8 points computed, 0 reused" in run.stdout
    # the workers ran as SLURM jobs (their logs) and compiled into the shared cache
    logs = list((tmp_path / "slurm.nc.store" / "cluster_logs").glob("kubo-sot-*.err"))
    assert logs and any("Start worker" in f.read_text() for f in logs)
    assert any(CACHE.rglob("*.nbi"))
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    _assert_bit_identical(ds, kubo_sot.sweep(BASE, GRID))
    print(f"CLI sweep on SLURM: {seconds:.1f} s")
    # resumed with every point stored: nothing to submit, no job started
    again = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 points computed, 8 reused" in again.stdout and "job(s)" not in again.stdout
    assert sorted((tmp_path / "slurm.nc.store" / "cluster_logs").glob("*.err")) == \
        sorted(logs)


def _squeue(job_id):
    run = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"],
                         capture_output=True, text=True, timeout=15)
    return run.stdout.strip()


def test_a_cancelled_worker_job_is_replaced_and_the_sweep_completes(slurm, tmp_path):
    from distributed import Client
    store = tmp_path / "run.store"
    settings = kc.cluster_settings({"kind": "slurm", "jobs": 2,
                                    "numba_cache_dir": str(CACHE), **OPTIONS})
    n_points, n_tasks = kc.count_tasks(BASE, GRID, store=store)
    assert (n_points, n_tasks) == (8, 8)
    with kc.make_cluster(settings, n_tasks, store) as cluster, Client(cluster) as client:
        # adapt(minimum=1 job): one job before any work is submitted
        client.wait_for_workers(1, timeout=120)
        name = next(iter(client.scheduler_info()["workers"].values()))["name"]
        cancelled = cluster.workers[name].job_id
        subprocess.run(["scancel", cancelled], check=True, timeout=15)
        deadline = time.monotonic() + 60
        while client.scheduler_info()["workers"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not client.scheduler_info()["workers"], "the cancelled worker stayed"
        assert _squeue(cancelled) in ("", "CANCELLED", "COMPLETING")
        # the sweep can only finish on a job that adapt starts in place of the cancelled one
        result = {}
        worker = threading.Thread(daemon=True, target=lambda: result.update(
            ds=kubo_sot.sweep(BASE, GRID, backend="dask", client=client, store=store)))
        worker.start()
        worker.join(timeout=180)
        assert "ds" in result, "the sweep did not finish within 180 s of the cancellation"
        jobs = {w.job_id for w in cluster.workers.values()}
        assert jobs - {cancelled}, "no replacement job was submitted"
    ds = result["ds"]
    assert ds.attrs["points_computed"] == 8
    assert len(list(store.glob("*.json"))) == 8
    _assert_bit_identical(ds, kubo_sot.sweep(BASE, GRID))


def test_example_interrupted_exits_130_and_says_how_to_resume(slurm, tmp_path):
    """examples/slurm_sweep.py on a small grid: SIGINT once points are stored."""
    import re
    import signal
    example = Path(__file__).parents[1] / "examples" / "slurm_sweep.py"
    store = tmp_path / "amr.store"
    # 6 angles x 100 energies: 6 spectral-sweep tasks of ~5 s, on at most 2 jobs
    args = [sys.executable, str(example), "--angles", "6", "--jobs", "2", "--store",
            str(store), "--out", str(tmp_path / "amr.nc"), "--memory", "1GB",
            "--walltime", "00:05:00", "--interface", "lo"]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(CACHE)}  # warm cache, via the environment
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 150
        while not any(store.glob("*.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert any(store.glob("*.json")), "no point stored within 150 s"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    m = re.search(r"interrupted: (\d+) of 600 points stored in (\S+); rerun python (.+) "
                  "to resume", err)
    assert m, err[-3000:]
    assert m.group(2) == str(store) and "slurm_sweep.py" in m.group(3)
    assert 0 < int(m.group(1)) == len(list(store.glob("*.json"))) < 600
