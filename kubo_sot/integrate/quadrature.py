"""Batched adaptive Gauss-Legendre quadrature with an error estimate.

Many one-dimensional integrals ("owners", e.g. the radial integrals along many rays) are
refined together so that every function call evaluates a large array of points.  Each
interval carries its n-point Gauss-Legendre value and an error estimate from the highest
Legendre coefficients of the polynomial interpolating the integrand at the nodes (a "null
rule": E = (b - a)(|c_{n-1}| + |c_{n-2}|), reduced by r^4 where r < 1 is the largest
ratio of |c_j| + |c_{j+1}| between consecutive pairs of the top ten coefficients, i.e. where
they decay all the way).  For a resolved integrand the coefficients decay
geometrically and the Gauss error, of the order of c_{2n}, is still far below E, so E is a
conservative estimate; an unresolved feature keeps the top coefficients large and the
interval is bisected.  Intervals are refined where their error exceeds their share
of the tolerance of their owner (error equidistribution), until every owner meets its
absolute tolerance in every component.
"""

import functools
from dataclasses import dataclass

import numpy as np

GAUSS_ORDER = 12
# Reduce the null rule only where every pair ratio is below this (1: any decay).
DECAY_RATIO = 1.0
# Gauss error ~ r^((n+1)/2) = r^6.5 for n = 12; r^4 keeps a margin of r^2.5.
DECAY_POWER = 4
# Steps of two degrees (from the top) whose decay ratios enter r (the largest of them).
# One step is not enough: Legendre coefficients of a function with complex poles
# oscillate, so the top pair can drop by chance while the error is still large.
# Calibrated on 368k (interval, component) samples of the Kubo-Bastin integrands (the
# benchmark points, initial intervals and three bisections, Gauss-80 reference): with one
# step (and r < 1/4 required) 410 of the 3108 errors above 1e-13 of the largest component
# were underestimated, by up to 1e4; with four steps none (smallest estimate/error 1.1),
# at a median overestimate of 5e4 (the plain null rule: 9e6).
DECAY_PAIRS = 4
MAX_ITERATIONS = 80
MAX_INTERVALS = 400_000
# Points per function call: bounds the memory of the integrand's temporaries, and keeps
# them small (~1 MB) so that they are reused from the heap rather than page-faulted anew
# (16384 cost ~0.2 us per k-point more).
CHUNK_POINTS = 2048


@dataclass
class Intervals:
    """The current partition: interval owners and ends, with their values and errors."""

    owner: np.ndarray  # (I,)
    a: np.ndarray  # (I,)
    b: np.ndarray  # (I,)
    value: np.ndarray  # (I, C)
    error: np.ndarray  # (I, C)

    def columns(self, index):
        """The same partition with only the integrand components ``index``."""
        return Intervals(self.owner, self.a, self.b, self.value[:, index],
                         self.error[:, index])


@dataclass
class QuadratureResult:
    """Integrals per owner, their error estimates, the work done and the final partition
    (from which a later call may continue refining)."""

    estimate: np.ndarray  # (n_owners, C)
    error: np.ndarray  # (n_owners, C)
    converged: np.ndarray  # (n_owners,) bool
    n_evaluations: int
    intervals: Intervals = None
    budget_exhausted: bool = False  # refinement ended by max_evaluations or stop


class _Rule:
    """n-point Gauss-Legendre rule with its Legendre-coefficient error estimate."""

    def __init__(self, order):
        self.nodes, self.weights = np.polynomial.legendre.leggauss(order)
        vander = np.polynomial.legendre.legvander(self.nodes, order - 1)  # P_j(x_i)
        # Top coefficients c_j = (2j + 1)/2 sum_i w_i f_i P_j(x_i), j = n - m .. n - 1.
        m = 2 * DECAY_PAIRS + 2
        top = vander[:, -m:] * self.weights[:, None] * (np.arange(order - m, order) + 0.5)
        self.top_coefficients = np.ascontiguousarray(top.T)  # (m, order)
        self.decay_ratio, self.decay_power = DECAY_RATIO, DECAY_POWER

    def apply(self, func, owner, a, b, compiled=None):
        """Values and error estimates on intervals [a, b] (vectorized over intervals).

        The intervals are processed in blocks of about CHUNK_POINTS abscissae, so that the
        temporaries (integrand values, Legendre coefficients) never exceed one block
        whatever the number of intervals; only the per-interval results are kept.
        """
        block = max(CHUNK_POINTS // self.nodes.size, 1)
        parts = [self._apply_block(func, owner[i:i + block], a[i:i + block], b[i:i + block],
                                   compiled) for i in range(0, a.size, block)]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    def _apply_block(self, func, owner, a, b, compiled):
        if compiled is not None:
            return compiled(owner, a, b, self)
        half = 0.5 * (b - a)
        # Node-major abscissae: the values reshape to (n, I*C), and the rule and the
        # Legendre coefficients are two matrix products over the node axis.
        n = self.nodes.size
        x = (0.5 * (a + b))[None, :] + self.nodes[:, None] * half[None, :]
        f = func(x.reshape(-1), np.tile(owner, n))
        n_comp = f.shape[1]
        f = f.reshape(n, a.size * n_comp)
        value = (self.weights @ f).reshape(a.size, n_comp) * half[:, None]
        c = np.abs(self.top_coefficients @ f).reshape(-1, a.size, n_comp)
        pairs = c[0::2] + c[1::2]  # |c_j| + |c_{j+1}| for the top pairs, ascending j
        last = pairs[-1]  # |c_{n-2}| + |c_{n-1}|
        # Where the coefficients decay (r, the largest ratio over the last DECAY_PAIRS
        # steps of two degrees, below DECAY_RATIO), the Gauss error, of the order of
        # c_{2n} ~ last * r^((n+1)/2), is bounded by the still conservative
        # last * r^DECAY_POWER; elsewhere the plain null-rule value is kept.
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.max(np.where(pairs[:-1] > 0, pairs[1:] / pairs[:-1], 1.0), axis=0)
        factor = np.where(r < self.decay_ratio, r**self.decay_power, 1.0)
        return value, last * factor * (2.0 * half)[:, None]


@functools.lru_cache(maxsize=4)
def _rule(order):
    return _Rule(order)


def adaptive_integrate(func, owner, a, b, n_owners, tolerance, order=GAUSS_ORDER,
                       max_iterations=None, max_intervals=None, initial=None, compiled=None,
                       max_evaluations=None, stop=None):
    """Integrate func over the union of initial intervals of each owner.

    Parameters
    ----------
    func : callable
        ``func(x, owner) -> (len(x), C)`` array; x are abscissae, owner their owner index.
    owner, a, b : (I,) arrays
        Initial intervals [a, b] and the integral (owner) each belongs to.
    n_owners : int
        Number of owners.
    tolerance : array_like
        Absolute tolerances, broadcastable to (n_owners, C).
    order : int
        Gauss-Legendre points per interval.
    initial : Intervals, optional
        A partition already evaluated (``result.intervals`` of an earlier call with the
        same func and order, e.g. a pilot run with max_iterations=1): refinement continues
        from it and owner, a, b are ignored.
    compiled : callable, optional
        ``compiled(owner, a, b, rule) -> (value, error)``, both (I, C): the rule and its
        error estimate applied to func on the intervals by a compiled kernel that never
        returns func's values; func is then not called.
    max_evaluations : int, optional
        Budget of func's abscissae in this call (initial intervals included): a refinement
        pass that would exceed it is not started, and the result is returned unconverged
        with its honest error estimate (``budget_exhausted``).
    stop : callable, optional
        ``stop(n_new) -> bool``, asked before each refinement pass with the number of
        abscissae it would evaluate: True ends the refinement as max_evaluations does (a
        budget shared with other calls, e.g. the k-points of nested quadratures).

    Returns
    -------
    QuadratureResult
    """
    max_iterations = MAX_ITERATIONS if max_iterations is None else max_iterations
    max_intervals = MAX_INTERVALS if max_intervals is None else max_intervals
    rule = _rule(order)
    owner = np.asarray(owner, dtype=np.intp)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if initial is None:
        keep = b > a
        owner, a, b = owner[keep], a[keep], b[keep]
        value, error = rule.apply(func, owner, a, b, compiled)
        n_eval = a.size * order
    else:
        owner, a, b = initial.owner, initial.a, initial.b
        value, error = initial.value, initial.error
        n_eval = 0
    refine = np.zeros(a.size, dtype=bool)
    converged = np.zeros(n_owners, dtype=bool)
    exhausted = False

    for _ in range(max_iterations):
        if refine.any():
            n_new = 2 * int(np.count_nonzero(refine)) * order
            if ((max_evaluations is not None and n_eval + n_new > max_evaluations)
                    or (stop is not None and stop(n_new))):
                exhausted = True
                break
            o, lo, hi = owner[refine], a[refine], b[refine]
            mid = 0.5 * (lo + hi)
            both_o = np.concatenate([o, o])
            both_a = np.concatenate([lo, mid])
            both_b = np.concatenate([mid, hi])
            child, child_error = rule.apply(func, both_o, both_a, both_b, compiled)
            n_eval += both_a.size * order
            stay = ~refine
            owner = np.concatenate([owner[stay], both_o])
            a = np.concatenate([a[stay], both_a])
            b = np.concatenate([b[stay], both_b])
            value = np.concatenate([value[stay], child])
            error = np.concatenate([error[stay], child_error])

        total_error = _per_owner(error, owner, n_owners)
        tol = np.broadcast_to(tolerance, total_error.shape)
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
    if max_iterations < 1:
        total_error = _per_owner(error, owner, n_owners)
    return QuadratureResult(estimate, total_error, converged, n_eval,
                            Intervals(owner, a, b, value, error), exhausted)


def _per_owner(values, owner, n_owners):
    """Sum of the interval values of each owner, (n_owners, C): one bincount over the
    flat index owner * C + component (np.add.at is several times slower)."""
    n_comp = values.shape[1]
    flat = (owner[:, None] * n_comp + np.arange(n_comp)).reshape(-1)
    return np.bincount(flat, weights=values.reshape(-1),
                       minlength=n_owners * n_comp).reshape(n_owners, n_comp)
