"""Brillouin-zone integration by iterated one-dimensional adaptive quadrature along lines.

    Int_BZ d^2k/(2 pi)^2 F(k) = (1 / A_cell) Int_0^1 du1 Int_0^1 du2 F(u1 b1 + u2 b2)

(reduced coordinates u, b1, b2 the reciprocal vectors, A_cell the real-space cell area).

Why lines.  The Kubo-Bastin integrands are sharp (width w = W / |dE/du|, W = max(Gamma,
k_B T)) only across the Fermi contours.  A line crosses each contour at a few points,
found from the band energies sampled on it; the line's initial intervals are graded
geometrically around every crossing down to its width, so each line integral costs
O(log 1/w) Gauss points, and the outer integral over the lines, a smooth function of the
line's position, costs O(log 1/w) lines: O(log^2 1/w) in all, against ~1/w cells of a 2D
adaptive cubature and ~1/w^2 points of a uniform mesh.

Tangents.  Where a contour is tangent to the lines, the line integral as a function of
the line's position has a square-root feature of width ~w, which the outer quadrature
would have to grade.  The integrand is split by a smooth partition of unity,

    F = F chi + F (1 - chi),

and F chi is integrated on lines along u2 (at fixed u1), F (1 - chi) on lines along u1.
chi(u) in [0, 1] vanishes where the contours of the bands near the Fermi energy are
(close to) parallel to the u2 axis (their gradient along u1: those lines would touch them)
and equals 1 where they are parallel to u1, so neither family of lines meets a tangent.
It is built from the structure tensor of the band gradients g_n = dE_n/du,

    A_ij(u) = sum_n p_n(u) g_n,i g_n,j,
    p_n = D^2 / ((E_n - mu)^2 + D^2),

sampled on a CHI_GRID^2 mesh, blurred by a Gaussian of CHI_BLUR mesh spacings and replaced
by its trigonometric interpolant (so A, hence chi, is periodic, analytic and band-limited:
it has no feature narrower than ~1 / CHI_GRID, and costs O(CHI_GRID) per point on a line),
then X = (A_22 - A_11) / (|A_11| + |A_22| + EPSILON) and chi = erfc(-STEEPNESS X) / 2.
The partition is exact whatever chi is; chi only decides which family of lines sees which
part, hence the cost, never the value.  Where the weight (chi or 1 - chi) is below
WEIGHT_FLOOR, the integrand is not evaluated (those points are not counted in
``n_kpoints``).  The width D >> W of the proximity weights is set by the mesh
(``CHI_SPREAD`` mesh spacings of the steepest band, at least 10 W), so chi barely depends
on Gamma.

Error estimate (as :func:`kubo_sot.integrate.kspace.integrate_kspace` does for rays): for
each family, the outer adaptive estimate plus the outer integral of the line estimates;
the two families add.  Each family gets half the tolerance, and within it the outer
quadrature and the lines half each.
"""

import numpy as np
from scipy.special import erfc

from .kspace import GRADING_FACTOR, GRADING_STEPS, MAX_KPOINTS, KSpaceIntegral
from .quadrature import adaptive_integrate

# Band samples per line for its Fermi crossings, extrema and minimal gaps.
LINE_SAMPLES = 96
# Illinois (modified regula falsi) steps refining each bracketed crossing.
CROSSING_STEPS = 8
# Uniform panels of every line besides its breakpoints.
LINE_PANELS = 8
# Outer integral: nested periodic trapezoid rules on these numbers of lines, then (if it
# does not converge geometrically) adaptive Gauss panels, OUTER_PANELS uniform to start.
PERIODIC_LINES = (16, 32, 64, 128, 256, 512)
PERIODIC_MIN_DECAY = 4.0
OUTER_PANELS = 8
# An extremum of a band within EXTREMUM_NEAR widths W of mu, and a minimal gap between
# adjacent bands below NEAR_GAP Gamma, are graded like a crossing (their Lorentzian
# features have width sqrt(max(W, |E* - mu|) / |E''|/2) along the line); others are plain
# breakpoints.
EXTREMUM_NEAR = 100.0
NEAR_GAP = 10.0
# Partition of unity (module docstring).
CHI_GRID = 64
CHI_SPREAD = 2.5
CHI_BLUR = 1.5  # Gaussian blur of the structure tensor, in mesh spacings
EPSILON = 0.02  # in units of the mesh mean of A_11 + A_22
STEEPNESS = 4.0
WEIGHT_FLOOR = 1e-15
FINITE_DIFFERENCE = 1e-6  # step in u of the band gradients on the mesh
MAX_OUTER_STEPS = 60
# Partition weights: one matrix product per line when it has at least this many points
# of a batch (cheaper than gathering the line's coefficients for every point).
LINE_GROUPING = 32


class BudgetExhausted(Exception):
    """Raised inside the integrand wrapper when the next batch would exceed max_kpoints."""


def _to_k(reciprocal, u1, u2):
    return (u1 * reciprocal[0, 0] + u2 * reciprocal[1, 0],
            u1 * reciprocal[0, 1] + u2 * reciprocal[1, 1])


class Partition:
    """The partition of unity chi(u1, u2) of the module docstring.

    ``chi(u1, u2)`` evaluates it anywhere; ``line_weights(axis, s)`` prepares the
    coefficients of lines at outer coordinate(s) s (axis 0: lines along u2 at u1 = s,
    weight chi; axis 1: lines along u1 at u2 = s, weight 1 - chi), and
    ``weight(axis, coefficients, owner, t)`` evaluates them at inner coordinates t.
    """

    def __init__(self, band_energies, reciprocal, fermi_energy, energy_width,
                 grid=CHI_GRID):
        m = int(grid)
        g = np.arange(m) / m
        u1, u2 = (a.reshape(-1) for a in np.meshgrid(g, g, indexing="ij"))
        h = FINITE_DIFFERENCE

        def bands(x, y):
            return band_energies(*_to_k(reciprocal, x, y))

        e = bands(u1, u2)  # (M^2, N)
        g1 = (bands(u1 + h, u2) - bands(u1 - h, u2)) / (2 * h)
        g2 = (bands(u1, u2 + h) - bands(u1, u2 - h)) / (2 * h)
        norm2 = g1 * g1 + g2 * g2
        g_max = float(np.sqrt(np.max(norm2))) if norm2.size else 0.0
        spread = max(CHI_SPREAD * g_max / m, 10.0 * energy_width, 1e-12)
        p = spread**2 / ((e - fermi_energy) ** 2 + spread**2)
        a11 = np.sum(p * g1 * g1, axis=1).reshape(m, m)
        a22 = np.sum(p * g2 * g2, axis=1).reshape(m, m)
        self.spread = spread
        self.epsilon = EPSILON * float(np.mean(a11 + a22)) + 1e-300
        # Coefficients c[j, l] of exp(2 pi i (j u1 + l u2)), |j|, |l| < M/2 (Nyquist
        # dropped so that the interpolant is real), stacked for the two fields, times the
        # Gaussian blur exp(-2 pi^2 rho^2 (j^2 + l^2)) of width rho = CHI_BLUR / M.
        half = m // 2
        freq = np.fft.fftfreq(m, 1.0 / m).astype(int)
        keep = np.abs(freq) < half
        self.freq = freq[keep]
        coeff = np.stack([np.fft.fft2(a) / (m * m) for a in (a11, a22)])
        blur = np.exp(-2 * (np.pi * CHI_BLUR / m * self.freq) ** 2)
        self.coeff = coeff[:, keep][:, :, keep] * blur[:, None] * blur[None, :]  # (2, F, F)

    def _fields(self, u1, u2):
        e1 = np.exp(2j * np.pi * np.multiply.outer(u1, self.freq))
        e2 = np.exp(2j * np.pi * np.multiply.outer(u2, self.freq))
        return np.einsum("pj,fjl,pl->fp", e1, self.coeff, e2).real

    def _chi(self, a11, a22):
        x = (a22 - a11) / (np.abs(a11) + np.abs(a22) + self.epsilon)
        return 0.5 * erfc(-STEEPNESS * x)

    def chi(self, u1, u2):
        """chi at reduced coordinates (flat arrays)."""
        u1, u2 = np.broadcast_arrays(np.asarray(u1, float), np.asarray(u2, float))
        a = self._fields(u1.reshape(-1), u2.reshape(-1))
        return self._chi(a[0], a[1]).reshape(u1.shape)

    def line_weights(self, axis, s):
        """Per-line coefficients (L, 2, F) of the fields along the inner coordinate."""
        e = np.exp(2j * np.pi * np.multiply.outer(np.asarray(s, float), self.freq))
        if axis == 0:  # u1 = s fixed, inner u2: sum over j
            return np.einsum("sj,fjl->sfl", e, self.coeff)
        return np.einsum("sl,fjl->sfj", e, self.coeff)

    def _harmonics(self, t):
        """exp(2 pi i f t) (P, F) for the frequencies f of ``self.freq`` (0, 1, ..., h-1,
        -(h-1), ..., -1): powers of exp(2 pi i t) by a running product, 3x cheaper than
        one complex exponential per element (rounding grows as f eps, < 1e-14 here)."""
        half = (self.freq.size + 1) // 2
        z = np.exp(2j * np.pi * np.asarray(t, float))
        powers = np.empty((z.size, half), complex)
        powers[:, 0] = 1.0
        np.cumprod(np.broadcast_to(z[:, None], (z.size, half - 1)), axis=1,
                   out=powers[:, 1:])
        return np.concatenate([powers, powers[:, :0:-1].conj()], axis=1)

    def weight(self, axis, coefficients, owner, t):
        """chi (axis 0) or 1 - chi (axis 1) at inner coordinates t of lines ``owner``."""
        e = self._harmonics(t)
        lines = np.unique(owner)
        if lines.size * LINE_GROUPING > owner.size:  # few points per line: one gather
            a = np.einsum("pfl,pl->fp", coefficients[owner], e).real
        else:  # many points per line: one (2, F) x (F, P_line) product per line
            a = np.empty((2, owner.size))
            order = np.argsort(owner, kind="stable")
            bounds = np.searchsorted(owner[order], lines)
            for line, lo, hi in zip(lines, bounds, np.append(bounds[1:], owner.size)):
                idx = order[lo:hi]
                a[:, idx] = (coefficients[line] @ e[idx].T).real
        chi = self._chi(a[0], a[1])
        return chi if axis == 0 else 1.0 - chi


def _line_points(axis, s, t):
    """(u1, u2) of inner coordinates t on lines at outer coordinates s (broadcast)."""
    return (s, t) if axis == 0 else (t, s)


def _parabola(y0, y1, y2):
    """Vertex offset (in sample spacings, from the middle sample), value and curvature
    (second difference) of the parabola through three equispaced samples."""
    c2 = y0 - 2 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(c2 != 0, 0.5 * (y0 - y2) / c2, 0.0)
    x = np.clip(x, -1.0, 1.0)
    return x, y1 + 0.25 * (y2 - y0) * x, c2


def line_breakpoints(band_energies, reciprocal, axis, s, fermi_energy, energy_width,
                     broadening, n_samples=LINE_SAMPLES):
    """Initial partition of lines (owner, a, b) on [0, 1] (module docstring).

    Breakpoints: LINE_PANELS uniform panels; every Fermi crossing c of every band (sign
    changes of E_n - mu between samples, refined by Illinois steps, and pairs of crossings
    between samples found from a parabola through a sampled extremum), graded as
    c +- w 2^j, j < GRADING_STEPS, w = W / |dE/dt|; band extrema and minimal gaps of
    adjacent bands (parabola vertices), graded when near mu or when the gap is small.
    """
    s = np.asarray(s, float)
    n_lines = s.size
    t = np.arange(n_samples) / n_samples
    dt = 1.0 / n_samples

    def bands_at(owner, tt):
        u1, u2 = _line_points(axis, s[owner], tt)
        return band_energies(*_to_k(reciprocal, u1, u2))

    owner_grid = np.repeat(np.arange(n_lines), n_samples)
    e = bands_at(owner_grid, np.tile(t, n_lines)).reshape(n_lines, n_samples, -1)
    n_bands = e.shape[-1]
    d = e - fermi_energy
    centres, widths, line_of = [], [], []

    # Sign changes between consecutive (cyclic) samples.
    d_next = np.roll(d, -1, axis=1)
    li, ji, ni = np.nonzero((d <= 0) != (d_next <= 0))
    if li.size:
        lo = t[ji].copy()
        hi = lo + dt
        f_lo = d[li, ji, ni].copy()
        f_hi = d_next[li, ji, ni].copy()
        side = np.zeros(li.size, int)
        rows = np.arange(li.size)
        for _ in range(CROSSING_STEPS):
            with np.errstate(divide="ignore", invalid="ignore"):
                c = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
            c = np.where(np.isfinite(c), np.clip(c, lo, hi), 0.5 * (lo + hi))
            f_c = bands_at(li, np.mod(c, 1.0))[rows, ni] - fermi_energy
            left = (f_c <= 0) == (f_lo <= 0)  # root in [c, hi]
            # Illinois: halve the stale end's value when the same end is kept twice.
            f_hi = np.where(left & (side == 1), 0.5 * f_hi, f_hi)
            f_lo = np.where(~left & (side == -1), 0.5 * f_lo, f_lo)
            lo, f_lo = np.where(left, c, lo), np.where(left, f_c, f_lo)
            hi, f_hi = np.where(left, hi, c), np.where(left, f_hi, f_c)
            side = np.where(left, 1, -1)
        slope = np.abs(d_next[li, ji, ni] - d[li, ji, ni]) / dt  # secant over the sample
        with np.errstate(divide="ignore", invalid="ignore"):
            local = np.abs((bands_at(li, np.mod(hi, 1.0))[rows, ni]
                            - bands_at(li, np.mod(lo, 1.0))[rows, ni]) / (hi - lo))
        slope = np.where(np.isfinite(local) & (hi - lo > 1e-9), local, slope)
        centres.append(0.5 * (lo + hi))
        widths.append(energy_width / np.maximum(slope, 1e-300))
        line_of.append(li)

    plain, plain_line = [], []

    def vertices(y):
        """Sampled local extrema of y (L, S, B): line, band, vertex t, value, signed
        curvature d^2y/dt^2 and the sample there."""
        y0, y2 = np.roll(y, 1, axis=1), np.roll(y, -1, axis=1)
        li, ji, ni = np.nonzero(((y > y0) & (y >= y2)) | ((y < y0) & (y <= y2)))
        x, value, c2 = _parabola(y0[li, ji, ni], y[li, ji, ni], y2[li, ji, ni])
        return li, ni, t[ji] + x * dt, value, c2 / dt**2, y[li, ji, ni]

    # Band extrema: pairs of crossings between samples, graded vertices near mu.
    li, ni, tv, value, curv, sample = vertices(d)
    curv = np.abs(curv)
    plain += [tv]
    plain_line += [li]
    missed = (value * sample < 0) & (curv > 0)
    if missed.any():
        half = np.sqrt(2 * np.abs(value[missed]) / curv[missed])
        for sign in (-1.0, 1.0):
            centres.append(tv[missed] + sign * half)
            widths.append(energy_width / np.maximum(curv[missed] * half, 1e-300))
            line_of.append(li[missed])
    near = (np.abs(value) < EXTREMUM_NEAR * energy_width) & (curv > 0)
    centres.append(tv[near])
    widths.append(np.sqrt(2 * np.maximum(energy_width, np.abs(value[near])) / curv[near]))
    line_of.append(li[near])

    # Minimal gaps of adjacent bands (vertices with positive curvature).
    if n_bands > 1:
        li, ni, tv, value, curv, _ = vertices(np.diff(e, axis=-1))
        minimum = curv > 0
        plain += [tv[minimum]]
        plain_line += [li[minimum]]
        small = minimum & (value < NEAR_GAP * broadening)
        centres.append(tv[small])
        widths.append(np.sqrt(2 * np.maximum(broadening, value[small]) / curv[small]))
        line_of.append(li[small])

    steps = GRADING_FACTOR ** np.arange(GRADING_STEPS)
    if centres:
        c = np.concatenate(centres)
        w = np.concatenate(widths)
        lines = np.concatenate(line_of)
        offsets = w[:, None] * steps[None, :]
        offsets = np.where(offsets < 0.5, offsets, np.nan)  # at most half the period
        graded = np.concatenate([c[:, None], c[:, None] - offsets, c[:, None] + offsets],
                                axis=1)
        pts = [graded.reshape(-1)]
        pts_line = [np.repeat(lines, graded.shape[1])]
    else:
        pts, pts_line = [], []
    pts += plain
    pts_line += plain_line
    base = np.arange(LINE_PANELS + 1) / LINE_PANELS
    pts.append(np.tile(base, n_lines))
    pts_line.append(np.repeat(np.arange(n_lines), base.size))
    p = np.concatenate(pts)
    pl = np.concatenate(pts_line)
    ok = np.isfinite(p)
    p, pl = np.mod(p[ok], 1.0), pl[ok]
    # The base points 0 and 1 survive the wrap as 0: add 1 back for every line.
    p = np.concatenate([p, np.ones(n_lines)])
    pl = np.concatenate([pl, np.arange(n_lines)])
    order = np.lexsort((p, pl))
    p, pl = p[order], pl[order]
    same = pl[1:] == pl[:-1]
    a, b, owner = p[:-1][same], p[1:][same], pl[:-1][same]
    ok = b - a > 1e-12
    return owner[ok], a[ok], b[ok]


class _Counter:
    """Integrand wrapper that counts evaluations and enforces the k-point budget."""

    def __init__(self, integrand, budget):
        self.integrand, self.budget, self.count = integrand, budget, 0
        self.refused = False

    def __call__(self, kx, ky):
        if self.count + kx.size > self.budget:
            self.refused = True
            raise BudgetExhausted
        self.count += kx.size
        return self.integrand(kx, ky)


def _family(axis, integrand, counter, model, partition, fermi_energy, energy_width,
            gamma, atol, n_columns, magnitude, pilot_partitions, record):
    """Outer adaptive quadrature over the lines of one family (axis 0: along u2, weight
    chi; axis 1: along u1, weight 1 - chi) in reduced coordinates: (estimate, error,
    partitions) with error = outer estimate + outer integral of the line estimates, and
    partitions the lines' partitions by the bytes of their outer coordinates (``record``:
    the pilot, initial partitions only, |integrand| columns when ``magnitude``), or None
    when the budget ran out in the first step.  ``atol`` (C,): the family's tolerance;
    the outer quadrature and the lines get half each.  The main run continues the
    pilot's partitions (``pilot_partitions``) on the initial outer panels' lines."""
    reciprocal = np.asarray(model.reciprocal_vectors, float)
    line_tol = 0.5 * atol
    n_out = 2 * n_columns if magnitude else n_columns

    def lines(s):
        s = np.asarray(s, float)
        coeff = partition.line_weights(axis, s)
        key = s.tobytes()
        initial = None if pilot_partitions is None else pilot_partitions.pop(key, None)
        if initial is None:
            owner, a, b = line_breakpoints(model.band_energies, reciprocal, axis, s,
                                           fermi_energy, energy_width, gamma)
        else:
            owner = a = b = np.zeros(0)

        def func(tt, own):
            weight = partition.weight(axis, coeff, own, tt)
            out = np.zeros((tt.size, n_out))
            live = weight > WEIGHT_FLOOR
            if live.any():
                u1, u2 = _line_points(axis, s[own[live]], tt[live])
                f = counter(*_to_k(reciprocal, u1, u2)) * weight[live, None]
                out[live, :n_columns] = f
                if magnitude:
                    out[live, n_columns:] = np.abs(f)
            return out

        kwargs = {"max_iterations": 1} if record else {}
        tol = np.broadcast_to(np.concatenate([line_tol, np.full(n_out - n_columns, np.inf)])
                              if magnitude else line_tol, (n_out,))
        res = adaptive_integrate(func, owner, a, b, s.size, tol[None, :], initial=initial,
                                 **kwargs)
        if record:
            recorded[key] = res.intervals
        return np.concatenate([res.estimate, res.error], axis=1)

    recorded = {}
    if record:
        values = lines(np.arange(PERIODIC_LINES[0]) / PERIODIC_LINES[0])
        return values[:, :n_out].mean(axis=0), values[:, n_out:].mean(axis=0), recorded
    try:
        periodic = _periodic_lines(lines, n_out, n_columns, atol)
    except BudgetExhausted:
        return None
    if periodic[2]:
        return periodic
    return _panel_lines(lines, n_out, n_columns, atol, fallback=periodic)


def _periodic_lines(lines, n_out, n_columns, atol):
    """Outer integral by the periodic trapezoid rule on s = j / N, N doubling through
    PERIODIC_LINES (nested).  The line integrals are periodic in s and, where the
    partition keeps tangents away, analytic on the scale of the contours' curvature, so
    the rule converges geometrically.  Error: |T_N - T_(N/2)| + the mean of the lines'
    estimates.  Returns (estimate, error, converged); stops (not converged) when the
    error falls by less than PERIODIC_MIN_DECAY per doubling (a feature that is not
    smooth on the lines' spacing: the caller integrates on adaptive panels instead) at two
    doublings in a row (the first doublings are often slow before the rule resolves the
    contours' scale; two in a row mean a feature of width ~w, e.g. a band edge at mu) or
    when the budget runs out (the last level reached)."""
    n = PERIODIC_LINES[0]
    values = lines(np.arange(n) / n)
    coarse = values[::2].mean(axis=0)
    previous, result, was_slow = None, None, False
    for level, n in enumerate(PERIODIC_LINES):
        if level:
            try:
                new = lines((np.arange(n // 2) + 0.5) / (n // 2))
            except BudgetExhausted:
                return result
            values = np.stack([values, new], axis=1).reshape(n, -1)
        total = values.mean(axis=0)
        outer_error = np.abs(total[:n_out] - coarse[:n_out])
        error = outer_error + total[n_out:]
        ok = bool(np.all(outer_error[:n_columns] <= 0.5 * atol)
                  and np.all(error[:n_columns] <= atol))
        result = (total[:n_out], error, ok)
        if ok:
            return result
        scaled = np.max(outer_error[:n_columns] / atol)
        slow = previous is not None and scaled > previous / PERIODIC_MIN_DECAY
        if slow and was_slow:
            return result
        previous, coarse, was_slow = scaled, total, slow
    return result


def _panel_lines(lines, n_out, n_columns, atol, fallback):
    """Outer integral by adaptive Gauss panels (OUTER_PANELS uniform ones to start), one
    bisection step at a time so that a spent budget leaves the last step's result (or
    ``fallback`` if even the first step could not be done)."""
    edges = np.arange(OUTER_PANELS + 1) / OUTER_PANELS
    outer_tol = np.concatenate([0.5 * atol, np.full(n_out - n_columns, np.inf),
                                np.full(n_out, np.inf)])[None, :]

    def outer(s, _owner):
        return lines(s)

    def summary(r):
        # Outer error of the values + outer integral of the line errors.
        est, err = r.estimate[0, :n_out], r.error[0, :n_out] + r.estimate[0, n_out:]
        return est, err, bool(np.all(err[:n_columns] <= atol))

    try:
        last = adaptive_integrate(outer, np.zeros(OUTER_PANELS), edges[:-1], edges[1:], 1,
                                  outer_tol, max_iterations=1)
    except BudgetExhausted:
        return fallback
    empty = np.zeros(0)
    for _ in range(MAX_OUTER_STEPS):
        if summary(last)[2]:
            break
        try:  # one bisection step of the panels that carry the excess
            step = adaptive_integrate(outer, empty, empty, empty, 1, outer_tol,
                                      max_iterations=2, initial=last.intervals)
        except BudgetExhausted:
            break
        stalled = step.intervals.a.size == last.intervals.a.size
        last = step
        if stalled:
            break
    return summary(last)


def integrate_brillouin_zone_iterated(model, integrand, fermi_energy, energy_width,
                                      tolerance, *, broadening=None,
                                      max_kpoints=MAX_KPOINTS, chi_grid=CHI_GRID):
    """Int_BZ d^2k/(2 pi)^2 integrand(kx, ky) by iterated line quadrature (module docstring).

    Same inputs and result as
    :func:`kubo_sot.integrate.brillouin_zone.integrate_brillouin_zone`.

    Parameters
    ----------
    model : lattice model
        Supplies ``reciprocal_vectors`` ((2, 2), rows b1, b2, nm^-1), ``cell_area``
        (nm^2) and ``band_energies(kx, ky) -> (P, N)`` (eV) to place the breakpoints.
    integrand : callable
        ``integrand(kx, ky) -> (P, C)`` for flat arrays of wave vectors (nm^-1).
    fermi_energy : float
        Chemical potential in eV.
    energy_width : float
        Width of the sharp features at the Fermi contours, max(Gamma, k_B T), in eV.
    tolerance : callable or array_like
        ``tolerance(estimate, magnitude) -> (C,)`` absolute tolerances given a pilot
        estimate of the integral and of Int |integrand| (both in the integral's units), or
        the tolerances directly.
    broadening : float, optional
        Gamma in eV, the width of the interband features (default energy_width).
    max_kpoints : int
        Budget of integrand evaluations; when the next step would exceed it, the result
        is the last one reached with ``converged=False``.
    chi_grid : int
        Mesh per axis of the partition of unity's band samples (not counted as k-points).

    Returns
    -------
    KSpaceIntegral
        ``estimate``, ``error`` (outer estimates + outer integrals of the line estimates,
        both families), ``converged``, ``n_kpoints`` (integrand evaluations; band samples
        and points where the partition's weight is exactly zero are not counted) and
        ``magnitude`` (Int |integrand| on the pilot's lines).
    """
    reciprocal = np.asarray(model.reciprocal_vectors, float)
    norm = 1.0 / float(model.cell_area)
    gamma = energy_width if broadening is None else broadening
    partition = Partition(model.band_energies, reciprocal, fermi_energy, energy_width,
                          chi_grid)
    counter = _Counter(integrand, int(max_kpoints))
    n = integrand(np.array([0.1]), np.array([0.0])).shape[1]
    args = (counter, model, partition, fermi_energy, energy_width, gamma)

    pilots = None
    if callable(tolerance):
        try:
            pilots = [_family(axis, integrand, *args, np.full(n, np.inf), n, True, None,
                              True) for axis in (0, 1)]
        except BudgetExhausted:
            return KSpaceIntegral(np.full(n, np.nan), np.full(n, np.inf), False,
                                  counter.count, np.full(n, np.nan), budget_exhausted=True)
        pilot_estimate = norm * sum(p[0] for p in pilots)
        magnitude = pilot_estimate[n:]
        atol = np.asarray(tolerance(pilot_estimate[:n], magnitude), float)
        partitions = [{key: value.columns(slice(0, n)) for key, value in p[2].items()}
                      for p in pilots]
    else:
        atol = np.broadcast_to(np.asarray(tolerance, float), (n,))
        magnitude = None
        partitions = [None, None]
    family_tol = 0.5 * np.maximum(atol, 1e-300) / norm  # reduced units, per family
    estimate = np.zeros(n)
    error = np.zeros(n)
    converged = True
    for axis in (0, 1):
        out = _family(axis, integrand, *args, family_tol, n, False, partitions[axis], False)
        if out is None:  # budget spent in the family's first level: no outer estimate
            out = (np.full(n, np.nan) if pilots is None else pilots[axis][0][:n],
                   np.full(n, np.inf), False)
        estimate += out[0]
        error += out[1]
        converged &= out[2]
    estimate, error = norm * estimate, norm * error
    converged = bool(converged and np.all(error <= atol))
    # The budget counts as spent when the next batch would have exceeded it (the wrapper
    # refused it), whichever family it stopped.
    return KSpaceIntegral(estimate, error, converged, counter.count, magnitude,
                          budget_exhausted=counter.refused and not converged)
