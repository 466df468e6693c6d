"""Regression: stored results of a few parameter points (tests/data/regression.json).

The fixture refuses to invent a missing reference: a point without a stored record fails.
To (re)create records deliberately, run with KUBO_SOT_REGENERATE=1, review the diff of the
JSON file and commit it.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import PARAMETER_POINTS, TENSORS
import kubo_sot

DATA = Path(__file__).parent / "data" / "regression.json"
RTOL = 1e-8
POINTS = {p[0]: p for p in PARAMETER_POINTS}
REGRESSION_POINTS = ["z_weak_both", "x_strong_both", "tilted_mass", "x_mass_gap"]


@pytest.fixture(scope="module")
def stored():
    return json.loads(DATA.read_text()) if DATA.exists() else {}


def _compute(name):
    _, kwargs, mu, gamma, temperature = POINTS[name]
    model = kubo_sot.RashbaFerromagnet(**kwargs)
    return kubo_sot.linear_response(model, mu, gamma, temperature, rtol=RTOL)


@pytest.mark.parametrize("name", REGRESSION_POINTS)
def test_against_stored_result(name, stored):
    result = _compute(name)
    if os.environ.get("KUBO_SOT_REGENERATE") == "1":
        data = json.loads(DATA.read_text()) if DATA.exists() else {}
        data[name] = {t: getattr(result, t).to_dict() for t in TENSORS}
        DATA.write_text(json.dumps(data, indent=1, sort_keys=True))
        pytest.skip(f"wrote the reference for {name}: review and commit {DATA.name}")
    if name not in stored:
        pytest.fail(f"no stored reference for {name!r} in {DATA}; create it deliberately "
                    "with KUBO_SOT_REGENERATE=1 and review the diff")
    for t in TENSORS:
        ref = stored[name][t]
        now = getattr(result, t)
        scale = np.max(np.abs(ref["total"]))
        for part in ("total", "fermi_surface", "fermi_sea"):
            diff = np.abs(np.asarray(ref[part]) - getattr(now, part))
            assert np.all(diff <= np.asarray(ref["error"]) + now.error + 1e-12 * scale), (t, part)
