"""Real roots of many quartics at once (the Fermi crossings and band extrema along rays).

Two routes, same roots:

- ``real_roots_eigenvalues`` (numpy, the reference): eigenvalues of the companion
  matrices, the real ones polished by Newton steps.  Each 4x4 eigenvalue problem costs
  ~2 us of LAPACK call overhead, and a pair of nearly equal real roots may come out as a
  complex pair and be dropped.
- ``real_roots_bracketed`` (numba, used when installed): the quartic is monotonic between
  its critical points, the real roots of the cubic Q', which is monotonic between the
  roots of the quadratic Q''.  Each monotonic piece with a sign change holds one root,
  found by Newton steps kept inside the bracket (bisection otherwise) to rounding; a pair
  of nearly equal roots is found as long as Q at the critical point between them has its
  sign.  ~0.8 us per quartic (3 us for a single one, against 40 us).

``tests/test_models.py`` compares the two.
"""

import numpy as np

try:
    from numba import njit
except ImportError:  # the extra kubo_sot[fast] is not installed
    njit = None

# Newton/bisection steps per root: bisection alone halves a bracket of width 2 B down to
# rounding in ~110 steps; Newton converges in a handful.
MAX_STEPS = 200


def real_roots_eigenvalues(coefficients, newton_steps=2):
    """Real roots of quartics (rows of ``coefficients``, highest power first, leading one
    non-zero), ascending and NaN-padded to (n, 4): eigenvalues of the companion
    matrices, then Newton steps for full precision."""
    monic = coefficients[:, 1:] / coefficients[:, :1]
    n = monic.shape[0]
    companion = np.zeros((n, 4, 4))
    companion[:, 0, :] = -monic
    companion[:, 1, 0] = companion[:, 2, 1] = companion[:, 3, 2] = 1.0
    roots = np.linalg.eigvals(companion)
    x = np.where(roots.imag == 0.0, roots.real, np.nan)
    for _ in range(newton_steps):
        value, slope = np.zeros_like(x), np.zeros_like(x)
        for c in coefficients.T:  # Horner for the quartic and its derivative
            slope = slope * x + value
            value = value * x + c[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(slope != 0.0, value / slope, 0.0)
        x = x - step
    return np.sort(x, axis=1)


def _horner(c, x):
    """Value and derivative at x of the polynomial with coefficients c (highest first)."""
    value, slope = 0.0, 0.0
    for a in c:
        slope = slope * x + value
        value = value * x + a
    return value, slope


def _bracketed_root(c, lo, hi, f_lo):
    """The root of c in [lo, hi], where c is monotonic and changes sign (f_lo = c(lo))."""
    x = 0.5 * (lo + hi)
    for _ in range(MAX_STEPS):
        f, df = _horner(c, x)
        if f == 0.0:
            return x
        if (f < 0.0) == (f_lo < 0.0):
            lo, f_lo = x, f
        else:
            hi = x
        step = f / df if df != 0.0 else 0.0
        guess = x - step
        if lo < guess < hi:
            if abs(step) <= 1e-15 * abs(guess):  # Newton has converged
                return guess
        else:
            guess = 0.5 * (lo + hi)
        if guess == x or hi - lo <= 4e-16 * max(abs(lo), abs(hi)):
            return guess
        x = guess
    return x


def _roots_on_pieces(c, edges, n_edges, out):
    """Roots of c on the monotonic pieces between consecutive edges; returns their count."""
    count = 0
    f_left, _ = _horner(c, edges[0])
    for i in range(n_edges - 1):
        f_right, _ = _horner(c, edges[i + 1])
        if f_right == 0.0:
            out[count] = edges[i + 1]
            count += 1
        elif f_left != 0.0 and (f_left < 0.0) != (f_right < 0.0):
            out[count] = _bracketed_root(c, edges[i], edges[i + 1], f_left)
            count += 1
        f_left = f_right
    return count


def _quartic_real_roots(c, out, work):
    """Real roots of one quartic c (5,) into out (4,), ascending, NaN after the last;
    ``work`` (4, 6) is scratch space."""
    monic, cubic, edges, critical = work[0, :5], work[1, :4], work[2], work[3]
    for i in range(5):
        monic[i] = c[i] / c[0]
    # Fujiwara's bound: every root has |x| <= 2 max |a_k|^(1/k) (a_4 / 2 for the last);
    # slightly widened so that no root lies on it.
    bound = 2.0 * max(abs(monic[1]), np.sqrt(abs(monic[2])), np.cbrt(abs(monic[3])),
                      np.sqrt(np.sqrt(0.5 * abs(monic[4])))) * (1.0 + 1e-12) + 1e-300
    cubic[0], cubic[1], cubic[2], cubic[3] = 4.0, 3.0 * monic[1], 2.0 * monic[2], monic[3]
    # Roots of the quadratic Q'' / 2 = 6 x^2 + 3 a1 x + a2: the cubic's turning points.
    edges[0] = -bound
    n = 1
    disc = 9.0 * monic[1] ** 2 - 24.0 * monic[2]
    if disc > 0.0:
        root = np.sqrt(disc)
        for r in ((-3.0 * monic[1] - root) / 12.0, (-3.0 * monic[1] + root) / 12.0):
            if -bound < r < bound:
                edges[n] = r
                n += 1
    edges[n] = bound
    n += 1
    critical[0] = -bound
    m = 1 + _roots_on_pieces(cubic, edges, n, critical[1:])
    critical[m] = bound
    out[:] = np.nan
    _roots_on_pieces(monic, critical, m + 1, out)


def _real_roots_loop(coefficients, out):
    work = np.empty((4, 6))
    for i in range(coefficients.shape[0]):
        _quartic_real_roots(coefficients[i], out[i], work)


if njit is not None:
    _horner = njit(cache=True)(_horner)
    _bracketed_root = njit(cache=True)(_bracketed_root)
    _roots_on_pieces = njit(cache=True)(_roots_on_pieces)
    _quartic_real_roots = njit(cache=True)(_quartic_real_roots)
    _real_roots_loop = njit(cache=True)(_real_roots_loop)


def real_roots_bracketed(coefficients):
    """As :func:`real_roots_eigenvalues`, by bracketing on monotonic pieces (compiled with
    numba when installed; plain Python, slow, otherwise)."""
    coefficients = np.ascontiguousarray(coefficients, dtype=float)
    out = np.empty((coefficients.shape[0], 4))
    _real_roots_loop(coefficients, out)
    return out


def real_roots(coefficients):
    """Real roots of quartics (rows, highest power first), ascending, NaN-padded to (n, 4):
    the compiled bracketing route where numba is installed, else the eigenvalue route."""
    if njit is not None:
        return real_roots_bracketed(coefficients)
    return real_roots_eigenvalues(coefficients)
