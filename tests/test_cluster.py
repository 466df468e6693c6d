"""Cluster settings of ``kubo-sot sweep --cluster`` (no batch system needed): checks with
clear errors, CLI over TOML, jobs sized to the sweep's tasks, the job script's environment.
The sweep through a real SLURM is tests/test_slurm.py."""

import subprocess
import sys

import pytest

from kubo_sot.errors import ParameterError
from kubo_sot.sweep import cluster as kc

pytest.importorskip("dask_jobqueue")

# In-plane M with weak Rashba coupling: equal-but-for-mu points are one spectral task.
BASE = dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), broadening=0.01, rtol=1e-4)


def settings(**kw):
    return kc.cluster_settings({"kind": "slurm", **kw})


@pytest.mark.parametrize("options, fragment", [
    ({"jobs": 0}, "--jobs = 0 is outside the allowed range [1, inf)"),
    ({"jobs": "two"}, "--jobs = 'two' must be a whole number"),
    ({"jobs": True}, "--jobs = True must be a whole number"),
    ({"cores": -1}, "--cores = -1 is outside"),
    ({"memory": "lots"}, "--memory = 'lots' must be an amount of memory"),
    ({"memory": "1GB", "cores": 4}, "allowed at least 512 MiB per process"),
    ({"walltime": "2h"}, "--walltime = '2h' must be a time as HH:MM:SS"),
    ({"walltime": "00:04:59"}, "(299 s) is outside the allowed range [300 s, inf)"),
    ({"walltime": "01:75:00"}, "minutes and seconds must be below 60"),
    ({"queue": "a b"}, "--queue = 'a b' must be a partition or queue name"),
    ({"interface": "no-such-nic0"}, "is not a network interface of this machine"),
    ({"kind": "sge"}, "--cluster = 'sge' is not one of ['slurm', 'pbs']"),
])
def test_every_value_is_checked_and_named(options, fragment):
    with pytest.raises(ParameterError) as err:
        kc.cluster_settings({"kind": "slurm", **options})
    assert fragment in str(err.value)


def test_file_values_are_named_as_file_keys_and_cli_overrides_them():
    with pytest.raises(ParameterError, match=r"\[cluster\] cores = 0 is outside"):
        kc.cluster_settings({}, {"kind": "pbs", "cores": 0})
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['core'\] in \[cluster\]"):
        kc.cluster_settings({}, {"kind": "pbs", "core": 2})
    s = kc.cluster_settings({"cores": 2, "walltime": None},
                            {"kind": "pbs", "cores": 8, "walltime": "1-02:00:00",
                             "memory": "4GiB"})
    assert (s.kind, s.cores, s.memory, s.walltime) == ("pbs", 2, 4 * 1024**3, 26 * 3600)
    assert s.walltime_text == "26:00:00"
    # no kind anywhere: no cluster, unless cluster options were given (never guess)
    assert kc.cluster_settings({}, {}) is None
    with pytest.raises(ParameterError, match="--jobs, \\[cluster\\] memory given without"):
        kc.cluster_settings({"jobs": 3}, {"memory": "2GB"})


def test_defaults():
    s = settings()
    assert (s.jobs, s.cores, s.memory, s.walltime_text) == (4, 1, 2 * 1000**3, "01:00:00")
    assert settings(cores=3).memory == 3 * 2 * 1000**3  # 2 GB per worker process


def test_never_more_jobs_than_tasks():
    assert kc.job_bounds(settings(jobs=64), 37) == (1, 37)
    assert kc.job_bounds(settings(jobs=64, cores=4), 37) == (1, 10)  # ceil(37 / 4)
    assert kc.job_bounds(settings(jobs=2), 37) == (1, 2)
    assert kc.job_bounds(settings(jobs=8), 1) == (1, 1)


def test_tasks_are_counted_as_the_sweep_groups_them(tmp_path):
    import numpy as np

    import kubo_sot
    energies = list(np.linspace(0.0, 0.3, 8))
    # 8 energies x 3 azimuths: three spectral-sweep tasks; 2 energies: one task per point
    assert kc.count_tasks(BASE, {"fermi_energy": energies,
                                 "magnetization_azimuth_deg": [0, 45, 90]}) == (24, 3)
    assert kc.count_tasks(BASE, {"fermi_energy": energies[:2],
                                 "magnetization_azimuth_deg": [0, 45, 90]}) == (6, 6)
    assert kc.count_tasks(BASE, {"fermi_energy": energies},
                          share_kpoints=False) == (8, 8)
    # stored points are not counted
    kubo_sot.sweep(BASE, {"fermi_energy": energies[:2]}, store=tmp_path)
    assert kc.count_tasks(BASE, {"fermi_energy": energies[:3]}, store=tmp_path) == (1, 1)
    with pytest.raises(ParameterError, match="broadening"):
        kc.count_tasks({**BASE, "broadening": -1.0}, {"fermi_energy": [0.1]})


@pytest.mark.parametrize("kind, export", [("slurm", "#SBATCH --export=ALL"),
                                          ("pbs", "#PBS -V")])
def test_job_script_exports_the_environment_and_sets_cache_and_allocator(tmp_path,
                                                                         monkeypatch,
                                                                         kind, export):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    s = kc.cluster_settings({"kind": kind, "cores": 2, "walltime": "02:00:00",
                             "queue": "short"})
    store = tmp_path / "run.store"
    cls = kc.cluster_class(s)
    with cls(**kc.cluster_kwargs(s, store)) as cluster:
        script = cluster.job_script()
    assert export in script
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script
    assert f"export NUMBA_CACHE_DIR='{store.resolve() / 'numba_cache'}'" in script
    assert (store / "numba_cache").is_dir()
    assert "export MALLOC_TRIM_THRESHOLD_=268435456" in script
    assert "export MALLOC_MMAP_THRESHOLD_=67108864" in script
    assert "export OMP_NUM_THREADS=1" in script
    assert "--nthreads 1" in script  # two single-threaded processes per job
    # workers retire 5 min before the walltime, so no task is cut off by the kill
    assert "--lifetime 6900s" in script and "short" in script
    # an explicit cache directory wins over the store's
    other = kc.cluster_settings({"kind": kind, "numba_cache_dir": str(tmp_path / "nc")})
    prologue = kc.cluster_kwargs(other, store)["job_script_prologue"]
    assert prologue[0] == f"export NUMBA_CACHE_DIR='{tmp_path / 'nc'}'"


def test_cli_cluster_mistakes_exit_2_before_anything_runs(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[model]\nalpha = 0.05\n[grid]\nfermi_energy = [0.1, 0.2]\n'
                      '[cluster]\nkind = "slurm"\nwalltime = "00:01:00"\n')
    for extra, message in [
            ([], "[cluster] walltime = '00:01:00' (60 s) is outside"),
            (["--walltime", "00:10:00", "--memory", "10MB"], "--memory = '10MB'"),
            (["--walltime", "00:10:00", "--backend", "joblib"], "--backend = 'joblib'")]:
        run = subprocess.run([sys.executable, "-m", "kubo_sot.cli", "sweep", str(config),
                              "--out", str(tmp_path / "o.nc"), *extra],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert message in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "o.nc").exists()


def test_ctrl_c_raises_keyboardinterrupt_again_after_dask_jobqueue_import():
    """dask-jobqueue 0.9 sets SIGINT to sys.exit() on import (a silent exit 0 of an
    interrupted sweep); the cluster module puts Python's handler back."""
    import importlib
    import signal

    import dask_jobqueue.runner
    importlib.reload(dask_jobqueue.runner)  # runs its module-level signal.signal again
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    try:
        kc.cluster_class(settings())
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
