"""Sweeps: checkpoint/resume after SIGKILL, identical back ends, config errors, plots."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
from kubo_sot import ParameterError
from kubo_sot.sweep import runner

xr = pytest.importorskip("xarray")

BASE = dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0), broadening=0.02, rtol=1e-3)
GRID = {"fermi_energy": list(np.linspace(0.05, 0.4, 8)),
        "magnetization_azimuth_deg": [0.0, 30.0, 60.0, 120.0, 150.0]}  # 40 points

SCRIPT = """
import sys, kubo_sot, json
base, grid = json.loads(sys.argv[1]), json.loads(sys.argv[2])
kubo_sot.sweep(base, grid, store=sys.argv[3])
"""


def _store_files(path):
    return sorted(Path(path).glob("*.json"))


@pytest.mark.slow
def test_killed_sweep_resumes_without_loss_or_recomputation(tmp_path):
    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, json.dumps(BASE),
                             json.dumps(GRID), str(store)])
    deadline = time.time() + 120
    while time.time() < deadline and len(_store_files(store)) < 8:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {f.name: f.stat().st_mtime_ns for f in _store_files(store)}
    assert 8 <= len(before) < 40, "kill the sweep while it runs"
    for f in _store_files(store):  # no truncated file
        json.loads(f.read_text())

    resumed = kubo_sot.sweep(BASE, GRID, store=store)
    assert resumed.attrs["points_reused"] == len(before)
    assert resumed.attrs["points_computed"] == 40 - len(before)
    after = {f.name: f.stat().st_mtime_ns for f in _store_files(store)}
    assert len(after) == 40 and not list(store.glob("*.tmp"))
    assert all(after[name] == mtime for name, mtime in before.items())  # not rewritten

    fresh = kubo_sot.sweep(BASE, GRID, store=tmp_path / "fresh")
    for name in fresh.data_vars:
        assert np.array_equal(fresh[name].values, resumed[name].values, equal_nan=True), name


def test_changed_input_never_reuses_a_point(tmp_path):
    grid = {"fermi_energy": [0.2, 0.3]}
    first = kubo_sot.sweep(BASE, grid, store=tmp_path)
    again = kubo_sot.sweep(BASE, grid, store=tmp_path)
    assert again.attrs["points_reused"] == 2 and again.attrs["points_computed"] == 0
    with pytest.warns(kubo_sot.errors.StoreWarning, match="2 points of another configur"):
        changed = kubo_sot.sweep({**BASE, "rtol": 5e-4}, grid, store=tmp_path)
    assert changed.attrs["points_computed"] == 2
    assert first.rho_ee.shape == (2,)


@pytest.mark.slow
def test_backends_give_the_same_dataset(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"fermi_energy": [0.1, 0.3], "magnetization_polar_deg": [0.0, 45.0, 90.0]}
    serial = kubo_sot.sweep(BASE, grid, backend="serial")
    joblib = kubo_sot.sweep(BASE, grid, backend="joblib", n_jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = kubo_sot.sweep(BASE, grid, backend="dask", client=client)
    for other in (joblib, dask):
        for name in serial.data_vars:
            a, b = serial[name].values, other[name].values
            scale = np.nanmax(np.abs(a)) or 1.0
            assert np.allclose(a, b, rtol=0, atol=1e-12 * scale, equal_nan=True), name


def test_dataset_and_netcdf_round_trip(tmp_path):
    ds = kubo_sot.sweep(BASE, {"fermi_energy": [0.2, 0.3]},
                        quantities=["torkance", "torque", "resistivity"])
    assert ds["torkance_total"].dims == ("fermi_energy", "torque_component", "field")
    assert ds["torkance_total"].attrs["units"] == "e/nm"
    assert ds["fermi_energy"].attrs["units"] == "eV"
    assert ds.attrs["version"] == kubo_sot.__version__ and ds.attrs["rtol"] == 1e-3
    total = ds["torkance_fermi_surface"] + ds["torkance_fermi_sea"]
    assert np.allclose(total, ds["torkance_total"], rtol=0, atol=1e-13)
    # one library call per point gives the same numbers
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))
    r = kubo_sot.linear_response(model, 0.3, 0.02, rtol=1e-3)
    assert np.array_equal(ds["torkance_total"].sel(fermi_energy=0.3).values, r.torkance.total)
    path = tmp_path / "r.nc"
    ds.to_netcdf(path)
    with xr.open_dataset(path) as back:
        assert np.array_equal(back["torkance_total"].values, ds["torkance_total"].values)
        assert back.attrs["numerics_version"] == ds.attrs["numerics_version"]


def test_explicit_point_list():
    ds = kubo_sot.sweep(BASE, points=[{"fermi_energy": 0.2}, {"fermi_energy": 0.3,
                                                               "broadening": 0.03}],
                        quantities=["conductivity"])
    assert ds.sizes["point"] == 2 and list(ds["broadening"].values) == [0.02, 0.03]


@pytest.mark.parametrize("kwargs, words", [
    (dict(grid={"fermi_energy": []}), ["empty"]),
    (dict(grid={}), ["empty"]),
    (dict(grid={"gamma": [0.1]}), ["gamma", "allowed"]),
    (dict(grid={"broadening": [0.01, -0.01], "fermi_energy": [0.2]}), ["broadening", "eV"]),
    (dict(grid={"fermi_energy": [0.2, -5.0]}), ["fermi_energy", "band bottom"]),
    (dict(grid={"fermi_energy": [0.2]}, quantities=["heat"]), ["quantities"]),
    (dict(grid={"fermi_energy": [0.2]}, backend="mpi"), ["backend"]),
])
def test_bad_sweeps_fail_before_computing(kwargs, words, monkeypatch):
    monkeypatch.setattr(runner, "evaluate_points", lambda *a: pytest.fail("computed"))
    with pytest.raises(ParameterError) as err:
        kubo_sot.sweep(BASE, **kwargs)
    for w in words:
        assert w in str(err.value)


CONFIG = """
[model]
alpha = 0.1
exchange = 0.1
magnetization = [1, 0, 0]
[response]
broadening = 0.02
rtol = 1e-3
[grid]
fermi_energy = {start = 0.1, stop = 0.3, num = 3}
"""


@pytest.mark.parametrize("edit, words", [
    (("[output]", "[output]\ncolour = 'red'"), ["colour"]),
    (("broadening = 0.02", "broadening = '20 meV'"), ["broadening", "plain number", "eV"]),
    (("broadening = 0.02", "broadening = 0.02\nbroadenning = 0.01"), ["broadenning"]),
    (("num = 3", "num = 0"), ["num", "empty"]),
    (("fermi_energy = {start = 0.1, stop = 0.3, num = 3}", "fermi_energy = []"), ["empty"]),
    (("broadening = 0.02", "broadening = -0.02"), ["broadening", "eV"]),
])
def test_bad_config_gets_a_clear_error(tmp_path, edit, words, capsys, monkeypatch):
    from kubo_sot.cli import main
    monkeypatch.setattr(runner, "evaluate_points", lambda *a: pytest.fail("computed"))
    text = CONFIG + "[output]\nquantities = ['conductivity']\n"
    text = text.replace(*edit)
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "r.nc")]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


def test_cli_sweep_resume_and_plot(tmp_path, capsys):
    from kubo_sot.cli import main
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "r.nc"
    assert main(["sweep", str(cfg), "--out", str(out)]) == 0
    assert main(["sweep", str(cfg), "--out", str(out)]) == 2  # store exists, no --resume
    assert main(["sweep", str(cfg), "--out", str(out), "--resume"]) == 0
    assert "0 points computed, 3 reused" in capsys.readouterr().out
    png = tmp_path / "p.png"
    assert main(["plot", str(out), "--y", "conductivity_total:x,x", "--out", str(png)]) == 0
    assert png.stat().st_size > 5000
    assert main(["plot", str(out), "--y", "rho_ee", "--relative-to", "fermi_energy=0.1",
                 "--out", str(png)]) == 0
    assert main(["plot", str(out), "--y", "nonsense"]) == 2


def test_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r"kubo_sot\[io\]"):
        kubo_sot.sweep(BASE, {"fermi_energy": [0.2]})


def test_sweep_with_white_noise_and_vertex_corrections(tmp_path):
    """The disorder settings reach linear_response: the swept values equal direct calls,
    they key the checkpoint (a different setting is a different point), and an invalid
    combination is refused before anything runs."""
    base = dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1), broadening=0.005,
                rtol=1e-6, disorder="white_noise", vertex_corrections=True)
    grid = {"fermi_energy": [0.05, 0.3]}
    ds = kubo_sot.sweep(base, grid, quantities=("torque",), store=tmp_path / "s")
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    for i, mu in enumerate(grid["fermi_energy"]):
        r = kubo_sot.linear_response(
            model, mu, kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.005, model), rtol=1e-6,
            vertex_corrections=True)
        assert ds["field_like_total"].values[i] == r.torque_coefficients().field_like
    assert ds.attrs["disorder"] == "white_noise" and ds.attrs["vertex_corrections"] == 1
    with pytest.warns(kubo_sot.errors.StoreWarning, match="2 points of another configur"):
        bare = kubo_sot.sweep({**base, "vertex_corrections": False}, grid,
                              quantities=("torque",), store=tmp_path / "s")
    assert bare.attrs["points_computed"] == 2  # not reused from the dressed points
    assert not np.allclose(bare["damping_like_total"], ds["damping_like_total"])
    with pytest.raises(ParameterError, match="needs disorder = 'white_noise'"):
        kubo_sot.sweep({**base, "disorder": "constant_gamma"}, grid)
    with pytest.raises(ParameterError, match="disorder = 'gaussian' is not one of"):
        kubo_sot.sweep({**base, "disorder": "gaussian"}, grid)


def test_joblib_chunk_stores_each_point_when_finished(tmp_path, monkeypatch):
    """A joblib task evaluates a chunk of points; each is in the store as soon as it is
    finished, so a chunk interrupted at its third point keeps the first two."""
    from kubo_sot.sweep.grid import expand
    from kubo_sot.sweep.store import PointStore, point_key
    _, specs = expand(BASE, {"fermi_energy": [0.1, 0.2, 0.3, 0.4]}, None)
    keys = [point_key(s) for s in specs]
    calls = []

    def evaluate(specs_of_task, factory=None):
        calls.append(specs_of_task[0]["fermi_energy"])
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return [{"fermi_energy": spec["fermi_energy"]} for spec in specs_of_task]

    monkeypatch.setattr(runner, "evaluate_points", evaluate)
    with pytest.raises(KeyboardInterrupt):
        runner._chunk_task([([i], [specs[i]], [keys[i]]) for i in range(4)], None,
                           str(tmp_path))
    store = PointStore(tmp_path)
    assert store.keys() == set(keys[:2])
    assert store.get(keys[1]) == {"fermi_energy": specs[1]["fermi_energy"]}


def test_joblib_sweep_with_store_writes_every_point_once(tmp_path):
    grid = {"fermi_energy": [0.1, 0.2, 0.3, 0.4, 0.5]}
    ds = kubo_sot.sweep(BASE, grid, backend="joblib", n_jobs=2, store=tmp_path)
    assert ds.attrs["points_computed"] == 5 and len(_store_files(tmp_path)) == 5
    again = kubo_sot.sweep(BASE, grid, backend="serial", store=tmp_path)
    assert again.attrs["points_reused"] == 5
    for name in ds.data_vars:
        assert np.array_equal(ds[name].values, again[name].values, equal_nan=True), name


def test_fermi_energies_share_one_sweep():
    """Points equal but for the Fermi energy (M along z, constant Gamma, one temperature)
    form one task per Gamma; the other points stay alone.  The grouped results agree with the
    point-by-point ones within the sum of their error estimates (+ 1e-12 of the largest
    element: rounding), share their k-points, and are the same on joblib workers."""
    from kubo_sot.sweep.evaluate import fermi_energy_groups
    from kubo_sot.sweep.grid import expand
    base = dict(alpha=0.05, exchange=0.2, magnetization=(0, 0, 1), rtol=1e-6)
    grid = {"broadening": [0.005, 0.01], "fermi_energy": list(np.linspace(-0.1, 0.4, 9))}
    _, specs = expand(base, grid, None)
    tasks = fermi_energy_groups(range(len(specs)), specs)
    assert sorted(len(t) for t in tasks) == [9, 9]
    assert all(len({specs[i]["broadening"] for i in t}) == 1 for t in tasks)
    # At 300 K one task per Gamma too (the thermal sweep, where its grid is coarse enough);
    # with white noise, or with fewer than 8 energies: every point alone.
    _, warm = expand({**base, "temperature": 300.0}, grid, None)
    assert sorted(len(t) for t in fermi_energy_groups(range(len(warm)), warm)) == [9, 9]
    _, other = expand({**base, "disorder": "white_noise"}, grid, None)
    assert all(len(t) == 1 for t in fermi_energy_groups(range(len(other)), other))
    assert all(len(t) == 1 for t in fermi_energy_groups(range(7), specs))

    shared = kubo_sot.sweep(base, grid)
    alone = kubo_sot.sweep(base, grid, share_kpoints=False)
    workers = kubo_sot.sweep(base, grid, backend="joblib", n_jobs=2)
    for name in ("conductivity", "spin_density", "torkance"):
        a, b = shared[f"{name}_total"].values, alone[f"{name}_total"].values
        bound = (shared[f"{name}_error"].values + alone[f"{name}_error"].values
                 + 1e-12 * np.max(np.abs(b)))
        assert np.all(np.abs(a - b) <= bound), name
        assert np.array_equal(a, workers[f"{name}_total"].values), name
    kpoints = shared["n_kpoints"].values
    assert np.all(kpoints == kpoints[:, :1]) and not np.all(alone["n_kpoints"].values
                                                            == alone["n_kpoints"].values[:, :1])
