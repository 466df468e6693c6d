"""Faults of a long sweep: a corrupted, altered, swapped or symlinked checkpoint store,
concurrent sweeps on one store, full or read-only disks, kill -9 of the main process,
Ctrl-C, a changed configuration on --resume, Dask workers (issue 18)."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
from kubo_sot import ParameterError
from kubo_sot._parallel import CHUNKS_PER_WORKER
from kubo_sot.errors import StoreWarning
from kubo_sot.sweep import runner, store as store_module
from kubo_sot.sweep.grid import expand
from kubo_sot.sweep.store import PointStore, point_key

pytest.importorskip("xarray")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# A cheap point (rtol 1e-3, in-plane M: each point on its own k-mesh, ~0.1 s).
BASE = dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0), broadening=0.02, rtol=1e-3)
GRID = {"fermi_energy": [0.2, 0.3]}
# Long enough to be interrupted: 40 points of ~0.1 s.
LONG_GRID = {"fermi_energy": list(np.linspace(0.05, 0.4, 8)),
             "magnetization_azimuth_deg": [0.0, 30.0, 60.0, 120.0, 150.0]}
# How long a subprocess may take to store its first point (import + numba cache + point).
START_TIMEOUT = 120.0


def _points(path):
    return sorted(Path(path).glob("*.json"))


def _never_compute(monkeypatch):
    monkeypatch.setattr(runner, "evaluate_points",
                        lambda *a, **k: pytest.fail("a point was computed"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A store holding the two points of GRID, and the sweep's dataset."""
    path = tmp_path_factory.mktemp("reference") / "store"
    ds = kubo_sot.sweep(BASE, GRID, store=path)
    return path, ds


@pytest.fixture
def store(reference, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(reference[0], path)
    return path


def _same_numbers(a, b):
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


def _key(index=0):
    return point_key(expand(BASE, GRID)[1][index])


# -- integrity of stored points --------------------------------------------------------------

def _edit_result(f, edit):
    record = json.loads(f.read_text())
    edit(record["result"])
    f.write_text(json.dumps(record))


def _scale_sigma(result):
    result["conductivity_total"][0][0] *= 1000.0


def _set(name, value):
    def edit(result):
        result[name][0][0] = value
    return edit


def _outside_copy(f, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_bytes(f.read_bytes())
    f.unlink()
    f.symlink_to(outside)


def _other_point(f, tmp_path):
    other = f.parent / f"{_key(1)}.json"
    f.write_bytes(other.read_bytes())


def _other_point_key_edited(f, tmp_path):
    record = json.loads((f.parent / f"{_key(1)}.json").read_text())
    record["key"] = _key(0)
    f.write_text(json.dumps(record))


def _recompute_checksum_without(name):
    """A consistent file (key, checksum) whose result lacks an entry: only the schema
    check can find it."""
    def corrupt(f, tmp_path):
        record = json.loads(f.read_text())
        del record["result"][name]
        record["checksum"] = store_module.checksum(record["input"], record["result"])
        f.write_text(json.dumps(record))
    return corrupt


def _consistent_nan(f, tmp_path):
    record = json.loads(f.read_text())
    record["result"]["conductivity_total"][1][1] = float("nan")
    record["checksum"] = store_module.checksum(record["input"], record["result"])
    f.write_text(json.dumps(record))


CORRUPTIONS = {
    "truncated": (lambda f, t: f.write_bytes(f.read_bytes()[:100]), "not valid JSON"),
    "empty": (lambda f, t: f.write_bytes(b""), "empty"),
    "random bytes": (lambda f, t: f.write_bytes(os.urandom(3000)), "not valid JSON"),
    "directory": (lambda f, t: (f.unlink(), f.mkdir()), "not a regular file"),
    "named pipe": (lambda f, t: (f.unlink(), os.mkfifo(f)), "not a regular file"),
    "dangling symlink": (lambda f, t: (f.unlink(), f.symlink_to(t / "nowhere.json")),
                         "symbolic link"),
    "symlink out of the store": (_outside_copy, "symbolic link"),
    "sigma x1000": (lambda f, t: _edit_result(f, _scale_sigma), "checksum mismatch"),
    "NaN": (lambda f, t: _edit_result(f, _set("conductivity_total", float("nan"))),
            "checksum mismatch"),
    "inf": (lambda f, t: _edit_result(f, _set("spin_density_total", float("inf"))),
            "checksum mismatch"),
    "another point's file": (_other_point, "records the key"),
    "another point's file, key edited": (_other_point_key_edited, "hashes to"),
    "missing entry, consistent checksum": (_recompute_checksum_without("rho_ee"),
                                           "entries missing"),
    "NaN, consistent checksum": (_consistent_nan, "not a finite number"),
    "old format": (lambda f, t: f.write_text(json.dumps(
        {k: v for k, v in json.loads(f.read_text()).items() if k in ("input", "result")})),
        "not a point file of format 2"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_bad_point_file_is_quarantined_and_recomputed(name, store, reference, tmp_path):
    corrupt, reason = CORRUPTIONS[name]
    f = store / f"{_key(0)}.json"
    corrupt(f, tmp_path)
    outside = sorted(p.name for p in tmp_path.iterdir())
    with pytest.warns(StoreWarning, match=f"{f}.*{reason}.*moved to .*quarantine") as w:
        ds = kubo_sot.sweep(BASE, GRID, store=store)
    assert len(w) == 1
    assert ds.attrs["points_computed"] == 1 and ds.attrs["points_reused"] == 1
    _same_numbers(ds, reference[1])  # recomputed: the same numbers as before
    assert len(list((store / "quarantine").iterdir())) == 1
    assert f.is_file() and not f.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == outside  # nothing outside touched
    again = kubo_sot.sweep(BASE, GRID, store=store)  # and now it is clean: no warning
    assert again.attrs["points_reused"] == 2


def test_a_store_that_is_a_link_to_a_folder_is_used(store, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(store, target_is_directory=True)
    assert kubo_sot.sweep(BASE, GRID, store=link).attrs["points_reused"] == 2


def test_a_symlinked_locks_folder_is_refused(store, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    shutil.rmtree(store / "locks", ignore_errors=True)
    (store / "locks").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ParameterError, match="locks/ is a symbolic link"):
        PointStore(store).claim("a" * 32)
    assert not list((tmp_path / "elsewhere").iterdir())


def test_stored_point_records_key_and_checksum(store):
    record = json.loads((store / f"{_key(0)}.json").read_text())
    assert record["format"] == 2 and record["key"] == _key(0)
    assert record["checksum"] == store_module.checksum(record["input"], record["result"])
    assert point_key(record["input"]) == _key(0)


# -- concurrent sweeps on one store ----------------------------------------------------------

def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_writers_temporary_file_is_never_deleted(tmp_path):
    host = store_module._HOST
    live = tmp_path / f"{'a' * 32}.{host}.{os.getpid()}.0123abcd.tmp"
    dead = tmp_path / f"{'b' * 32}.{host}.{_dead_pid()}.0123abcd.tmp"
    other_host = tmp_path / f"{'c' * 32}.otherhost.{_dead_pid()}.0123abcd.tmp"
    for f in (live, dead, other_host):
        f.write_text("{}")
    PointStore(tmp_path)  # a second sweep opening the store
    assert live.exists() and other_host.exists()  # possibly alive: kept
    assert not dead.exists()  # its writer is dead: a leftover of a kill
    old = time.time() - store_module.ABANDONED_TMP_SECONDS - 10
    os.utime(other_host, (old, old))
    PointStore(tmp_path)
    assert not other_host.exists() and live.exists()


def test_a_temporary_file_whose_point_is_locked_is_kept(tmp_path):
    """The writer's pid may mean nothing here (another pid namespace): its lock counts."""
    db = PointStore(tmp_path)
    lock = db.claim("d" * 32)
    tmp = tmp_path / f"{'d' * 32}.{store_module._HOST}.{_dead_pid()}.0123abcd.tmp"
    tmp.write_text("{}")
    PointStore(tmp_path)
    assert tmp.exists()
    lock.release()
    PointStore(tmp_path)
    assert not tmp.exists()


def test_sweep_rechecks_the_store_before_computing_a_point(tmp_path, monkeypatch):
    """A second sweep started together with a first skips the points that the first has
    stored meanwhile: here the 'other sweep' stores point 1 while point 0 is computed."""
    _, specs = expand(BASE, GRID)
    keys = [point_key(s) for s in specs]
    real = runner.evaluate_points
    computed = []

    def evaluate(specs_of_task, factory=None):
        computed.append(specs_of_task[0]["fermi_energy"])
        out = real(specs_of_task, factory)
        if len(computed) == 1:
            other = real([specs[1]], factory)[0]
            PointStore(tmp_path, clean=False).put(keys[1], specs[1], other)
        return out

    monkeypatch.setattr(runner, "evaluate_points", evaluate)
    ds = kubo_sot.sweep(BASE, GRID, store=tmp_path)
    assert computed == [0.2]
    assert ds.attrs["points_computed"] == 1 and ds.attrs["points_reused"] == 1


def test_a_point_locked_by_another_sweep_is_waited_for(tmp_path, monkeypatch):
    """A point another sweep is computing (its lock held) is not computed twice: the sweep
    comes back to it and reuses it once it is stored."""
    _, specs = expand(BASE, GRID)
    keys = [point_key(s) for s in specs]
    other = PointStore(tmp_path)
    lock = other.claim(keys[0])
    real = runner.evaluate_points
    computed = []

    def evaluate(specs_of_task, factory=None):
        computed.append(specs_of_task[0]["fermi_energy"])
        out = real(specs_of_task, factory)
        # the other sweep finishes its point while this one computes point 1
        other.put(keys[0], specs[0], real([specs[0]], factory)[0])
        lock.release()
        return out

    monkeypatch.setattr(runner, "evaluate_points", evaluate)
    ds = kubo_sot.sweep(BASE, GRID, store=tmp_path)
    assert computed == [0.3]
    assert ds.attrs["points_computed"] == 1 and ds.attrs["points_reused"] == 1


CONCURRENT = """
import sys, json, kubo_sot
base, grid = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ds = kubo_sot.sweep(base, grid, store=sys.argv[3], backend=sys.argv[4], n_jobs=1)
print(json.dumps({"computed": ds.attrs["points_computed"], "reused": ds.attrs["points_reused"],
                  "rho": ds["rho_ee"].values.ravel().tolist()}))
"""


@pytest.mark.parametrize("backends", [("serial", "serial"), ("serial", "joblib")])
def test_two_sweeps_on_one_store_both_finish_and_compute_each_point_once(tmp_path,
                                                                         backends):
    grid = {"fermi_energy": list(np.linspace(0.05, 0.4, 4)),
            "magnetization_azimuth_deg": [0.0, 60.0, 120.0]}  # 12 points
    store = tmp_path / "store"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, json.dumps(BASE),
                               json.dumps(grid), str(store), backend], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for backend in backends]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    results = [json.loads(out) for out, _ in outputs]
    assert sum(r["computed"] for r in results) == 12  # every point computed once
    assert all(r["computed"] + r["reused"] == 12 for r in results)
    assert results[0]["rho"] == results[1]["rho"]
    assert len(_points(store)) == 12 and not list(store.glob("*.tmp"))
    assert not list((store / "locks").glob("*"))


def test_stale_lock_files_are_removed_and_held_ones_kept(tmp_path):
    db = PointStore(tmp_path)
    held = db.claim("a" * 32)
    (tmp_path / "locks" / f"{'b' * 32}.lock").write_text("")  # of a killed sweep
    PointStore(tmp_path)
    assert sorted(f.name for f in (tmp_path / "locks").iterdir()) == [f"{'a' * 32}.lock"]
    assert db.claim("a" * 32) is None  # still held
    held.release()
    assert not list((tmp_path / "locks").iterdir())


# -- disk problems, found before any point is computed -------------------------------------

def _mount_tmpfs(path, options):
    """Mount a tmpfs at ``path`` (root only); False where that is impossible."""
    path.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory this process cannot write: a read-only tmpfs as root, else mode 0555."""
    path = tmp_path / "ro"
    mounted = _mount_tmpfs(path, "ro,size=64k")
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("root without mount: cannot make a directory read-only")
        path.chmod(0o555)
    yield path
    if mounted:
        subprocess.run(["umount", str(path)], check=True)
    else:
        path.chmod(0o755)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    path = tmp_path / "tiny"
    if not _mount_tmpfs(path, "size=64k"):
        pytest.skip("mounting a 64 kB tmpfs needs root and mount(8)")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def test_read_only_store_is_found_before_computing(read_only_dir, monkeypatch):
    _never_compute(monkeypatch)
    with pytest.raises(ParameterError, match=f"{read_only_dir}.*probe write failed.*"
                                             "(Read-only|Permission denied)"):
        kubo_sot.sweep(BASE, GRID, store=read_only_dir)
    with pytest.raises(ParameterError, match="cannot create the directory"):
        kubo_sot.sweep(BASE, GRID, store=read_only_dir / "sub")


def test_full_disk_is_found_before_computing(tmp_path, monkeypatch):
    """ENOSPC at the probe's write or fsync (portable: os.write / os.fsync patched)."""
    _never_compute(monkeypatch)

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    for name in ("write", "fsync"):
        with monkeypatch.context() as m:
            m.setattr(store_module.os, name, full)
            with pytest.raises(ParameterError, match="probe write failed: No space left"):
                kubo_sot.sweep(BASE, GRID, store=tmp_path / name)
        assert not [f for f in (tmp_path / name).iterdir() if f.name.startswith(".probe")]


def test_disk_full_while_writing_a_point_names_the_store(tmp_path, monkeypatch):
    db = PointStore(tmp_path)
    monkeypatch.setattr(store_module.os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    with pytest.raises(ParameterError, match=f"{tmp_path}.*cannot write point.*No space"):
        db.put("e" * 32, {"a": 1}, {"b": 2})
    assert not list(tmp_path.glob("*.tmp"))


def test_tmpfs_too_small_for_the_sweep(tiny_tmpfs, monkeypatch):
    _never_compute(monkeypatch)
    with pytest.raises(ParameterError, match=f"{tiny_tmpfs}: 40 points need about 320 kB"
                                             ".*64 kB free"):
        kubo_sot.sweep(BASE, LONG_GRID, store=tiny_tmpfs)


def test_tmpfs_that_fills_up_gives_a_clear_error(tiny_tmpfs):
    """The store passed its checks, then another writer fills the disk: the point's write
    fails with a ParameterError naming the store, not a raw OSError, and leaves no
    temporary file."""
    db = PointStore(tiny_tmpfs / "s")
    with pytest.raises(OSError, match="No space left"):
        with open(tiny_tmpfs / "filler", "wb") as fh:
            for _ in range(64):
                fh.write(b"\0" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
    with pytest.raises(ParameterError, match="cannot write point.*No space left"):
        db.put("f" * 32, {"x": 1}, {"y": list(range(5000))})
    assert not list((tiny_tmpfs / "s").glob("*.tmp"))


def test_store_path_that_is_a_file(tmp_path, monkeypatch):
    _never_compute(monkeypatch)
    f = tmp_path / "file"
    f.write_text("not a store")
    with pytest.raises(ParameterError, match=f"{f} exists and is not a directory"):
        kubo_sot.sweep(BASE, GRID, store=f)
    with pytest.raises(ParameterError, match="cannot create the directory"):
        kubo_sot.sweep(BASE, GRID, store=f / "sub")


CONFIG = """
[model]
alpha = 0.1
exchange = 0.1
magnetization = [1, 0, 0]
[response]
broadening = BROADENING
rtol = 1e-3
[grid]
fermi_energy = GRID
[output]
quantities = ["conductivity"]
"""


def _config(tmp_path, broadening=0.02, grid="[0.2, 0.3]", name="c.toml"):
    cfg = tmp_path / name
    cfg.write_text(CONFIG.replace("BROADENING", str(broadening)).replace("GRID", grid))
    return cfg


def test_cli_unwritable_out_is_found_before_computing(tmp_path, read_only_dir, capsys,
                                                      monkeypatch):
    """--out (its folder probed by the CLI) and the store (probed by the sweep)."""
    from kubo_sot.cli import main
    _never_compute(monkeypatch)
    cfg = _config(tmp_path)
    out = read_only_dir / "r.nc"
    assert main(["sweep", str(cfg), "--out", str(out), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and ("Read-only" in err or "Permission denied" in err)
    assert main(["sweep", str(cfg), "--out", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "missing" / "r.nc")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "r.nc"),
                 "--store", str(read_only_dir / "s")]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint store {read_only_dir / 's'}" in err
    assert "Read-only" in err or "Permission denied" in err


# -- processes: kill -9, Ctrl-C --------------------------------------------------------------

def _children(pid):
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def _wait_for_points(store, n, proc):
    deadline = time.time() + START_TIMEOUT
    while time.time() < deadline and len(_points(store)) < n:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert len(_points(store)) >= n, "the sweep stored no point in time"


KILLED = """
import sys, json, kubo_sot
kubo_sot.sweep(json.loads(sys.argv[1]), json.loads(sys.argv[2]), store=sys.argv[3],
               backend="joblib", n_jobs=2)
"""
# Workers must be gone within this time after their sweep was killed (acceptance: 10 s;
# they check their parent every PARENT_POLL_SECONDS).
ORPHAN_DEADLINE = 10.0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_workers_end_when_the_sweep_is_killed(tmp_path):
    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, json.dumps(BASE),
                             json.dumps(LONG_GRID), str(store)], env=ENV)
    _wait_for_points(store, 2, proc)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the joblib workers are children of the sweep"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(_points(store)) < 40, "kill the sweep while it runs"
    deadline = time.time() + ORPHAN_DEADLINE
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if _alive(w)]
    for w in alive:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert not alive, f"workers {alive} still alive {ORPHAN_DEADLINE} s after kill -9"


def test_ctrl_c_tells_how_many_points_are_stored_and_exits_130(tmp_path):
    grid = "[" + ", ".join(f"{x:.4f}" for x in np.linspace(0.05, 0.4, 40)) + "]"
    cfg = _config(tmp_path, grid=grid)
    out, store = tmp_path / "r.nc", tmp_path / "r.nc.store"
    proc = subprocess.Popen([sys.executable, "-m", "kubo_sot.cli", "sweep", str(cfg),
                             "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for_points(store, 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    n = len(_points(store))
    assert 1 <= n < 40
    lines = [line for line in stderr.splitlines() if "points stored" in line]
    assert lines == [f"{n} points stored in {store}; rerun the same command with --resume"]
    assert "Traceback" not in stderr and not out.exists()


def test_changed_config_on_resume_is_reported(tmp_path):
    from kubo_sot.cli import main
    out = tmp_path / "r.nc"
    assert main(["sweep", str(_config(tmp_path)), "--out", str(out)]) == 0
    changed = _config(tmp_path, broadening=0.03, grid="[0.2, 0.3, 0.4]", name="d.toml")
    done = subprocess.run([sys.executable, "-m", "kubo_sot.cli", "sweep", str(changed),
                           "--out", str(out), "--resume"], env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (f"kubo-sot: warning: checkpoint store {out}.store holds 2 points of another "
            "configuration") in done.stderr
    assert "; 0 of this one" in done.stderr
    assert "3 points computed, 0 reused" in done.stdout


# -- Dask ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=":0") as client:  # any free port
        yield client


def test_dask_batches_single_points_like_joblib(dask_client, monkeypatch, tmp_path):
    submitted = []
    real = dask_client.submit

    def submit(fn, *args, **kwargs):
        submitted.append(args[0])
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(dask_client, "submit", submit)
    grid = {"fermi_energy": list(np.linspace(0.05, 0.4, 10)),
            "magnetization_azimuth_deg": [0.0, 60.0]}  # 20 single-point tasks
    ds = kubo_sot.sweep(BASE, grid, backend="dask", client=dask_client, store=tmp_path)
    workers = sum(dask_client.nthreads().values())
    assert len(submitted) == min(20, CHUNKS_PER_WORKER * workers) < 20
    assert sorted(i for chunk in submitted for task in chunk for i in task[0]) == \
        list(range(20))
    assert ds.attrs["points_computed"] == 20 and len(_points(tmp_path)) == 20
    serial = kubo_sot.sweep(BASE, grid)
    _same_numbers(ds, serial)


def test_dask_points_reach_the_store_as_they_finish(dask_client, monkeypatch, tmp_path):
    """A chunk (one task on the cluster: four points) interrupted at its third point has
    stored its first two: the worker writes them as they finish, not the client when the
    chunk returns."""
    real = runner.evaluate_points
    calls, submitted = [], []
    real_submit = dask_client.submit
    monkeypatch.setattr(dask_client, "submit",
                        lambda fn, *a, **k: submitted.append(a[0]) or real_submit(fn, *a, **k))

    def evaluate(specs_of_task, factory=None):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return real(specs_of_task, factory)

    monkeypatch.setattr(runner, "evaluate_points", evaluate)
    monkeypatch.setattr(runner, "interleaved_chunks", lambda items, n: [items])  # one chunk
    with pytest.raises(RuntimeError, match="worker lost"):
        kubo_sot.sweep(BASE, {"fermi_energy": [0.1, 0.2, 0.3, 0.4]}, backend="dask",
                       client=dask_client, store=tmp_path)
    assert len(submitted) == 1 and len(_points(tmp_path)) == 2


def test_dask_workers_without_the_store_leave_the_writing_to_the_client(dask_client,
                                                                       monkeypatch,
                                                                       tmp_path):
    """A worker on another file system (it does not see the store's directory) returns its
    points, and the client stores them."""
    monkeypatch.setattr(runner, "_open_store", lambda store: None)
    ds = kubo_sot.sweep(BASE, GRID, backend="dask", client=dask_client, store=tmp_path)
    assert ds.attrs["points_computed"] == 2 and len(_points(tmp_path)) == 2
    again = kubo_sot.sweep(BASE, GRID, store=tmp_path)
    assert again.attrs["points_reused"] == 2
    _same_numbers(ds, again)
