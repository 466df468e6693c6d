"""Issue 18, "Bounded work": no point runs without bound, no grid allocates without bound,
a tensor that vanishes by symmetry does not set the tolerance, and the ladder's error
estimate is honest.  Each test reproduces the failure of the issue and shows the fix; none
is timed (the bounds are on k-points and on raising before any computation)."""

import pickle

import numpy as np
import pytest

import kubo_sot
from kubo_sot import ConvergenceError, ParameterError
from kubo_sot.integrate import kspace
from kubo_sot.observables import response

DEFAULT = dict(alpha=0.1, exchange=0.1)  # the CLI's default model (kubo_sot.cli.DEFAULTS)
TILTED = (2 ** -0.5, 0.0, 2 ** -0.5)


def _no_integral(monkeypatch):
    """Fail the test if any k-space integral is started."""
    monkeypatch.setattr(response, "integrate_kspace",
                        lambda *a, **k: pytest.fail("an integral was started"))


def _no_resolution_check(monkeypatch):
    """Switch the up-front resolution check off, so that the budget alone bounds the work."""
    monkeypatch.setattr(response, "NOISE_FACTOR", 0.0)
    monkeypatch.setattr(response, "RESOLUTION_FACTOR", 0.0)


# The three runaway cases of the issue (each ran > 5 min with no output).
RUNAWAY = [
    (dict(DEFAULT, magnetization=(1, 0, 0)), 1e-12, 1e-6),
    (dict(DEFAULT, magnetization=(0, 0, 1)), 1e-8, 1e-10),
    (dict(alpha=3.0, exchange=0.1, magnetization=TILTED), 1e-6, 1e-10),
]


@pytest.mark.parametrize("model, gamma, rtol", RUNAWAY)
def test_unresolvable_broadening_is_refused_before_any_integral(model, gamma, rtol,
                                                                monkeypatch):
    _no_integral(monkeypatch)
    m = kubo_sot.RashbaFerromagnet(**model)
    smallest = response.smallest_resolvable_width(m, 0.3, rtol, gamma)
    assert gamma < smallest
    with pytest.raises(ParameterError, match="smallest allowed value") as err:
        kubo_sot.linear_response(m, 0.3, gamma, rtol=rtol)
    assert f"{smallest:.3g} eV" in str(err.value) and "broadening" in str(err.value)


def test_resolution_bound_follows_rounding_of_the_energy():
    # W_min = eps E_scale / rtol (the noise term dominates here): linear in 1 / rtol, and
    # E_scale at least |mu| + the exchange at the Fermi crossing.
    m = kubo_sot.RashbaFerromagnet(**DEFAULT, magnetization=(0, 0, 1))
    w6 = response.smallest_resolvable_width(m, 0.3, 1e-6, 1e-3)
    w8 = response.smallest_resolvable_width(m, 0.3, 1e-8, 1e-3)
    assert w8 == pytest.approx(100 * w6, rel=1e-12)
    eps = np.finfo(float).eps
    assert w6 >= response.NOISE_FACTOR * eps * (0.3 + 0.1) / 1e-6
    # Broadenings above the bound and feasible at that rtol still compute (converged).
    r = kubo_sot.linear_response(m, 0.3, 10 * w8, rtol=1e-8)
    assert r.provenance["converged"]


@pytest.mark.parametrize("model, gamma, rtol", RUNAWAY)
def test_runaway_cases_end_on_the_budget(model, gamma, rtol, monkeypatch):
    # Without the up-front check the k-point budget ends each of them, with the estimate
    # reached and its error.
    _no_resolution_check(monkeypatch)
    m = kubo_sot.RashbaFerromagnet(**model)
    budget = 300_000
    with pytest.raises(ConvergenceError, match="max_kpoints") as err:
        kubo_sot.linear_response(m, 0.3, gamma, rtol=rtol, max_kpoints=budget)
    e = err.value
    assert e.n_kpoints <= budget and e.ratio > 1
    assert isinstance(e.result, kubo_sot.observables.results.LinearResponse)
    assert np.all(np.isfinite(e.result.conductivity.total))


@pytest.mark.parametrize("magnetization", [(1, 0, 0), TILTED])
def test_budget_estimate_is_within_its_error(magnetization):
    # A resolvable point stopped early: the estimate reached lies within its stated error of
    # the converged result (the error is honest), and the k-points stay within the budget.
    # (M along z needs ~700 k-points, most of them the initial mesh, which is always
    # evaluated; its budget is tested on the runaway case above.)
    m = kubo_sot.RashbaFerromagnet(**DEFAULT, magnetization=magnetization)
    full = kubo_sot.linear_response(m, 0.3, 0.002, rtol=1e-8)
    budget = full.provenance["n_kpoints"] // 4
    with pytest.raises(ConvergenceError) as err:
        kubo_sot.linear_response(m, 0.3, 0.002, rtol=1e-8, max_kpoints=budget)
    part = err.value.result
    assert err.value.n_kpoints <= budget
    assert part.provenance["n_kpoints"] == err.value.n_kpoints
    for name in ("conductivity", "spin_density", "torkance"):
        a, b = getattr(part, name), getattr(full, name)
        assert np.all(np.abs(a.total - b.total) <= a.error + b.error + 1e-14), name


def test_convergence_error_survives_pickling():
    # joblib and Dask workers send it back to the caller with its payload.
    e = pickle.loads(pickle.dumps(ConvergenceError("missed", {"x": 1}, 1234, 5.0)))
    assert (str(e), e.result, e.n_kpoints, e.ratio) == ("missed", {"x": 1}, 1234, 5.0)


def test_brillouin_zone_route_gets_the_budget(monkeypatch):
    # linear_response forwards max_kpoints to the zone integrator (whose own budget is
    # tested in tests/test_lattice_response.py), and reports its exhaustion.
    from kubo_sot.observables import lattice_response
    seen = {}
    real = lattice_response.integrate_brillouin_zone

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)
    monkeypatch.setattr(lattice_response, "integrate_brillouin_zone", spy)
    m = kubo_sot.SquareLatticeRashbaFerromagnet(hopping=1, lattice_constant=1, alpha=0.3,
                                                exchange=0.5, magnetization=(0, 0, 1))
    with pytest.raises(ConvergenceError, match="max_kpoints") as err:
        kubo_sot.linear_response(m, 1.0, 0.2, rtol=1e-8, max_kpoints=5_000,
                                 integrator="brillouin_zone")
    assert seen["max_kpoints"] == 5_000
    assert err.value.result.provenance["integrator"] == "brillouin_zone"
    kubo_sot.linear_response(m, 1.0, 0.2, rtol=1e-3, integrator="brillouin_zone")
    assert seen["max_kpoints"] == kspace.MAX_KPOINTS


def test_default_budget_is_documented_constant():
    import inspect
    default = inspect.signature(kubo_sot.linear_response).parameters["max_kpoints"].default
    assert default == kspace.MAX_KPOINTS
    from kubo_sot.integrate import brillouin_zone
    assert kspace.MAX_KPOINTS == brillouin_zone.MAX_KPOINTS


@pytest.mark.parametrize("value", [0, 999, True, 1.5e6, "1000000", None])
def test_bad_budget(value, monkeypatch):
    _no_integral(monkeypatch)
    m = kubo_sot.RashbaFerromagnet(**DEFAULT, magnetization=(0, 0, 1))
    with pytest.raises(ParameterError, match="max_kpoints"):
        kubo_sot.linear_response(m, 0.3, 0.01, max_kpoints=value)


def test_n_jobs_true_is_refused(monkeypatch):
    # Inputs never guessed: True is not one worker.
    _no_integral(monkeypatch)
    m = kubo_sot.RashbaFerromagnet(**DEFAULT, magnetization=(0, 0, 1))
    with pytest.raises(ParameterError, match="n_jobs = True"):
        kubo_sot.linear_response(m, 0.3, 0.01, n_jobs=True)


def test_sweep_point_on_the_budget_is_reported(monkeypatch):
    # A point that spends its budget ends the sweep with the ConvergenceError, as a point
    # that misses its tolerance does.
    from kubo_sot.sweep import evaluate
    monkeypatch.setattr(evaluate, "MAX_KPOINTS", 2_000)
    base = dict(DEFAULT, magnetization=(1, 0, 0), broadening=0.002, rtol=1e-8)
    with pytest.raises(ConvergenceError, match="max_kpoints"):
        kubo_sot.sweep(base, {"fermi_energy": [0.3]})


# -- Grid size ---------------------------------------------------------------------------

def test_huge_grid_is_refused_before_allocation(monkeypatch):
    # 20,000,000 Fermi energies allocated 14 GB in 120 s before any output.  The size is
    # checked before a single value is converted (point_spec is never called).
    from kubo_sot.sweep import grid
    monkeypatch.setattr(grid, "point_spec", lambda *a: pytest.fail("a point was built"))
    monkeypatch.setattr(grid, "grid_values", lambda *a: pytest.fail("an axis was read"))
    energies = np.linspace(0.1, 0.5, 20_000_000)
    base = dict(DEFAULT, magnetization=(0, 0, 1), broadening=0.01)
    with pytest.raises(ParameterError) as err:
        grid.expand(base, {"fermi_energy": energies})
    message = str(err.value)
    assert "20,000,000 points" in message and f"{grid.MAX_GRID_POINTS:,}" in message
    assert "GB" in message
    # A product of modest axes is counted as a product; a list of points by its length.
    with pytest.raises(ParameterError, match="1,100,000 points"):
        grid.expand(base, {"fermi_energy": list(range(1100)), "temperature": list(range(1000))})
    with pytest.raises(ParameterError, match="1,000,001 points"):
        grid.expand(base, points=[{"fermi_energy": 0.3}] * 1_000_001)
    # through the public sweep as well
    with pytest.raises(ParameterError, match="20,000,000 points"):
        kubo_sot.sweep(base, {"fermi_energy": energies})


def test_grid_at_the_limit_is_allowed_by_the_size_check():
    from kubo_sot.sweep import grid
    grid.check_grid_size(grid.MAX_GRID_POINTS, "the grid")
    assert grid.MAX_GRID_POINTS * grid.BYTES_PER_POINT <= grid.MAX_GRID_BYTES
    axes, specs = grid.expand(dict(DEFAULT, magnetization=(0, 0, 1), broadening=0.01),
                              {"fermi_energy": [0.2, 0.3], "temperature": [0.0, 10.0, 20.0]})
    assert len(specs) == 6
