"""Input validation: every check names the parameter, its value, unit and allowed range."""

import math

import numpy as np

from .errors import ParameterError

MAGNETIZATION_NORM_TOLERANCE = 1e-9


def _not_a_number(value):
    """True for values that float() would accept but that are not numbers: True/False
    (a flag passed where a float belongs) and numeric strings ("0.1" is never guessed)."""
    return isinstance(value, (bool, np.bool_, str, bytes, np.str_, np.bytes_))


def finite_scalar(name, value, unit):
    """Return ``value`` as a float, or raise if it is not a finite real number.

    bool and str are refused even where float() would take them: ``broadening=True`` is
    not 1 eV and ``alpha="0.1"`` is not 0.1 eV nm."""
    if _not_a_number(value) or (isinstance(value, np.ndarray) and value.dtype.kind not in
                                "iuf"):
        raise ParameterError(f"{name} = {value!r} must be a real number in {unit} "
                             f"(not a {type(value).__name__})")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} must be a real number in {unit}") from None
    if not math.isfinite(x):
        raise ParameterError(f"{name} = {x} {unit} must be finite")
    return x


def in_range(name, value, unit, low=None, high=None, low_open=False, high_open=False):
    """Finite scalar within [low, high] (open ends where requested)."""
    x = finite_scalar(name, value, unit)
    lo_ok = low is None or (x > low if low_open else x >= low)
    hi_ok = high is None or (x < high if high_open else x <= high)
    if not (lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = ("(" if low_open or low is None else "[") + f"{lo}, {hi}" + (
            ")" if high_open or high is None else "]")
        raise ParameterError(f"{name} = {x:g} {unit} is outside the allowed range {bracket}")
    return x


def positive(name, value, unit):
    return in_range(name, value, unit, low=0.0, low_open=True)


def non_negative(name, value, unit):
    return in_range(name, value, unit, low=0.0)


def unit_vector(name, value, dim=3):
    """A unit vector of length ``dim`` (norm 1 within 1e-9), returned as a tuple of floats."""
    if _not_a_number(value) or (np.ndim(value) > 0 and any(
            _not_a_number(x) for x in np.asarray(value, dtype=object).reshape(-1))):
        raise ParameterError(f"{name} = {value!r} must be {dim} real numbers (no strings "
                             "or True/False)")
    try:
        v = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} = {value!r} must be {dim} real numbers") from None
    if v.size != dim:
        raise ParameterError(f"{name} = {value!r} must have {dim} components, got {v.size}")
    shown = tuple(float(x) for x in v)
    if not np.all(np.isfinite(v)):
        raise ParameterError(f"{name} = {shown} must be finite")
    norm = float(np.linalg.norm(v))
    if abs(norm - 1.0) > MAGNETIZATION_NORM_TOLERANCE:
        raise ParameterError(
            f"{name} = {shown} (dimensionless direction) must be a unit vector: "
            f"its norm is {norm:.12g}, allowed 1 +/- {MAGNETIZATION_NORM_TOLERANCE:g}")
    return tuple(float(x) for x in v)


def integer(name, value, low, what):
    """An integer >= ``low`` (numpy integers too; True/False refused), returned as int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < low:
        raise ParameterError(f"{name} = {value!r} ({what}) must be an integer in "
                             f"[{low}, inf)")
    return int(value)


def n_jobs(value):
    """joblib workers: a positive integer or -1 (all cores); True/False refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not (value >= 1 or value == -1):
        raise ParameterError(f"n_jobs = {value!r} must be a positive integer or -1 (all "
                             "cores): the number of worker processes")
    return int(value)


def choice(name, value, allowed):
    if value not in allowed:
        raise ParameterError(f"{name} = {value!r} is not one of {sorted(allowed)}")
    return value
