"""Adaptive cubature over the whole Brillouin zone of a two-dimensional lattice.

    Int_BZ d^2k/(2 pi)^2 F(k) = (1 / A_cell) Int_0^1 Int_0^1 du1 du2 F(u1 b1 + u2 b2)

with b1, b2 the reciprocal vectors and A_cell the area of the real-space cell
(d^2k = |b1 x b2| du1 du2 = (2 pi)^2 / A_cell du1 du2).  Any oblique cell works the same
way: the integrand of a Kubo-Bastin trace is gauge invariant, hence periodic in (u1, u2),
and the unit square in reduced coordinates tiles the zone exactly.

The square is split into rectangular cells, each integrated by the p x p Gauss-Legendre
product rule (``ORDER`` = 8).  A cell's error estimate is, along each axis, the null-rule
estimate of :mod:`kubo_sot.integrate.quadrature` (its top Legendre coefficients, reduced
where they decay) on every line of nodes, integrated over the other axis with the Gauss
weights; the two axes' estimates add.  Cells are split along the axis whose estimate
dominates (both if comparable), so that cells along a Fermi contour become long and thin
and follow it: the integrand is sharp (width Gamma / |hbar v|) only across the contour.

Resolution first, then error control.  Before any estimate is trusted, every cell is
sampled on a 3 x 3 grid of band energies and split, along each axis separately, while

- a band spans more than ``RESOLVED_SPREAD`` energy widths W = max(Gamma, k_B T) across the
  cell along that axis and the Fermi energy lies within the band's range over the cell
  widened by that span (a Fermi contour, a small pocket or a saddle near mu may pass
  through it), or
- two adjacent bands come within ``NEAR_GAP`` widths of each other in the cell and their
  gap varies by more than ``RESOLVED_SPREAD`` times max(gap, Gamma) along that axis (the
  interband terms, e.g. the Berry curvature of the Fermi sea, peak there on that scale).

A Lorentzian of width W across a cell that spans RESOLVED_SPREAD W is resolved by the
8-point rule to ~1e-6 of its integral (its poles lie outside the Bernstein ellipse of
rho = 1 + sqrt(2)), so features narrower than the initial cells cannot slip between nodes
unseen by the estimate.  Then the cells whose estimates carry most of the error are split
until the summed estimate meets the tolerance in every component, or the k-point budget is
spent (the result then says it did not converge, with its error estimate).

A uniform periodic mesh converges like exp(-2 pi Gamma / (hbar v dk)) and so needs
~(v / Gamma)^2 points over the whole zone; here only the cells on the contours and near
band crossings are small, ~(v / Gamma) of them, which is what wins at small Gamma
(benchmarks/brillouin_zone.py).
"""

from dataclasses import dataclass

import numpy as np

from .kspace import MAX_KPOINTS, KSpaceIntegral

ORDER = 8
# Decay of the top Legendre coefficients over DECAY_PAIRS steps of two degrees reduces the
# null rule by r^DECAY_POWER (Gauss error ~ r^((p + 1) / 2) = r^4.5 for p = 8: a margin of
# r^2.5 as in the one-dimensional rule).
DECAY_PAIRS = 2
DECAY_POWER = 3.5
# Initial cells per axis (the 3 x 3 band samples of each then sit 1/32 of b apart).
INITIAL_CELLS = 16
RESOLVED_SPREAD = 2.0
NEAR_GAP = 10.0
# Splits of a cell before it is narrower than rounding of its reduced coordinate allows.
SMALLEST_CELL = 1e-10
MAX_ROUNDS = 60
# Cells evaluated per integrand call (CELL_BLOCK * ORDER^2 k-points).
CELL_BLOCK = 64
# Cells whose 3 x 3 band samples are taken per call.
SAMPLE_BLOCK = 4096


@dataclass
class _Cells:
    """Rectangles [x, x + hx] x [y, y + hy] in reduced coordinates, with their values and
    error estimates along each axis."""

    x: np.ndarray
    y: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    value: np.ndarray = None  # (K, C)
    error_x: np.ndarray = None  # (K, C)
    error_y: np.ndarray = None  # (K, C)

    def take(self, index):
        pick = [None if a is None else a[index] for a in
                (self.value, self.error_x, self.error_y)]
        return _Cells(self.x[index], self.y[index], self.hx[index], self.hy[index], *pick)

    @staticmethod
    def join(parts):
        def cat(name):
            arrays = [getattr(p, name) for p in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays)
        return _Cells(*(cat(n) for n in ("x", "y", "hx", "hy", "value", "error_x",
                                         "error_y")))

    def split(self, along_x, along_y):
        """Children of every cell: halves along the axes flagged, quarters where both."""
        parts = []
        for sx in (0, 1):
            for sy in (0, 1):
                keep = (along_x | (sx == 0)) & (along_y | (sy == 0))
                hx = np.where(along_x, 0.5 * self.hx, self.hx)[keep]
                hy = np.where(along_y, 0.5 * self.hy, self.hy)[keep]
                parts.append(_Cells(self.x[keep] + sx * hx, self.y[keep] + sy * hy, hx, hy))
        return _Cells.join(parts)


class _ProductRule:
    """p x p Gauss-Legendre rule on a cell with a null-rule error estimate per axis."""

    def __init__(self, order=ORDER):
        nodes, self.weights = np.polynomial.legendre.leggauss(order)
        self.nodes = 0.5 * (nodes + 1.0)  # on [0, 1]
        m = 2 * DECAY_PAIRS + 2
        vander = np.polynomial.legendre.legvander(nodes, order - 1)
        top = vander[:, -m:] * self.weights[:, None] * (np.arange(order - m, order) + 0.5)
        self.top = np.ascontiguousarray(top.T)  # (m, p): c_j of the interpolant on [-1, 1]

    def points(self, cells):
        """Reduced coordinates of the nodes, (K, p, p) each, node [i, j] at (x_i, y_j)."""
        u1 = cells.x[:, None, None] + cells.hx[:, None, None] * self.nodes[None, :, None]
        u2 = cells.y[:, None, None] + cells.hy[:, None, None] * self.nodes[None, None, :]
        return np.broadcast_arrays(u1, u2)

    def _line_errors(self, f):
        """Null-rule error per line along axis 1 of f (K, p, q, C), per unit length,
        (K, q, C).  The Legendre coefficients are one matrix product over the node axis."""
        k, p, q, n_comp = f.shape
        nodes_first = np.moveaxis(f, 1, 0).reshape(p, -1)
        c = np.abs(self.top @ nodes_first).reshape(-1, k, q, n_comp)
        pairs = c[0::2] + c[1::2]
        last = pairs[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.max(np.where(pairs[:-1] > 0, pairs[1:] / pairs[:-1], 1.0), axis=0)
        return last * np.where(r < 1.0, r**DECAY_POWER, 1.0)

    def apply(self, cells, f):
        """Value and per-axis error estimates of each cell from its node values f
        (K, p, p, C); lengths in reduced units (the caller scales by 1 / A_cell)."""
        area = (cells.hx * cells.hy)[:, None]
        k, p, _, n_comp = f.shape
        w = 0.5 * self.weights
        value = (np.outer(w, w).reshape(-1) @ f.reshape(k, p * p, n_comp)) * area
        error_x = (w @ self._line_errors(f)) * area
        error_y = (w @ self._line_errors(np.swapaxes(f, 1, 2))) * area
        return value, error_x, error_y


def _evaluate(rule, cells, integrand, reciprocal):
    """Fill values and errors of ``cells`` from the integrand, CELL_BLOCK cells a call."""
    p = rule.nodes.size
    values, errors_x, errors_y = [], [], []
    for i in range(0, cells.x.size, CELL_BLOCK):
        block = cells.take(slice(i, i + CELL_BLOCK))
        u1, u2 = rule.points(block)
        kx = u1 * reciprocal[0, 0] + u2 * reciprocal[1, 0]
        ky = u1 * reciprocal[0, 1] + u2 * reciprocal[1, 1]
        f = integrand(kx.reshape(-1), ky.reshape(-1))
        f = f.reshape(block.x.size, p, p, f.shape[-1])
        v, ex, ey = rule.apply(block, f)
        values.append(v)
        errors_x.append(ex)
        errors_y.append(ey)
    cells.value = np.concatenate(values)
    cells.error_x = np.concatenate(errors_x)
    cells.error_y = np.concatenate(errors_y)
    return cells


def _unresolved(cells, band_energies, reciprocal, fermi_energy, energy_width, gamma):
    """Axes along which each cell must be split before its estimate can be trusted
    (module docstring), from band energies on a 3 x 3 grid of the cell."""
    if cells.x.size > SAMPLE_BLOCK:
        parts = [_unresolved(cells.take(slice(i, i + SAMPLE_BLOCK)), band_energies,
                             reciprocal, fermi_energy, energy_width, gamma)
                 for i in range(0, cells.x.size, SAMPLE_BLOCK)]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(2))
    t = np.array([0.0, 0.5, 1.0])
    u1 = cells.x[:, None, None] + cells.hx[:, None, None] * t[None, :, None]
    u2 = cells.y[:, None, None] + cells.hy[:, None, None] * t[None, None, :]
    u1, u2 = np.broadcast_arrays(u1, u2)
    kx = u1 * reciprocal[0, 0] + u2 * reciprocal[1, 0]
    ky = u1 * reciprocal[0, 1] + u2 * reciprocal[1, 1]
    e = band_energies(kx.reshape(-1), ky.reshape(-1)).reshape(cells.x.size, 3, 3, -1)

    def spreads(y):  # (K, 3, 3, B) -> spread along axis 1, along axis 2, low, high
        sx = np.max(np.ptp(y, axis=1), axis=1)
        sy = np.max(np.ptp(y, axis=2), axis=1)
        return sx, sy, np.min(y, axis=(1, 2)), np.max(y, axis=(1, 2))

    sx, sy, low, high = spreads(e)
    span = np.maximum(sx, sy)
    near_mu = ((low - span - RESOLVED_SPREAD * energy_width <= fermi_energy)
               & (fermi_energy <= high + span + RESOLVED_SPREAD * energy_width))
    limit = RESOLVED_SPREAD * energy_width
    along_x = np.any(near_mu & (sx > limit), axis=1)
    along_y = np.any(near_mu & (sy > limit), axis=1)
    if e.shape[-1] > 1:
        gap = np.diff(e, axis=-1)
        gx, gy, g_low, _ = spreads(gap)
        scale = RESOLVED_SPREAD * np.maximum(g_low, gamma)
        near = g_low <= NEAR_GAP * gamma + np.maximum(gx, gy)
        along_x |= np.any(near & (gx > scale), axis=1)
        along_y |= np.any(near & (gy > scale), axis=1)
    return along_x, along_y


def _resolve(cells, band_energies, reciprocal, fermi_energy, energy_width, gamma,
             max_cells):
    """Split cells until every one is resolved (module docstring); returns the cells and
    False if the budget ``max_cells`` or the smallest cell size stopped it first."""
    done = []
    n_done = 0
    for _ in range(MAX_ROUNDS):
        along_x, along_y = _unresolved(cells, band_energies, reciprocal, fermi_energy,
                                       energy_width, gamma)
        along_x &= cells.hx > SMALLEST_CELL
        along_y &= cells.hy > SMALLEST_CELL
        split = along_x | along_y
        done.append(cells.take(~split))
        n_done += int(np.count_nonzero(~split))
        if not split.any():
            return _Cells.join(done), True
        cells = cells.take(split).split(along_x[split], along_y[split])
        if n_done + cells.x.size > max_cells:
            break
    done.append(cells)
    return _Cells.join(done), False


def integrate_brillouin_zone(model, integrand, fermi_energy, energy_width, tolerance, *,
                             broadening=None, max_kpoints=MAX_KPOINTS,
                             initial_cells=INITIAL_CELLS, max_forced_kpoints=None):
    """Int_BZ d^2k/(2 pi)^2 integrand(kx, ky) with an error estimate (module docstring).

    Parameters
    ----------
    model : lattice model
        Supplies ``reciprocal_vectors`` ((2, 2), rows b1, b2, nm^-1), ``cell_area``
        (nm^2) and ``band_energies(kx, ky) -> (P, N)`` (eV) to place the cells.
    integrand : callable
        ``integrand(kx, ky) -> (P, C)`` for flat arrays of wave vectors (nm^-1).
    fermi_energy : float
        Chemical potential in eV.
    energy_width : float
        Width of the sharp features at the Fermi contours, max(Gamma, k_B T), in eV.
    tolerance : callable or array_like
        ``tolerance(estimate, magnitude) -> (C,)`` absolute tolerances given a pilot
        estimate of the integral and of Int |integrand| (as in
        :func:`kubo_sot.integrate.kspace.integrate_kspace`), or the tolerances directly.
    broadening : float, optional
        Gamma in eV, the width of the interband features (default energy_width).
    max_kpoints : int
        Budget of integrand evaluations; the result reports ``converged=False`` (with its
        error estimate) when refinement would exceed it.
    initial_cells : int
        Cells per reciprocal axis before any refinement.
    max_forced_kpoints : int, optional
        When the cells that the band samples force (every Fermi crossing resolved to its
        width, known before the integrand is evaluated) would cost more k-points than this,
        return None at once, without evaluating the integrand: the caller then takes a
        scheme whose cost grows more slowly as the width falls.

    Returns
    -------
    KSpaceIntegral or None
        ``estimate``, ``error`` (summed cell estimates), ``converged``, ``n_kpoints`` (all
        integrand evaluations, band-energy samples not counted) and ``magnitude``
        (Int |integrand| on the pilot cells); None as said under ``max_forced_kpoints``.
    """
    rule = _ProductRule()
    reciprocal = np.asarray(model.reciprocal_vectors, float)
    norm = 1.0 / float(model.cell_area)
    per_cell = rule.nodes.size ** 2
    gamma = energy_width if broadening is None else broadening
    n0 = int(initial_cells)
    grid = (np.arange(n0) / n0)
    x, y = np.meshgrid(grid, grid, indexing="ij")
    cells = _Cells(x.reshape(-1), y.reshape(-1), np.full(n0 * n0, 1.0 / n0),
                   np.full(n0 * n0, 1.0 / n0))
    cells, resolved = _resolve(cells, model.band_energies, reciprocal, fermi_energy,
                               energy_width, gamma, max_kpoints // per_cell)
    if max_forced_kpoints is not None and cells.x.size * per_cell > max_forced_kpoints:
        return None

    # Pilot: the resolved cells with |integrand| alongside, for the tolerance's scale.
    def with_magnitude(kx, ky):
        f = integrand(kx, ky)
        return np.concatenate([f, np.abs(f)], axis=1)

    cells = _evaluate(rule, cells, with_magnitude, reciprocal)
    n_kpoints = cells.x.size * per_cell
    n = cells.value.shape[1] // 2
    magnitude = norm * cells.value[:, n:].sum(axis=0)
    cells.value, cells.error_x, cells.error_y = (
        cells.value[:, :n], cells.error_x[:, :n], cells.error_y[:, :n])
    estimate = norm * cells.value.sum(axis=0)
    atol = (np.asarray(tolerance(estimate, magnitude), float) if callable(tolerance)
            else np.broadcast_to(np.asarray(tolerance, float), (n,)))
    atol = np.maximum(atol, 1e-300) / norm  # in reduced units

    converged = False
    exhausted = False  # the budget, not the tolerance, ended refinement
    for _ in range(MAX_ROUNDS):
        error = cells.error_x + cells.error_y  # (K, C)
        total = error.sum(axis=0)
        if np.all(total <= atol):
            converged = resolved
            break
        # Split the cells that carry most of the excess: in order of their largest
        # error in units of the tolerance, until the rest would meet half of it.
        scaled = np.max(error / atol, axis=1)
        order = np.argsort(-scaled)
        remaining = total - np.cumsum(error[order], axis=0)
        enough = np.all(remaining <= 0.5 * atol, axis=1)
        count = int(np.argmax(enough)) + 1 if enough.any() else order.size
        chosen = order[:count]
        chosen = chosen[(cells.hx[chosen] > SMALLEST_CELL) | (cells.hy[chosen] > SMALLEST_CELL)]
        if chosen.size == 0:
            break
        ex = np.max(cells.error_x[chosen] / atol, axis=1)
        ey = np.max(cells.error_y[chosen] / atol, axis=1)
        along_x = (ex >= 0.25 * ey) & (cells.hx[chosen] > SMALLEST_CELL)
        along_y = (ey >= 0.25 * ex) & (cells.hy[chosen] > SMALLEST_CELL)
        along_x |= ~(along_x | along_y)
        parent = cells.take(chosen)
        children = parent.split(along_x, along_y)
        if n_kpoints + children.x.size * per_cell > max_kpoints:
            exhausted = True
            break
        children = _evaluate(rule, children, integrand, reciprocal)
        n_kpoints += children.x.size * per_cell
        keep = np.ones(cells.x.size, bool)
        keep[chosen] = False
        cells = _Cells.join([cells.take(keep), children])

    error = norm * (cells.error_x + cells.error_y).sum(axis=0)
    converged = bool(converged and np.all(error <= atol * norm))
    return KSpaceIntegral(norm * cells.value.sum(axis=0), error, converged, n_kpoints,
                          magnitude, budget_exhausted=exhausted and not converged)
