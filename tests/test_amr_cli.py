"""AMR and the command line."""

import json

import numpy as np
import pytest

import kubo_sot
from kubo_sot.cli import main


@pytest.fixture(scope="module")
def amr():
    m = kubo_sot.RashbaFerromagnet(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), mass=0.6)
    return kubo_sot.anisotropic_magnetoresistance(m, 0.1, 0.01, angles=np.linspace(0, 3, 7),
                                                  field_direction=(0.6, 0.8), rtol=1e-7)


def test_amr_angular_law_is_exactly_cos_squared(amr):
    """Isotropic model: sigma(R M) = R sigma(M) R^T, and for M || E the mirror through the
    plane containing E and z forbids sigma_EE', so rho_EE(theta) = rho_perp +
    (rho_par - rho_perp) cos^2 theta exactly.  Tolerance: propagated error estimates."""
    law = 1 + amr.ratio * np.cos(amr.angles) ** 2
    err = amr.rho_ee_error / amr.rho_ee + amr.ratio_error
    assert np.all(np.abs(amr.angular_law - law) <= 2 * err + 1e-14)
    assert amr.ratio > 100 * amr.ratio_error


def test_no_amr_without_spin_orbit_coupling():
    m = kubo_sot.RashbaFerromagnet(alpha=0.0, exchange=0.2, magnetization=(1, 0, 0))
    a = kubo_sot.anisotropic_magnetoresistance(m, 0.1, 0.01, angles=[0.3], rtol=1e-7)
    assert abs(a.ratio) <= a.ratio_error + 1e-14


def test_cli_response_table_has_units(capsys):
    assert main(["response", "--rtol", "1e-3"]) == 0
    out = capsys.readouterr().out
    for text in ("[e^2/h]", "[1/(V nm)]", "[e/nm]", "fermi_sea", "damping_like",
                 "alpha k_F / J"):
        assert text in out


def test_cli_json_matches_library(capsys):
    args = ["response", "--alpha", "0.1", "--exchange", "0.1", "--magnetization", "0.6,0,0.8",
            "--fermi-energy", "0.3", "--broadening", "0.02", "--rtol", "1e-4", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0.6, 0, 0.8))
    r = kubo_sot.linear_response(model, 0.3, 0.02, rtol=1e-4)
    assert np.array_equal(np.array(data["torkance"]["total"]), r.torkance.total)
    assert data["torque_coefficients"]["unit"] == "e/nm"


@pytest.mark.parametrize("args, words", [
    (["response", "--broadening", "0"], ["broadening", "eV"]),
    (["response", "--magnetization", "1,1,0"], ["magnetization", "unit vector"]),
    (["response", "--fermi-energy", "-5"], ["fermi_energy", "band bottom"]),
    (["response", "--temperature", "-3"], ["temperature", "K"]),
])
def test_cli_bad_input_exits_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


def test_cli_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["response", "--gamma", "0.01"])
    assert exc.value.code == 2
    assert "--gamma" in capsys.readouterr().err
