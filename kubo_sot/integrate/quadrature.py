"""Batched adaptive Gauss-Legendre quadrature with an error estimate.

Many one-dimensional integrals ("owners", e.g. the radial integrals along many rays) are
refined together so that every function call evaluates a large array of points.  Each
interval carries its n-point Gauss-Legendre value; its error estimate is the change when it
is bisected, |Q(left) + Q(right) - Q(parent)|, which bounds the error of the coarser value
and so over-estimates the error of the finer one that is kept.  Intervals are refined where
their error exceeds their share of the tolerance of their owner (error equidistribution),
until every owner meets its absolute tolerance in every component.
"""

from dataclasses import dataclass

import numpy as np

GAUSS_ORDER = 8
MAX_ITERATIONS = 80
MAX_INTERVALS = 4_000_000


@dataclass
class QuadratureResult:
    """Integrals per owner, their error estimates, and the work done."""

    estimate: np.ndarray  # (n_owners, C)
    error: np.ndarray  # (n_owners, C)
    converged: np.ndarray  # (n_owners,) bool
    n_evaluations: int


def _gauss_values(func, owner, a, b, nodes, weights):
    """n-point Gauss-Legendre values of func on intervals [a, b] (vectorized)."""
    half = 0.5 * (b - a)
    x = (0.5 * (a + b))[:, None] + half[:, None] * nodes[None, :]
    o = np.repeat(owner, nodes.size)
    f = func(x.reshape(-1), o)
    f = f.reshape(a.size, nodes.size, -1)
    return np.einsum("ipc,p->ic", f, weights) * half[:, None]


def adaptive_integrate(func, owner, a, b, n_owners, tolerance, order=GAUSS_ORDER,
                       max_iterations=MAX_ITERATIONS, max_intervals=MAX_INTERVALS):
    """Integrate func over the union of initial intervals of each owner.

    Parameters
    ----------
    func : callable
        ``func(x, owner) -> (len(x), C)`` array; x are abscissae, owner their owner index.
    owner, a, b : (I,) arrays
        Initial intervals [a, b] and the integral (owner) each belongs to.
    n_owners : int
        Number of owners.
    tolerance : callable
        ``tolerance(estimate) -> (n_owners, C)`` absolute tolerances given the current
        estimates (may depend on them, e.g. relative to the largest element of a tensor).
    order : int
        Gauss-Legendre points per interval.

    Returns
    -------
    QuadratureResult
    """
    nodes, weights = np.polynomial.legendre.leggauss(order)
    owner = np.asarray(owner, dtype=np.intp)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    keep = b > a
    owner, a, b = owner[keep], a[keep], b[keep]
    value = _gauss_values(func, owner, a, b, nodes, weights)
    n_eval = a.size * order
    error = np.full_like(value, np.inf)
    refine = np.ones(a.size, dtype=bool)
    converged = np.zeros(n_owners, dtype=bool)

    for _ in range(max_iterations):
        if refine.any():
            o, lo, hi, parent = owner[refine], a[refine], b[refine], value[refine]
            mid = 0.5 * (lo + hi)
            both_o = np.concatenate([o, o])
            both_a = np.concatenate([lo, mid])
            both_b = np.concatenate([mid, hi])
            child = _gauss_values(func, both_o, both_a, both_b, nodes, weights)
            n_eval += both_a.size * order
            n = o.size
            err = np.abs(child[:n] + child[n:] - parent)
            stay = ~refine
            owner = np.concatenate([owner[stay], both_o])
            a = np.concatenate([a[stay], both_a])
            b = np.concatenate([b[stay], both_b])
            value = np.concatenate([value[stay], child])
            error = np.concatenate([error[stay], 0.5 * err, 0.5 * err])

        estimate = _per_owner(value, owner, n_owners)
        total_error = _per_owner(error, owner, n_owners)
        tol = np.broadcast_to(tolerance(estimate), estimate.shape)
        converged = np.all(total_error <= tol, axis=1)
        if converged.all() or a.size > max_intervals:
            break
        # Error in units of the owner's tolerance; refine intervals above their fair share.
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.nanmax(np.where(tol[owner] > 0, error / tol[owner],
                                        np.where(error > 0, np.inf, 0.0)), axis=1)
        counts = np.bincount(owner, minlength=n_owners)
        share = 0.5 / np.maximum(counts[owner], 1)
        refine = (~converged[owner]) & (scaled > share)
        # Never split below floating-point resolution of the abscissa.
        refine &= (b - a) > 1e-13 * np.maximum(np.abs(a) + np.abs(b), 1e-300)
        if not refine.any():
            break

    estimate = _per_owner(value, owner, n_owners)
    total_error = _per_owner(error, owner, n_owners)
    return QuadratureResult(estimate, total_error, converged, n_eval)


def _per_owner(values, owner, n_owners):
    out = np.zeros((n_owners, values.shape[1]))
    np.add.at(out, owner, values)
    return out
