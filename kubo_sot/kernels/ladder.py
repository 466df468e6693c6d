"""Ladder vertex corrections for Gaussian white-noise disorder (2x2 spin space).

White noise, <V(r) V(r')> = n_i V^2 delta(r - r'), makes the impurity line k-independent,
so the ladder-dressed field vertex is the bare one plus a k-independent 2x2 matrix,

    V~_j(k) = hbar v_j(k) + Delta_j,   Delta_j = n_i V^2 Int d^2k/(2 pi)^2 G^R V~_j G^A,

all Green's functions at the Fermi energy.  With Delta_j = sum_b delta_jb s_b
(s_0 = 1, s_x, s_y, s_z) the equation closes on four numbers per field direction,

    delta_j = y_j + L delta_j,
    L_ab   = (n_i V^2 / 2) Int Tr[s_a G^R s_b G^A],        (the ladder matrix, real)
    y_ja   = (n_i V^2 / 2) Int Tr[s_a G^R hbar v_j G^A].   (the source, real)

Both are real because each trace equals its own complex conjugate ((s G^R s' G^A)^dagger
= G^R s' G^A s).  With the self-consistent Born self-energy, L has the eigenvalue 1 exactly
(Ward identity): L r0 = r0 for the broadening matrix Gamma = i(Sigma - Sigma^dagger)/2 =
sum_a r0_a s_a -- the diffusion pole of the charge density.  Its amplitude is fixed by
charge conservation: a uniform field changes no density, and the ladder-dressed density
response is (2 / n_i V^2) delta_j0, so delta_j0 = 0 (the RR and sea terms of the density
response vanish identically for a k-independent Sigma: total k-derivatives).

Two routes solve it (tests compare them):
  - :func:`solve_vertex`: closed form, the linear system (1 - L) delta = y in the
    three unknowns (delta_x, delta_y, delta_z) with delta_0 = 0 (least squares; the
    residual measures how far L and y are from the Ward identity);
  - :func:`iterate_vertex`: the ladder series delta <- y + L delta, the component along
    the diffusion mode r0 removed after every rung (so that delta_0 = 0).

References: Ado, Tretiakov, Titov, PRB 95, 094401 (2017); Nunner et al., PRB 76, 235312
(2007) (the same ladder for the anomalous Hall effect of the Rashba ferromagnet).
"""

import warnings

import numpy as np

from ..errors import ConvergenceWarning
from .green import PAULI_BASIS

ITERATION_TOLERANCE = 1e-14
MAX_RUNGS = 1_000_000


def ra_traces(green_r, left, right):
    """Tr[O G^R P G^A] for operators O in ``left`` and P in ``right`` (real numbers).

    Parameters
    ----------
    green_r : (M, N, N) complex array
        G^R at the Fermi energy (1/eV).
    left, right : (M, A, N, N) or (A, N, N) arrays
        Operators O_a and P_b (at each k or the same at every k).

    Returns
    -------
    (M, A, B) float array
    """
    green_a = np.conj(np.swapaxes(green_r, -1, -2))
    left = np.broadcast_to(left, green_r.shape[:1] + np.shape(left)[-3:])
    right = np.broadcast_to(right, green_r.shape[:1] + np.shape(right)[-3:])
    m, n = green_r.shape[0], green_r.shape[-1]
    og = (left @ green_r[:, None]).reshape(m, -1, n * n)
    pg = np.swapaxes(right @ green_a[:, None], -1, -2).reshape(m, -1, n * n)
    return (og @ np.swapaxes(pg, -1, -2)).real


def pauli_components(matrices):
    """c_a = Tr[s_a X] / 2 of (..., 2, 2) matrices, shape (..., 4)."""
    return 0.5 * np.einsum("aij,...ji->...a", PAULI_BASIS, matrices)


def solve_vertex(ladder, source, singular_threshold=1e-12):
    """Closed form: delta with (1 - L) delta = y and delta_0 = 0.

    Parameters
    ----------
    ladder : (4, 4) float array
        L_ab as in the module docstring.
    source : (J, 4) float array
        y_ja for J field directions.
    singular_threshold : float
        Singular values of (1 - L) restricted to delta_0 = 0 below this are treated as
        zero (pseudo-inverse).  Besides the charge, a spin component is conserved when
        there is no spin-orbit coupling (alpha = 0: L s_M = s_M); its response to a uniform
        field vanishes and its source is only integration noise, which must not be
        divided by the (numerically tiny) singular value.

    Returns
    -------
    delta : (J, 4) float array
        Pauli components of the vertex corrections Delta_j in eV nm (delta_j0 = 0).
    residual : (J,) float array
        |(1 - L) delta_j - y_j|, zero when L and y obey the Ward identity exactly.
    """
    a = (np.eye(4) - ladder)[:, 1:]
    delta = np.zeros_like(source)
    delta[:, 1:] = source @ vertex_pseudo_inverse(ladder, singular_threshold).T
    residual = np.linalg.norm(delta[:, 1:] @ a.T - source, axis=1)
    return delta, residual


def vertex_pseudo_inverse(ladder, singular_threshold=1e-12):
    """(3, 4) pseudo-inverse of (1 - L) restricted to delta_0 = 0, singular values below
    ``singular_threshold`` (absolute) dropped: delta_(x,y,z) = A^+ y.  Also what the error
    of delta propagates through."""
    u, s, vt = np.linalg.svd((np.eye(4) - ladder)[:, 1:], full_matrices=False)
    inverse_s = np.where(s > singular_threshold, 1.0 / np.where(s > 0, s, 1.0), 0.0)
    return (vt.T * inverse_s) @ u.T


def iterate_vertex(ladder, source, diffusion_mode, tolerance=ITERATION_TOLERANCE,
                   scale=0.0, max_rungs=MAX_RUNGS):
    """Ladder series: delta <- y + L delta, rung by rung, with the diffusion mode removed.

    Parameters
    ----------
    ladder, source : as in :func:`solve_vertex`
    diffusion_mode : (4,) float array
        r0, Pauli components of the broadening matrix (L r0 = r0); its s_0 component
        must be non-zero.
    tolerance : float
        Stop when a rung changes delta by less than tolerance * max(|delta|, scale).
    scale : float
        Size of the bare vertex (eV nm), below which delta counts as zero: without spin-orbit
        coupling the source is rounding noise and spin along M is conserved (a second
        eigenvalue 1), so the series would only accumulate that noise.

    Returns
    -------
    delta : (J, 4) float array
    rungs : int
        Number of ladder rungs summed.
    """
    r0 = np.asarray(diffusion_mode, float) / diffusion_mode[0]
    delta = source - np.outer(source[:, 0], r0)
    for rung in range(1, max_rungs + 1):
        new = source + delta @ ladder.T
        new -= np.outer(new[:, 0], r0)
        change = np.max(np.abs(new - delta))
        delta = new
        if change <= tolerance * max(np.max(np.abs(delta)), scale, 1e-300):
            return delta, rung
    warnings.warn(f"ladder series not converged after {max_rungs} rungs: last change "
                  f"{change:.3g} (relative tolerance {tolerance:g})", ConvergenceWarning,
                  stacklevel=2)
    return delta, max_rungs
