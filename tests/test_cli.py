"""The command line never guesses and never ends in a traceback: every mistake gives one
clear message on stderr and exit status 2 before anything is computed (each run here as a
subprocess, as a user meets it); and labelled results of linear_response over arrays."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
from kubo_sot.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
TOML = """
[model]
alpha = 0.1
exchange = 0.1
magnetization = [0, 0, 1]
[response]
broadening = 0.01
rtol = 1e-3
[grid]
fermi_energy = [0.3]
"""


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "kubo_sot.cli", *args], capture_output=True,
                       text=True, env=env, cwd=cwd, timeout=120)
    p.seconds = time.perf_counter() - start
    return p


def assert_clean_error(p, *words, usage=None):
    """Exit status 2, nothing on stdout, no traceback, the words in the message; a
    parameter error is one line, an argparse error the subcommand's usage and one line."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    if usage is None:
        assert len(lines) == 1, p.stderr
        assert lines[0].startswith("kubo-sot: error: ") \
            or lines[0].startswith("python -m validation: error: "), p.stderr
    else:
        assert lines[0].startswith(f"usage: {usage} "), p.stderr
        assert lines[-1].startswith(f"{usage}: error: "), p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(TOML)
    return path


# --- amr ---------------------------------------------------------------------------------

def test_amr_rejects_magnetization():
    """AMR rotates M itself: an M given by the user would be ignored, so it is refused."""
    p = run_cli("amr", "--magnetization", "0,0,1", "--rtol", "1e-3")
    assert_clean_error(p, "--magnetization", "rotates M in the plane")


@pytest.mark.parametrize("count", ["1", "2", "4", "x"])
def test_amr_angles_must_be_odd_and_at_least_3(count):
    p = run_cli("amr", "--angles", count)
    assert_clean_error(p, "--angles", "odd number >= 3", usage="kubo-sot amr")


def test_amr_computes_exactly_the_angles_asked():
    """--angles 3: theta = 0, pi/2, pi and nothing else (0 and pi/2 give the ratio)."""
    p = run_cli("amr", "--angles", "3", "--rtol", "1e-3", "--fermi-energy", "0.3")
    assert p.returncode == 0, p.stderr
    rows = [line.split() for line in p.stdout.splitlines()[1:-1]]
    assert np.array_equal([float(r[0]) for r in rows],
                          np.round([0.0, np.pi / 2, np.pi], 6))
    assert p.stdout.splitlines()[-1].startswith("AMR ratio = ")


def test_amr_angle_grid_holds_exact_right_angle():
    from kubo_sot.cli import amr_angles
    for n in (3, 13, 101):
        theta = amr_angles(n)
        assert theta.size == n and theta[0] == 0.0 and theta[-1] == np.pi
        assert theta[n // 2] == 0.5 * np.pi
        # anisotropic_magnetoresistance adds 0 and pi/2 unless present: nothing is added.
        assert np.unique(np.concatenate([theta, [0.0, 0.5 * np.pi]])).size == n


# --- response ----------------------------------------------------------------------------

@pytest.mark.parametrize("direction", ["1,1", "0.6,0.6", "1,0,0", "x"])
def test_response_field_direction_is_checked_before_computing(direction):
    p = run_cli("response", "--field-direction", direction, "--rtol", "1e-3")
    assert_clean_error(p, "--field-direction")


def test_response_n_jobs_zero():
    assert_clean_error(run_cli("response", "--n-jobs", "0"), "--n-jobs",
                       "positive integer or -1", usage="kubo-sot response")


def test_mistyped_option_shows_the_subcommand_usage_and_a_suggestion():
    p = run_cli("response", "--fermi-enrgy", "0.3")
    assert_clean_error(p, "--fermi-enrgy", "did you mean --fermi-energy?",
                       usage="kubo-sot response")
    p = run_cli("amr", "--angel=3")
    assert_clean_error(p, "did you mean --angles?", usage="kubo-sot amr")
    p = run_cli("sweep", "x.toml", "--resmue")
    assert_clean_error(p, "did you mean --resume?", usage="kubo-sot sweep")


def test_convergence_error_is_one_line():
    """mu = 1e10 eV: the k-integral cannot reach its tolerance; no traceback, status 2."""
    p = run_cli("response", "--fermi-energy", "1e10", "--rtol", "1e-3")
    assert_clean_error(p, "ConvergenceError", "tolerance")


# --- sweep -------------------------------------------------------------------------------

def test_sweep_missing_config(tmp_path):
    assert_clean_error(run_cli("sweep", str(tmp_path / "nope.toml"),
                               "--out", str(tmp_path / "r.nc")), "nope.toml", "does not exist")
    assert_clean_error(run_cli("sweep", str(tmp_path), "--out", str(tmp_path / "r.nc")),
                       "is not a file")


def test_sweep_n_jobs_zero(config, tmp_path):
    p = run_cli("sweep", str(config), "--backend", "joblib", "--n-jobs", "0",
                "--out", str(tmp_path / "r.nc"))
    assert_clean_error(p, "--n-jobs 0", "positive integer or -1")


@pytest.mark.parametrize("where", ["missing_folder", "under_a_file", "a_folder"])
def test_sweep_unwritable_out_is_found_before_computing(config, tmp_path, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = {"missing_folder": tmp_path / "no" / "r.nc", "under_a_file": blocker / "r.nc",
           "a_folder": tmp_path}[where]
    p = run_cli("sweep", str(config), "--out", str(out))
    assert_clean_error(p, "--out", str(out))
    assert not list(tmp_path.glob("*.store")) and not (tmp_path / "no").exists()


# --- plot --------------------------------------------------------------------------------

@pytest.fixture
def results(tmp_path):
    xr = pytest.importorskip("xarray")
    ds = xr.Dataset({"rho_ee": ("magnetization_azimuth_deg", [1.0, 1.5, 2.0],
                                {"units": "h/e^2"})},
                    coords={"magnetization_azimuth_deg": ("magnetization_azimuth_deg",
                                                          [0.0, 45.0, 90.0], {"units": "deg"})})
    path = tmp_path / "results.nc"
    ds.to_netcdf(path)
    return path


def test_plot_relative_to_needs_a_grid_value(results, tmp_path):
    pytest.importorskip("matplotlib")
    p = run_cli("plot", str(results), "--relative-to", "magnetization_azimuth_deg=45.5",
                "--out", str(tmp_path / "a.png"))
    assert_clean_error(p, "45.5", "not on the grid", "available: 0, 45, 90")
    assert not (tmp_path / "a.png").exists()
    p = run_cli("plot", str(results), "--relative-to", "magnetization_azimuth_deg=45",
                "--out", str(tmp_path / "a.png"))
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_plot_relative_to_uses_the_exact_reference(results, monkeypatch):
    """The plotted curve is y / y(45) - 1 (here 1/1.5 - 1, 0, 2/1.5 - 1), also when the
    value is given with rounding noise below 1e-9."""
    xr = pytest.importorskip("xarray")
    pytest.importorskip("matplotlib")
    import matplotlib.axes
    from kubo_sot.sweep.plot import plot_dataset
    drawn = []
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, x, y, *a, **k: drawn.append(np.asarray(y)))
    with xr.open_dataset(results) as ds:
        plot_dataset(ds.load(), "rho_ee", None, str(results.with_suffix(".png")),
                     "magnetization_azimuth_deg=45.00000000001")
    assert np.allclose(drawn[0], [1 / 1.5 - 1, 0.0, 2 / 1.5 - 1], rtol=1e-15, atol=0)
    with xr.open_dataset(results) as ds, pytest.raises(ParameterError, match="available"):
        plot_dataset(ds.load(), "rho_ee", None, str(results.with_suffix(".png")),
                     "magnetization_azimuth_deg=45.0001")


def test_plot_missing_or_not_netcdf(tmp_path):
    assert_clean_error(run_cli("plot", str(tmp_path / "none.nc")), "does not exist")
    text = tmp_path / "notes.nc"
    text.write_text("not a netCDF file\n")
    assert_clean_error(run_cli("plot", str(text)), "cannot be read as netCDF")


def test_plot_out_in_missing_folder(results, tmp_path):
    assert_clean_error(run_cli("plot", str(results), "--out", str(tmp_path / "no" / "a.png")),
                       "--out", "does not exist")


# --- bench, validate ---------------------------------------------------------------------

def test_bench_out_in_missing_folder(tmp_path):
    p = run_cli("bench", "--quick", "--out", str(tmp_path / "no" / "b.json"))
    assert_clean_error(p, "--out", "does not exist")
    assert p.seconds < 30  # nothing was benchmarked


def test_validate_out_and_n_jobs(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    p = run_cli("validate", "--quick", "--out", str(blocker / "report"))
    assert_clean_error(p, "--out", "is a file, not a folder")
    p = run_cli("validate", "--quick", "--n-jobs", "0")
    assert_clean_error(p, "--n-jobs", usage="kubo-sot validate")


def test_check_output_folder_creates_nothing(tmp_path):
    from kubo_sot._cliutil import check_output_file, check_output_folder
    check_output_folder(tmp_path / "a" / "b")
    check_output_file(tmp_path / "r.nc")
    assert list(tmp_path.iterdir()) == []  # the probe file is removed


# --- library ------------------------------------------------------------------------------

def test_model_missing_protocol_methods_are_named():
    class Incomplete:
        n_bands = 2

        def hamiltonian(self, kx, ky):
            return np.zeros(np.shape(kx) + (2, 2))

    with pytest.raises(ParameterError) as exc:
        kubo_sot.linear_response(Incomplete(), 0.1, 0.01)
    text = str(exc.value)
    for name in ("velocity", "spin_operators", "eigensystem", "band_bottom", "ray_length",
                 "tail_start"):
        assert name in text
    assert "hamiltonian" not in text.split("lacks")[1]


def test_responses_to_xarray_labels_array_results():
    pytest.importorskip("xarray")
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    mu, gamma = np.array([0.2, 0.3]), np.array([0.01, 0.02, 0.04])
    rs = kubo_sot.linear_response(model, mu[:, None], gamma[None, :], rtol=1e-3)
    ds = kubo_sot.responses_to_xarray(rs, fermi_energy=mu, broadening=gamma,
                                      field_direction=(0.0, 1.0))
    assert ds["torkance_total"].dims == ("fermi_energy", "broadening", "torque_component",
                                         "field")
    assert ds["fermi_energy"].attrs["units"] == "eV" and ds["torkance_total"].attrs["units"] \
        == "e/nm"
    for i, j in np.ndindex(rs.shape):
        r = rs[i, j]
        point = ds.isel(fermi_energy=i, broadening=j)
        assert np.array_equal(point["torkance_total"].values, r.torkance.total)
        assert np.array_equal(point["conductivity_fermi_sea"].values, r.conductivity.fermi_sea)
        assert point["damping_like_total"].item() == r.torque_coefficients((0, 1)).damping_like
        assert point["rho_ee"].item() == pytest.approx(np.linalg.inv(r.conductivity.total)[1, 1],
                                                       rel=1e-14)
    flat = kubo_sot.responses_to_xarray(rs)  # no labels given: one point per result
    assert flat.sizes["point"] == rs.size
    assert np.array_equal(flat["broadening"].values, np.tile(gamma, 2))
    with pytest.raises(ParameterError, match="one coordinate per axis"):
        kubo_sot.responses_to_xarray(rs, broadening=gamma, fermi_energy=mu)
    with pytest.raises(ParameterError, match="not a sweep parameter"):
        kubo_sot.responses_to_xarray(rs, mu=mu, broadening=gamma)


def test_response_dataset_matches_linear_response_with_progress(capsys):
    """Chunked with a progress bar, the grid gives what one call per point gives (three
    Fermi energies, fewer than a spectral-density sweep takes: point by point either way);
    eight energies with M = z go to one spectral sweep, as in one linear_response call."""
    pytest.importorskip("xarray")
    pytest.importorskip("tqdm")
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))
    mu = np.array([0.15, 0.2, 0.3])
    ds = kubo_sot.response_dataset(model, mu, 0.01, temperature=[0.0, 50.0], rtol=1e-3,
                                   progress=True)
    assert ds["rho_ee"].dims == ("fermi_energy", "temperature")
    assert "6/6" in capsys.readouterr().err
    for i, m in enumerate(mu):
        r = kubo_sot.linear_response(model, m, 0.01, 50.0, rtol=1e-3)
        assert np.array_equal(ds["spin_density_total"].isel(fermi_energy=i, temperature=1),
                              r.spin_density.total)
    with pytest.raises(ParameterError, match="temperature"):
        kubo_sot.response_dataset(model, mu, 0.01, temperature=[0.0, -1.0])
    z = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
    mus = np.linspace(0.1, 0.4, 8)
    ds = kubo_sot.response_dataset(z, mus, 0.01, rtol=1e-3, progress=True)
    assert "8/8" in capsys.readouterr().err
    together = kubo_sot.linear_response(z, mus, 0.01, rtol=1e-3)
    assert np.array_equal(ds["torkance_total"].values, [r.torkance.total for r in together])
