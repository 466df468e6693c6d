"""The quick validation protocol: its records, report, figures and committed verdicts."""

import json
from pathlib import Path

import numpy as np
import pytest

import kubo_sot
import validation.run
from validation.cli import run_validation

EXPECTED = json.loads((Path(validation.__file__).parent / "expected_verdicts.json").read_text())
PAPER_FORMULAS = ("field_like_torque", "damping_like_torque", "amr",
                  "magnetization_dissipation", "joule_heating")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    records = run_validation(quick=True, out=out, n_jobs=1)
    return out, records


def test_results_json_has_every_formula_regime_and_filling(run):
    out, records = run
    stored = json.loads((out / "results.json").read_text())
    assert stored == json.loads(json.dumps(records))
    for formula in PAPER_FORMULAS:
        for regime in ("weak_rashba", "strong_rashba"):
            for filling in ("majority_only", "both_bands"):
                assert any(r["formula"] == formula and r["regime"] == regime
                           and r["filling"] == filling for r in records), (formula, regime)
    keys = {"formula", "regime", "filling", "measured", "predicted", "relative_deviation",
            "tolerance", "holds", "parameters"}
    for r in records:
        assert keys <= set(r)
        assert r["regime"] in ("weak_rashba", "strong_rashba", "pure_rashba", "pure_exchange")
        assert r["filling"] in ("majority_only", "both_bands")


def test_numbers_are_finite_and_verdicts_follow_from_them(run):
    _, records = run
    for r in records:
        for key in ("measured", "predicted", "relative_deviation", "tolerance"):
            assert np.isfinite(r[key]), (r["formula"], key)
        assert r["holds"] == (r["relative_deviation"] <= r["tolerance"])
        assert r["tolerance_reason"]


def test_verdicts_match_the_committed_expectation(run):
    _, records = run
    got = {f"{r['formula']}|{r['variant']}|{r['regime']}|{r['filling']}": r["holds"]
           for r in records}
    assert got == EXPECTED


def test_report_and_figures(run):
    out, records = run
    text = (out / "report.md").read_text()
    assert text.index("## Summary") < text.index("## How the paper's formulas are translated")
    assert "## Does the spin-force picture survive vertex corrections?" in text
    for r in records:
        assert r["call"] in text
    for name in ("torques_vs_rashba.png", "gamma_scaling.png", "torques_vs_angle.png",
                 "amr_angular_law.png", "surface_vs_sea.png", "vertex_corrections.png"):
        assert (out / name).stat().st_size > 5000
        assert f"]({name})" in text


@pytest.mark.parametrize("index", [0, 5, 8, 13, "vc_amr", "vc_edelstein_only",
                                   "one_band_ladder_ratio", -1])
def test_records_are_reproduced_by_their_call(run, index):
    _, records = run
    r = (records[index] if isinstance(index, int)
         else next(r for r in records if index in (r["formula"], r["variant"])))
    value = eval(r["call"], {"kubo_sot": kubo_sot, "validation": validation,
                             "pi": np.pi, "np": np})
    assert np.isclose(value, r["measured"], rtol=1e-9, atol=0)
