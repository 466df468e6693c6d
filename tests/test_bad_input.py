"""Every bad input raises ParameterError naming the parameter (and unit), before computing."""

import math

import pytest

import kubo_sot
from kubo_sot import ParameterError

GOOD_MODEL = dict(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
GOOD_CALL = dict(fermi_energy=0.3, broadening=0.01)


@pytest.mark.parametrize("kwargs, words", [
    (dict(GOOD_MODEL, magnetization=(0, 0, 0)), ["magnetization", "unit vector"]),
    (dict(GOOD_MODEL, magnetization=(0, 0, 1.001)), ["magnetization", "unit vector"]),
    (dict(GOOD_MODEL, magnetization=(0, 1)), ["magnetization", "3 components"]),
    (dict(GOOD_MODEL, magnetization=(0, math.nan, 1)), ["magnetization", "finite"]),
    (dict(GOOD_MODEL, alpha=math.inf), ["alpha", "eV nm", "finite"]),
    (dict(GOOD_MODEL, alpha=-0.1), ["alpha", "eV nm"]),
    (dict(GOOD_MODEL, exchange=-0.1), ["exchange", "eV", "[0, inf)"]),
    (dict(GOOD_MODEL, exchange=math.nan), ["exchange", "eV"]),
    (dict(GOOD_MODEL, mass=-1.0), ["mass", "m_e", "(0, inf)"]),
    (dict(GOOD_MODEL, mass=0.0), ["mass", "m_e"]),
    (dict(GOOD_MODEL, alpha="big"), ["alpha", "real number"]),
])
def test_bad_model_parameters(kwargs, words):
    with pytest.raises(ParameterError) as err:
        kubo_sot.RashbaFerromagnet(**kwargs)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("kwargs, words", [
    (dict(GOOD_CALL, broadening=0.0), ["broadening", "eV", "(0, inf)"]),
    (dict(GOOD_CALL, broadening=-0.01), ["broadening", "eV"]),
    (dict(GOOD_CALL, broadening=math.nan), ["broadening", "finite"]),
    (dict(GOOD_CALL, fermi_energy=math.inf), ["fermi_energy", "eV", "finite"]),
    (dict(GOOD_CALL, fermi_energy=-0.2), ["fermi_energy", "band bottom", "no states"]),
    (dict(GOOD_CALL, temperature=-1.0), ["temperature", "K", "[0, inf)"]),
    (dict(GOOD_CALL, rtol=0.0), ["rtol", "(0, 0.1)"]),
    (dict(GOOD_CALL, rtol=0.5), ["rtol", "(0, 0.1)"]),
    (dict(GOOD_CALL, rtol=math.nan), ["rtol"]),
    (dict(GOOD_CALL, route="fast"), ["route", "eigenbasis", "green"]),
    (dict(GOOD_CALL, n_jobs=0), ["n_jobs"]),
])
def test_bad_response_arguments(kwargs, words, monkeypatch):
    # Nothing may be computed: the k-space integrator must not even be entered.
    from kubo_sot.observables import response
    monkeypatch.setattr(response, "integrate_kspace",
                        lambda *a, **k: pytest.fail("computation started"))
    model = kubo_sot.RashbaFerromagnet(**GOOD_MODEL)
    with pytest.raises(ParameterError) as err:
        kubo_sot.linear_response(model, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_unknown_option_is_rejected():
    model = kubo_sot.RashbaFerromagnet(**GOOD_MODEL)
    with pytest.raises(TypeError, match="tolerance"):
        kubo_sot.linear_response(model, 0.3, 0.01, tolerance=1e-3)
    with pytest.raises(TypeError, match="gamma"):
        kubo_sot.RashbaFerromagnet(**GOOD_MODEL, gamma=0.1)


def test_not_a_model():
    with pytest.raises(ParameterError, match="BandModel"):
        kubo_sot.linear_response(object(), 0.3, 0.01)


@pytest.fixture(scope="module")
def in_plane_response():
    model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0))
    return kubo_sot.linear_response(model, 0.3, 0.02, rtol=1e-3)


@pytest.mark.parametrize("direction, words", [
    ((0.6, 0.0, 0.8), ["field_direction", "in-plane"]),
    ((1.0, 1.0), ["field_direction", "unit vector"]),
    ((math.nan, 1.0), ["field_direction", "finite"]),
    ((0.0, 1.0), ["field_direction", "e_FL", "undefined"]),  # M = x = z x E for E = -y...
    ((0.0, -1.0), ["field_direction", "e_FL", "undefined"]),
])
def test_bad_field_direction(in_plane_response, direction, words):
    with pytest.raises(ParameterError) as err:
        in_plane_response.torque_coefficients(direction)
    for w in words:
        assert w in str(err.value)


# -- never guessed: flags and strings for numbers, API of the sweep, disorder's mass --------

@pytest.mark.parametrize("kwargs, words", [
    (dict(GOOD_MODEL, alpha="0.1"), ["alpha", "real number", "str"]),
    (dict(GOOD_MODEL, exchange=True), ["exchange", "real number", "bool"]),
    (dict(GOOD_MODEL, mass=False), ["mass", "bool"]),
    (dict(GOOD_MODEL, magnetization=("0", "0", "1")), ["magnetization", "3 real numbers"]),
    (dict(GOOD_MODEL, magnetization=(False, False, True)), ["magnetization", "True/False"]),
])
def test_flags_and_strings_are_not_numbers_for_a_model(kwargs, words):
    with pytest.raises(ParameterError) as err:
        kubo_sot.RashbaFerromagnet(**kwargs)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("args, kwargs, words", [
    ((0.3, True), {}, ["broadening", "bool"]),  # was computed at Gamma = 1 eV
    ((0.3, "0.01"), {}, ["broadening", "str"]),
    (("0.3", 0.01), {}, ["fermi_energy", "str"]),
    ((0.3, 0.01), dict(temperature=False), ["temperature", "bool"]),
    ((0.3, 0.01), dict(rtol="1e-3"), ["rtol", "str"]),
])
def test_flags_and_strings_are_not_numbers_for_linear_response(args, kwargs, words,
                                                               monkeypatch):
    from kubo_sot.observables import response
    monkeypatch.setattr(response, "integrate_kspace",
                        lambda *a, **k: pytest.fail("computation started"))
    model = kubo_sot.RashbaFerromagnet(**GOOD_MODEL)
    with pytest.raises(ParameterError) as err:
        kubo_sot.linear_response(model, *args, **kwargs)
    for w in words:
        assert w in str(err.value)


SWEEP_BASE = dict(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0), broadening=0.02,
                  rtol=1e-3)
ANGLES = {"fermi_energy": [0.2], "magnetization_azimuth_deg": [0.0, 90.0]}


@pytest.mark.parametrize("base, grid, kwargs, words", [
    ({}, {"fermi_energy": [0.2]}, dict(backend="joblib", n_jobs=0), ["n_jobs = 0"]),
    ({}, {"fermi_energy": [0.2]}, dict(backend="joblib", n_jobs="2"), ["n_jobs = '2'"]),
    ({}, {"fermi_energy": [0.2]}, dict(n_jobs=True), ["n_jobs = True"]),
    ({}, {"fermi_energy": [0.2]}, dict(stor="s"), ["unknown keyword", "stor", "store"]),
    ({}, {"fermi_energy": [0.2]}, dict(store=3), ["store = 3", "directory path"]),
    ({}, {"fermi_energy": [0.2]}, dict(quantities="torque"), ["quantities", "list"]),
    ({}, {"fermi_energy": [0.2]}, dict(share_kpoints=1), ["share_kpoints", "True or False"]),
    (dict(field_direction="x"), {"fermi_energy": [0.2]}, {}, ["field_direction = 'x'"]),
    (dict(field_direction=(True, False)), {"fermi_energy": [0.2]}, {},
     ["field_direction[0] = True"]),
    (dict(alpha="0.1"), {"fermi_energy": [0.2]}, {}, ["alpha = '0.1'", "eV nm"]),
    (dict(broadening=True), {"fermi_energy": [0.2]}, {}, ["broadening = True", "eV"]),
    ({}, {"fermi_energy": ["0.2"]}, {}, ["grid fermi_energy = '0.2'", "eV"]),
    ({}, {"fermi_energy": "0.2"}, {}, ["grid fermi_energy", "list of numbers"]),
    ({}, {"fermi_energy": [True]}, {}, ["grid fermi_energy = True"]),
    # was silently replaced by (1, 0, 0), all FL/DL NaN
    (dict(magnetization=(0, 0, 0)), ANGLES, {}, ["magnetization", "unit vector", "norm is 0"]),
    (dict(magnetization=(0, 0, 2)), ANGLES, {}, ["magnetization", "unit vector", "norm is 2"]),
    ({}, {"fermi_energy": [0.2], "magnetization_polar_deg": [1e308]}, {},
     ["magnetization_polar_deg", "deg", "[0, 180]"]),
    ({}, {"fermi_energy": [0.2], "magnetization_polar_deg": [-1.0]}, {},
     ["magnetization_polar_deg", "[0, 180]"]),
    ({}, {"fermi_energy": [0.2], "magnetization_azimuth_deg": [720.0]}, {},
     ["magnetization_azimuth_deg", "[-360, 360]"]),
])
def test_bad_sweep_arguments(base, grid, kwargs, words, monkeypatch):
    from kubo_sot.sweep import runner
    monkeypatch.setattr(runner, "evaluate_points", lambda *a: pytest.fail("computed"))
    with pytest.raises(ParameterError) as err:
        kubo_sot.sweep({**SWEEP_BASE, **base}, grid, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_angles_at_the_ends_of_their_ranges_are_accepted():
    from kubo_sot.sweep.grid import expand
    _, specs = expand(SWEEP_BASE, {"fermi_energy": [0.2], "magnetization_polar_deg": [0, 180],
                                   "magnetization_azimuth_deg": [-360, 360]})
    assert [s["magnetization"][2] for s in specs] == [1.0, 1.0, -1.0, -1.0]


def test_born_broadening_needs_the_model_or_its_mass():
    """The same Born width is a different n_i V^2 for each mass: never assume m = 1."""
    from kubo_sot.constants import kinetic_prefactor
    heavy = kubo_sot.RashbaFerromagnet(**GOOD_MODEL, mass=0.5)
    with pytest.raises(ParameterError, match="needs the band mass"):
        kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01)
    d = kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, heavy)
    assert d.strength == 4 * kinetic_prefactor(0.5) * 0.01
    assert d == kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, 0.5)
    assert d.born_broadening(heavy) == pytest.approx(0.01, rel=1e-15)
    assert d.born_broadening(1.0) == pytest.approx(0.02, rel=1e-15)  # Gamma_0 ~ m (DOS)
    with pytest.raises(ParameterError, match="needs the band mass"):
        d.born_broadening()
    lattice = kubo_sot.SquareLatticeRashbaFerromagnet(hopping=1.0, lattice_constant=1.0,
                                                      alpha=0.3, exchange=0.5,
                                                      magnetization=(0, 0, 1))
    with pytest.raises(ParameterError, match="no parabolic band mass"):
        kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, lattice)
    with pytest.raises(ParameterError, match="mass = '1'"):
        kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.01, "1")
