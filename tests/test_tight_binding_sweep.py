"""Tight-binding models in sweeps and on the command line (issue 17, "one model everywhere").

The model of every test is the square-lattice Rashba ferromagnet written as hoppings
(t = 1 eV, a = 0.4 nm, alpha = 0.3 eV nm, J = 0.3 eV), from a factory or from the Wannier90
file examples/data/square_rashba_hr.dat (write_model_hr of that model at M = x).  Gamma =
0.2 eV and rtol = 1e-3 keep a point near one second.

Two routes for every number: a sweep point is the same computation as linear_response on
the same model (bit-identical); the file read back at another M (H0 = H_file - M_file.X,
X = -J s) agrees with the factory's model at that M within the stated errors, and at
M = M_file the file's plain H (no exchange) gives the same sigma and spin density.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
from kubo_sot import ParameterError
from kubo_sot._parallel import single_blas_thread
from kubo_sot.models.lattices import honeycomb_kane_mele_ferromagnet, square_rashba_ferromagnet
from kubo_sot.models.wannier90 import write_model_hr
from kubo_sot.sweep import evaluate, runner
from kubo_sot.sweep.grid import expand
from kubo_sot.sweep.store import point_key

xr = pytest.importorskip("xarray")

ROOT = Path(__file__).resolve().parents[1]
HR_DATA = ROOT / "examples" / "data" / "square_rashba_hr.dat"
PARAMETERS = dict(hopping=1.0, lattice_constant=0.4, alpha=0.3, exchange=0.3)
LATTICE = [[0.4, 0.0], [0.0, 0.4]]
RESPONSE = dict(broadening=0.2, rtol=1e-3)
HR_MODEL = dict(hr_file=str(HR_DATA), spin_operators="interleaved", lattice_vectors=LATTICE,
                exchange=0.3, file_magnetization=[1.0, 0.0, 0.0])
FACTORY_SOURCE = f"""
from kubo_sot.models.lattices import square_rashba_ferromagnet


def square(*, magnetization):
    return square_rashba_ferromagnet(**{PARAMETERS!r}, magnetization=magnetization)
"""
TENSORS = ("conductivity", "spin_density", "torkance")


def _response(model, mu):
    """linear_response as a sweep computes a tight-binding point: one BLAS thread."""
    with single_blas_thread():
        return kubo_sot.linear_response(model, mu, 0.2, rtol=1e-3)


@pytest.fixture(scope="module")
def factory_dir(tmp_path_factory):
    """A folder holding the user's module tb_sweep_factory.py (importable through
    sys.path here, through PYTHONPATH in subprocesses)."""
    folder = tmp_path_factory.mktemp("factory")
    (folder / "tb_sweep_factory.py").write_text(FACTORY_SOURCE)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


def _assert_same(ds_point, r):
    """The sweep's point is linear_response's result, bit for bit."""
    for name in TENSORS:
        for part in ("total", "fermi_surface", "fermi_sea", "error"):
            np.testing.assert_array_equal(ds_point[f"{name}_{part}"].values,
                                          getattr(getattr(r, name), part), err_msg=name)


def _assert_within_errors(a, b, names=TENSORS):
    """Two results of one model by two routes agree within their summed error estimates."""
    for name in names:
        ta, tb = getattr(a, name), getattr(b, name)
        excess = np.abs(ta.total - tb.total) - (ta.error + tb.error)
        assert np.all(excess <= 0), (name, ta.total - tb.total, ta.error + tb.error)


def test_factory_sweep_is_linear_response_on_the_same_model(factory_dir):
    ds = kubo_sot.sweep({"factory": "tb_sweep_factory:square", "magnetization": [0, 0, 1],
                         **RESPONSE}, {"fermi_energy": [0.5, 1.0]})
    model = square_rashba_ferromagnet(**PARAMETERS, magnetization=(0, 0, 1))
    for mu in (0.5, 1.0):
        r = _response(model, mu)
        point = ds.sel(fermi_energy=mu)
        _assert_same(point, r)
        assert point["n_kpoints"] == r.provenance["n_kpoints"]
        assert point["electron_density"] == pytest.approx(sum(r.bands.occupations), rel=1e-15)
    assert "alpha_kF_over_J" not in ds and "tb_sweep_factory:square" in ds.attrs["model"]


def test_hr_file_sweep_rotates_m_and_backends_agree_bitwise():
    base = {**HR_MODEL, "magnetization": [0, 0, 1], "fermi_energy": 1.0, **RESPONSE}
    grid = {"magnetization_polar_deg": [0.0, 90.0]}
    serial = kubo_sot.sweep(base, grid)
    parallel = kubo_sot.sweep(base, grid, backend="joblib", n_jobs=2)
    with single_blas_thread() as pinned:
        pass
    for name in serial.data_vars:
        a, b = serial[name].values, parallel[name].values
        # Without threadpoolctl the sweep's own process keeps its BLAS threads, whose
        # matrix products round differently: equal to rounding (1e-12 of the largest
        # element of the quantity, all its parts) only.
        family = re.sub(r"_(total|fermi_surface|fermi_sea|error)$", "", name)
        scale = max(np.max(np.abs(serial[v].values)) for v in serial.data_vars
                    if v.startswith(family))
        atol = 0.0 if pinned else 1e-12 * scale
        np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=name)
    # M rotated from the file's x to z: H0 = H_file - M_file.X recovered (independent
    # model: the factory's hoppings at M = z).
    from_file = kubo_sot.TightBindingModel.from_wannier90(
        HR_DATA, lattice_vectors=LATTICE, spin_operators="interleaved", exchange=0.3,
        magnetization=(1, 0, 0))
    r_file = _response(dataclasses.replace(from_file, magnetization=(0, 0, 1)), 1.0)
    _assert_same(serial.sel(magnetization_polar_deg=0.0), r_file)
    r_factory = _response(square_rashba_ferromagnet(**PARAMETERS, magnetization=(0, 0, 1)), 1.0)
    _assert_within_errors(r_file, r_factory)
    # At M = M_file the file's own H, read without any exchange, is the same Hamiltonian.
    plain = kubo_sot.TightBindingModel.from_wannier90(HR_DATA, lattice_vectors=LATTICE,
                                                      spin_operators="interleaved")
    r_plain = _response(plain, 1.0)
    in_plane = serial.sel(magnetization_polar_deg=90.0)
    for name in ("conductivity", "spin_density"):
        total = getattr(r_plain, name)
        excess = (np.abs(in_plane[f"{name}_total"].values - total.total)
                  - in_plane[f"{name}_error"].values - total.error)
        assert np.all(excess <= 0), name


def _copy_model(folder):
    path = Path(folder) / "model_hr.dat"
    shutil.copy(HR_DATA, path)
    return path


def test_store_resumes_and_a_changed_file_is_a_new_point(tmp_path):
    hr = _copy_model(tmp_path)
    base = {**HR_MODEL, "hr_file": str(hr), "magnetization": [0, 0, 1], **RESPONSE}
    grid = {"fermi_energy": [1.0]}
    store = tmp_path / "store"
    first = kubo_sot.sweep(base, grid, store=store)
    again = kubo_sot.sweep(base, grid, store=store)
    assert (first.attrs["points_computed"], again.attrs["points_reused"]) == (1, 1)
    assert again.attrs["points_computed"] == 0
    np.testing.assert_array_equal(first.torkance_total.values, again.torkance_total.values)
    key = point_key(expand(base, grid)[1][0])
    # Another hopping t = 1.1 eV in the same file name: a new key, computed, not reused.
    write_model_hr(hr, square_rashba_ferromagnet(**{**PARAMETERS, "hopping": 1.1},
                                                 magnetization=(1, 0, 0)))
    assert point_key(expand(base, grid)[1][0]) != key
    with pytest.warns(kubo_sot.errors.StoreWarning, match="1 points of another configur"):
        changed = kubo_sot.sweep(base, grid, store=store)
    assert changed.attrs["points_computed"] == 1
    assert not np.allclose(changed.conductivity_total.values, first.conductivity_total.values,
                           rtol=1e-2)


def test_a_file_changed_during_the_sweep_is_an_error(tmp_path):
    hr = _copy_model(tmp_path)
    spec = expand({**HR_MODEL, "hr_file": str(hr), "magnetization": [0, 0, 1],
                   "fermi_energy": 1.0, **RESPONSE}, {"fermi_energy": [1.0]})[1][0]
    evaluate.build_model(spec)  # read and cached in this process
    text = hr.read_text()
    changed = text.replace("-1.0000000000000000e+00", "-1.0000000000000002e+00", 1)
    assert changed != text  # one hopping changed by one ulp
    hr.write_text(changed)
    os.utime(hr, ns=(1, 1))  # another mtime even on a coarse clock
    with pytest.raises(ParameterError, match="changed after the sweep's points"):
        evaluate.build_model(spec)
    hr.unlink()
    with pytest.raises(ParameterError, match="cannot be read any more"):
        evaluate.build_model(spec)


CONFIG = """
[model]
hr_file = "data/model_hr.dat"
spin_operators = "interleaved"
lattice_vectors = [[0.4, 0.0], [0.0, 0.4]]
exchange = 0.3
file_magnetization = [1, 0, 0]
magnetization = [0, 0, 1]
[response]
broadening = 0.2
rtol = 1e-3
fermi_energy = 1.0
[grid]
magnetization_polar_deg = [0]
[output]
quantities = ["conductivity", "torque"]
"""


@pytest.fixture
def config(tmp_path):
    (tmp_path / "data").mkdir()
    _copy_model(tmp_path / "data")
    path = tmp_path / "tb.toml"
    path.write_text(CONFIG)
    return path


def test_relative_hr_file_is_taken_from_the_toml_folder(config, monkeypatch, tmp_path):
    from kubo_sot.sweep.config import load_config
    monkeypatch.chdir(ROOT)  # not the TOML's folder
    base, grid, _ = load_config(config)
    assert base["hr_file"] == str(tmp_path.resolve() / "data" / "model_hr.dat")
    spec = expand(base, grid)[1][0]
    assert spec["model"]["hr_file_sha256"] == expand(
        {**base, "hr_file": str(HR_DATA)}, grid)[1][0]["model"]["hr_file_sha256"]


@pytest.mark.parametrize("edit, words", [
    (('spin_operators = "interleaved"', 'spin_operators = "interleaved"\nhr_fille = "x"'),
     ["hr_fille", "unknown"]),
    (('hr_file = "data/model_hr.dat"', "hr_file = 3"), ["hr_file", "string"]),
    (('hr_file = "data/model_hr.dat"', 'hr_file = "data/missing_hr.dat"'),
     ["hr_file", "missing_hr.dat", "does not exist"]),
    (('spin_operators = "interleaved"', 'spin_operators = "up-down"'),
     ["spin_operators", "up-down", "blocks"]),
    (('spin_operators = "interleaved"', "spin_operators = 1"), ["spin_operators", "string"]),
    (("lattice_vectors = [[0.4, 0.0], [0.0, 0.4]]", "lattice_vectors = [[0.4, 0.0]]"),
     ["lattice_vectors", "nm"]),
    (("lattice_vectors = [[0.4, 0.0], [0.0, 0.4]]", "lattice_vectors = [['a', 0], [0, 1]]"),
     ["lattice_vectors", "plain number"]),
    (("file_magnetization = [1, 0, 0]", "file_magnetization = [1, 1, 0]"),
     ["file_magnetization", "unit"]),
    (("file_magnetization = [1, 0, 0]\n", ""), ["exchange", "file_magnetization"]),
    (("exchange = 0.3", "exchange = 0.3\nalpha = 0.1"), ["alpha", "do not apply"]),
    (('hr_file = "data/model_hr.dat"', 'hr_file = "data/model_hr.dat"\nfactory = "a.b:c"'),
     ["hr_file", "factory", "not both"]),
    (("[model]", '[model]\nmodel = "wannier"'), ["model", "wannier", "tight_binding"]),
    (("rtol = 1e-3", "rtol = 1e-3\ndisorder = 'white_noise'"), ["white_noise"]),
    (("magnetization_polar_deg = [0]", "exchange = [0.1, 0.2]"), ["exchange", "cannot be swept"]),
])
def test_bad_model_keys_name_the_key(config, edit, words, capsys, monkeypatch):
    from kubo_sot.cli import main
    monkeypatch.setattr(runner, "evaluate_points", lambda *a: pytest.fail("computed"))
    text = CONFIG.replace(*edit)
    assert text != CONFIG
    config.write_text(text)
    assert main(["sweep", str(config), "--out", str(config.parent / "r.nc")]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, (w, err)


@pytest.mark.parametrize("name, words", [
    ("no_colon", ["factory", "package.module:function"]),
    ("tb_sweep_no_such_module:square", ["cannot import", "PYTHONPATH"]),
    ("tb_sweep_factory:cube", ["no callable", "cube"]),
    ("kubo_sot.models.lattices:honeycomb_valleys", ["magnetization=M"]),
])
def test_bad_factories_are_parameter_errors(factory_dir, name, words):
    with pytest.raises(ParameterError) as err:
        kubo_sot.sweep({"factory": name, "magnetization": [0, 0, 1], **RESPONSE},
                       {"fermi_energy": [1.0]})
    for w in words:
        assert w in str(err.value)


def _run_cli(*args, cwd, pythonpath=()):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *map(str, pythonpath),
                                                       os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "kubo_sot.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_cli_sweep_and_response_of_a_tight_binding_model(config, tmp_path, factory_dir):
    out = tmp_path / "tb.nc"
    p = _run_cli("sweep", str(config), "--out", str(out), "--backend", "serial", cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "1 points computed" in p.stdout
    model = square_rashba_ferromagnet(**PARAMETERS, magnetization=(0, 0, 1))
    r = kubo_sot.linear_response(model, 1.0, 0.2, rtol=1e-3)
    with xr.open_dataset(out) as ds:
        _assert_within_errors(_Tensors(ds.isel(magnetization_polar_deg=0)), r,
                              names=("conductivity",))
    # response --model-config: a factory's model; its JSON is linear_response's result
    # (repr round-trips the floats), with --magnetization replacing the table's M.
    factory = tmp_path / "factory.toml"
    factory.write_text('[model]\nfactory = "tb_sweep_factory:square"\nmagnetization = [1, 0, 0]\n')
    p = _run_cli("response", "--model-config", str(factory), "--magnetization", "0,0,1",
                 "--fermi-energy", "1.0", "--broadening", "0.2", "--rtol", "1e-3", "--json",
                 cwd=tmp_path, pythonpath=[factory_dir])
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    for name in TENSORS:
        np.testing.assert_array_equal(np.array(data[name]["total"]),
                                      getattr(r, name).total, err_msg=name)


class _Tensors:
    """A dataset point seen as a LinearResponse (total and error of each tensor)."""

    def __init__(self, point):
        self.point = point

    def __getattr__(self, name):
        class T:
            total = self.point[f"{name}_total"].values
            error = self.point[f"{name}_error"].values
        return T


def test_cli_errors_of_tight_binding_models_exit_2(config, tmp_path):
    config.write_text(CONFIG.replace('spin_operators = "interleaved"',
                                     'spin_operators = "sideways"'))
    p = _run_cli("sweep", str(config), "--out", str(tmp_path / "r.nc"), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    assert "spin_operators" in p.stderr and "sideways" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1



@pytest.mark.parametrize("args, words", [
    (["--alpha", "0.2"], ["--alpha", "--model-config"]),
    (["--white-noise"], ["white_noise", "constant_gamma"]),
])
def test_response_model_config_errors(config, args, words, capsys):
    from kubo_sot.cli import main
    assert main(["response", "--model-config", str(config), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err, (w, err)
    assert main(["response", "--model-config", str(config.parent / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err


def test_example_configurations_load():
    """The shipped examples parse and name existing files (running them takes minutes)."""
    from kubo_sot.sweep.config import load_config
    for name in ("sweep_tight_binding.toml", "sweep_wannier90.toml"):
        base, grid, _ = load_config(ROOT / "examples" / name)
        specs = expand(base, grid)[1]
        assert all(s["model"]["type"] == "tight_binding" for s in specs)
        evaluate.check_point(specs[0])


def test_files_read_with_the_hr_file_are_in_the_key_and_positions_reach_the_model(tmp_path):
    """A honeycomb model (two sites per cell) through an hr_file: with orbital_positions
    given its velocity has the intracell term (equal to the original model's), and the
    lattice from seedname_tb.dat and the centres from seedname_centres.xyz are hashed."""
    from kubo_sot.models.lattices import honeycomb_example
    original = honeycomb_example(magnetization=(0, 0, 1))
    hr = tmp_path / "hc_hr.dat"
    write_model_hr(hr, original)
    positions = original.orbital_positions.tolist()
    base = {"hr_file": str(hr), "spin_operators": "interleaved", "exchange": 0.1,
            "file_magnetization": [0, 0, 1], "lattice_vectors": original.lattice_vectors.tolist(),
            "orbital_positions": positions, "magnetization": [0.6, 0, 0.8],
            "fermi_energy": 0.5, **RESPONSE}
    spec = expand(base, {"fermi_energy": [0.5]})[1][0]
    model = evaluate.build_model(spec)
    reference = dataclasses.replace(original, magnetization=(0.6, 0, 0.8))
    k = np.array([[3.0, -7.0], [11.0, 2.5]])
    for a, b in zip(model.hamiltonian_and_velocity(k[:, 0], k[:, 1]),
                    reference.hamiltonian_and_velocity(k[:, 0], k[:, 1])):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    # Without lattice_vectors and orbital_positions: hc_tb.dat and hc_centres.xyz (Angstrom).
    angstrom = 10 * original.lattice_vectors
    (tmp_path / "hc_tb.dat").write_text(
        "written by the test\n" + "".join(f"{x:.16f} {y:.16f} 0.0\n" for x, y in angstrom)
        + "0.0 0.0 10.0\n")
    centres = tmp_path / "hc_centres.xyz"
    centres.write_text("4\ncentres\n" + "".join(f"X {10 * x:.16f} {10 * y:.16f} 0.0\n"
                                               for x, y in positions))
    bare = {k: v for k, v in base.items() if k not in ("lattice_vectors", "orbital_positions")}
    spec = expand(bare, {"fermi_energy": [0.5]})[1][0]
    assert spec["model"]["lattice_file"] == str(tmp_path / "hc_tb.dat")
    assert spec["model"]["centres_file"] == str(centres)
    model = evaluate.build_model(spec)
    np.testing.assert_allclose(model.orbital_positions, reference.orbital_positions,
                               rtol=0, atol=1e-15)
    key = point_key(spec)
    centres.write_text(centres.read_text().replace("X ", "X  "))  # same numbers, new bytes
    assert point_key(expand(bare, {"fermi_energy": [0.5]})[1][0]) != key


def test_linear_response_array_of_a_tight_binding_model_to_xarray():
    """An array of tight-binding results is labelled like a sweep: the values are those of
    each LinearResponse, the model is named by its fingerprint, N-band records carry the
    electron density (the sum of the band occupations), not the two-band n_-/n_+."""
    model = honeycomb_kane_mele_ferromagnet(hopping=1.0, spin_orbit=0.05, rashba=0.05,
                                            sublattice=0.1, exchange=0.1,
                                            magnetization=(0.0, 0.0, 1.0))
    mu = np.array([0.5, 0.6])
    results = kubo_sot.linear_response(model, mu, 0.1, rtol=1e-4)
    ds = kubo_sot.responses_to_xarray(results, fermi_energy=mu)
    for i, r in enumerate(results):
        np.testing.assert_array_equal(ds["conductivity_total"].isel(fermi_energy=i),
                                      r.conductivity.total)
        np.testing.assert_array_equal(ds["torkance_fermi_sea"].isel(fermi_energy=i),
                                      r.torkance.fermi_sea)
        assert ds["electron_density"].values[i] == pytest.approx(sum(r.bands.occupations))
    assert json.loads(ds.attrs["model"])["fingerprint"] == model.fingerprint
    assert "n_minus" not in ds


def test_cli_amr_of_a_tight_binding_model(tmp_path, factory_dir):
    """amr --model-config: the factory's model, M rotated in the plane by the AMR angles;
    its JSON is anisotropic_magnetoresistance's result on the same model (the same
    computation, bit for bit); --magnetization with it is refused (status 2)."""
    factory = tmp_path / "factory.toml"
    factory.write_text('[model]\nfactory = "tb_sweep_factory:square"\n')
    args = ("amr", "--model-config", str(factory), "--angles", "3", "--fermi-energy", "1.0",
            "--broadening", "0.2", "--rtol", "1e-3")
    p = _run_cli(*args, "--json", cwd=tmp_path, pythonpath=[factory_dir])
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    model = square_rashba_ferromagnet(**PARAMETERS, magnetization=(1, 0, 0))
    a = kubo_sot.anisotropic_magnetoresistance(model, 1.0, 0.2, [0.0, np.pi / 2, np.pi],
                                               rtol=1e-3)
    np.testing.assert_array_equal(data["rho_ee"], a.rho_ee)
    assert data["ratio"] == a.ratio
    p = _run_cli(*args, "--magnetization", "0,0,1", cwd=tmp_path, pythonpath=[factory_dir])
    assert p.returncode == 2 and "--magnetization" in p.stderr
