"""Product integration against the poles and the logarithm of a broadened level.

For a density rho(eps) given by its Legendre
series on a panel eps = mid + h t, t in [-1, 1], the integrals against the single-band
functions of :mod:`kubo_sot.kernels.pole_expansion`, which are sharp on the scale Gamma
(much smaller than the panel), are exact sums over the Legendre coefficients:

    Int_-1^1 P_j(t) / (w - t) dt         = 2 Q_j(w)
    Int_-1^1 P_j(t) / (w - t)^2 dt       = -2 Q_j'(w)
    Int_-1^1 P_j(t) Log(w - t) dt        = 2 (Q_(j+1)(w) - Q_(j-1)(w)) / (2 j + 1)   (j >= 1)
                                         = (w + 1) Log(w + 1) - (w - 1) Log(w - 1) - 2  (j = 0)

with w = (mu + i Gamma - mid) / h off the real axis (the sqrt-substituted panels of
:mod:`kubo_sot.observables.spectral_sweep` need both half planes) and Q_j the Legendre
functions of the second kind, Q_0 = (Log(w + 1) - Log(w - 1)) / 2 (principal logarithms:
w - t stays in one half plane), Q_(j+1) = ((2 j + 1) w Q_j - j Q_(j-1)) / (j + 1).  The forward
recurrence is stable near the panel (|w| <~ 2); farther away the integrand is smooth on the
panel and the plain Gauss rule is used instead (``NEAR_PANEL``).
"""

import numpy as np

# |w| below which a panel is integrated by its moments; beyond it the Bernstein ellipse
# through w has rho >= 2 + sqrt(3) and the 12-point Gauss rule errs by ~rho^-24 < 1e-13.
NEAR_PANEL = 2.0


# Bernstein parameter rho = |w + sqrt(w^2 - 1)| above which Q_j comes from the backward
# (Miller) recurrence: Q_j ~ rho^-j is the recurrence's minimal solution, which the forward
# recurrence loses like rho^(2 j) eps.
RHO_FORWARD = 1.5


def legendre_q(w, order):
    """Q_0 .. Q_order and their derivatives at complex w (Im w != 0), shape (order + 1,) +
    w.shape each."""
    w = np.asarray(w, complex)
    q = np.empty((order + 1,) + w.shape, complex)
    q[0] = 0.5 * (np.log(w + 1.0) - np.log(w - 1.0))
    rho = np.abs(w + np.sqrt(w - 1.0) * np.sqrt(w + 1.0))
    far = rho > RHO_FORWARD
    if order >= 1:
        q[1] = w * q[0] - 1.0
    for j in range(1, order):  # forward: exact near the panel, replaced below far from it
        q[j + 1] = ((2 * j + 1) * w * q[j] - j * q[j - 1]) / (j + 1)
    if np.any(far) and order >= 1:
        wf = w[far]
        # Start where rho^-(2 (n - order)) < 1e-17, from Q_(n+1) = 0, Q_n = 1, normalize by Q_0.
        n = order + int(np.ceil(17.0 / np.log10(RHO_FORWARD**2)))
        upper, current = np.zeros_like(wf), np.ones_like(wf)
        # Zeros, not np.empty: the rescaling below divides every row of tail, also the rows
        # the recursion has not reached yet (np.empty's garbage can be nan or inf and made
        # runs fail at random under -W error); those rows are overwritten when reached.
        tail = np.zeros((order + 1,) + wf.shape, complex)
        for j in range(n, 0, -1):  # Q_(j-1) = ((2 j + 1) w Q_j - (j + 1) Q_(j+1)) / j
            lower = ((2 * j + 1) * wf * current - (j + 1) * upper) / j
            upper, current = current, lower
            if j - 1 <= order:
                tail[j - 1] = current
            scale = np.abs(current)
            big = scale > 1e100
            if np.any(big):  # rescale the unnormalized solution
                upper = np.where(big, upper / scale, upper)
                tail[:, big] = tail[:, big] / scale[big]
                current = np.where(big, current / scale, current)
        q[:, far] = tail * (q[0][far] / tail[0])
    dq = np.empty_like(q)
    dq[0] = 1.0 / ((1.0 - w) * (1.0 + w))  # not 1 - w^2: it cancels near w = 1
    for j in range(1, order + 1):  # (1 - w^2) Q_j' = j (Q_(j-1) - w Q_j)
        dq[j] = j * (q[j - 1] - w * q[j]) * dq[0]
    return q, dq


def legendre_moments(w, degree):
    """Moments of P_0 .. P_degree against 1/(w - t), 1/(w - t)^2 and Log(w - t) on [-1, 1].

    Returns three arrays of shape (degree + 1,) + w.shape.
    """
    w = np.asarray(w, complex)
    q, dq = legendre_q(w, degree + 1)
    pole = 2.0 * q[:-1]
    double = -2.0 * dq[:-1]
    log = np.empty_like(pole)
    log[0] = (w + 1.0) * np.log(w + 1.0) - (w - 1.0) * np.log(w - 1.0) - 2.0
    j = np.arange(1, degree + 1).reshape((-1,) + (1,) * w.ndim)
    log[1:] = 2.0 * (q[2:] - q[:-2]) / (2 * j + 1)
    return pole, double, log
