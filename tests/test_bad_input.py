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
