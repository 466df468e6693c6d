"""Per-k cost of the compiled N-band Kubo-Bastin kernel against LAPACK ``eigh`` (issue 17).

Goal of issue 17: a per-k cost within 2x of ``eigh`` of the same N, for N = 2..36.  For
random Hermitian H(k), velocities, the K1 = 3 spin matrices s_a x 1 and K2 = 3 random
dense k-dependent response operators (K = 8 with -hbar v_x, -hbar v_y) this times, per
k-point and in one process after a warm-up call (numba compiles or loads its cache):

- numpy's batched ``np.linalg.eigh`` (eigenvalues and vectors) alone;
- numba's per-matrix ``np.linalg.eigh`` in a compiled loop alone (what the kernel calls);
- the numpy reference :func:`kubo_sot.kernels.kubo_bastin.kubo_bastin_matrices`;
- the compiled :func:`kubo_sot.kernels.kubo_bastin_nband_numba.nband_integrand`;

and the ratio compiled / numpy batched eigh.  Run as a script, BLAS is pinned to one thread
(the kernel is serial; parallelism belongs to the sweep layer); called from a process that
has loaded numpy already, set OPENBLAS_NUM_THREADS=1 before it starts.

    python -m benchmarks.nband_kernel
"""

import os

# Effective only when this module is the first to load numpy (python -m benchmarks.nband_kernel).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

BAND_COUNTS = (2, 4, 8, 16, 24, 36)
N_KPOINT = 3
MAX_KPOINTS = 10000  # the numpy reference takes ~70 us per k-point at N = 2, 300 K
FERMI_ENERGY, BROADENING = 0.3, 0.05


def _interleaved_best_times(functions, repeat, n_kpoints):
    """Fastest of ``repeat`` calls of each function in microseconds per k-point, after one
    warm-up call each; the functions take turns, so that all see the same load of a shared
    machine."""
    best = {}
    for name, fn in functions.items():
        fn()
        best[name] = np.inf
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: t / n_kpoints * 1e6 for name, t in best.items()}


def _hermitian(rng, *shape):
    a = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return np.ascontiguousarray(0.5 * (a + np.conj(np.swapaxes(a, -1, -2))))


def spin_operators(n):
    """s_a x 1_(N/2) (spinor blocks): the K1 = 3 constant operators, sparse as in a model."""
    from kubo_sot.models.base import PAULI
    return np.ascontiguousarray(np.kron(PAULI, np.eye(n // 2)))


def _numba_eigh_loop():
    from numba import njit

    @njit(cache=True, nogil=True)
    def eigh_loop(hamiltonians):
        total = 0.0
        for p in range(hamiltonians.shape[0]):
            energies, _ = np.linalg.eigh(hamiltonians[p])
            total += energies[0]
        return total
    return eigh_loop


def nband_kernel_speed(band_counts=BAND_COUNTS, thermal_energy=0.0, repeat=7, seed=0,
                       work_per_call=1e6):
    """Per-k times in microseconds for each N of ``band_counts`` (see the module docstring).

    Parameters
    ----------
    band_counts : sequence of int
        N (bands).
    thermal_energy : float, optional
        k_B T in eV (0: T = 0 weights; > 0: polygamma weights).
    repeat : int, optional
        Timed calls of each (taking turns, after a warm-up call); the fastest counts.
    seed : int, optional
        Seed of the random matrices.
    work_per_call : float, optional
        k-points per call are about work_per_call / N^3 (64 to MAX_KPOINTS).

    Returns
    -------
    list of dict
        Per N: ``n_bands``, ``n_kpoints``, ``numpy_eigh_us``, ``numba_eigh_us``,
        ``numpy_reference_us``, ``compiled_us``, ``compiled_over_eigh`` (compiled / numpy
        batched eigh).  The compiled entries are None without numba.
    """
    from kubo_sot.kernels import kubo_bastin_nband_numba as nband
    from kubo_sot.kernels.energy_integrals import EnergyIntegrals
    from kubo_sot.kernels.kubo_bastin import kubo_bastin_matrices

    rng = np.random.default_rng(seed)
    integrals = EnergyIntegrals(FERMI_ENERGY, thermal_energy)
    eigh_loop = _numba_eigh_loop() if nband.applies() else None
    rows = []
    for n in band_counts:
        n_k = min(MAX_KPOINTS, max(64, int(work_per_call / n**3)))
        h = _hermitian(rng, n_k, n, n)
        v = _hermitian(rng, n_k, 2, n, n)
        constant = spin_operators(n)
        kpoint = _hermitian(rng, n_k, N_KPOINT, n, n)
        operators = np.concatenate(
            [-v, np.broadcast_to(constant, (n_k,) + constant.shape), kpoint], axis=1)
        timed = {"numpy_eigh_us": lambda: np.linalg.eigh(h),
                 "numpy_reference_us": lambda: kubo_bastin_matrices(
                     h, v, operators, BROADENING, integrals)}
        if eigh_loop is not None:
            timed["numba_eigh_us"] = lambda: eigh_loop(h)
            timed["compiled_us"] = lambda: nband.nband_integrand(
                h, v, constant, kpoint, FERMI_ENERGY, BROADENING, thermal_energy)
        row = {"n_bands": n, "n_kpoints": n_k, "numba_eigh_us": None, "compiled_us": None,
               "compiled_over_eigh": None}
        row.update(_interleaved_best_times(timed, repeat, n_k))
        if row["compiled_us"] is not None:
            row["compiled_over_eigh"] = row["compiled_us"] / row["numpy_eigh_us"]
        rows.append(row)
    return rows


def _format(x, width=10, digits=2):
    return f"{'-':>{width}s}" if x is None else f"{x:{width}.{digits}f}"


def main():
    """Print the table at T = 0 and at k_B T = 0.0259 eV (300 K); return the rows of both
    ({"T_0K": rows, "T_300K": rows})."""
    print("per-k cost in microseconds (K = 2 + 3 constant + 3 k-dependent operators; "
          "one thread)")
    out = {}
    for label, key, kt in (("T = 0", "T_0K", 0.0), ("T = 300 K", "T_300K", 0.02585)):
        print(f"{label}:")
        print(f"{'N':>4s} {'numpy eigh':>10s} {'numba eigh':>10s} {'numpy ref':>10s} "
              f"{'compiled':>10s} {'compiled/eigh':>13s}")
        out[key] = nband_kernel_speed(thermal_energy=kt)
        for r in out[key]:
            print(f"{r['n_bands']:4d} {_format(r['numpy_eigh_us'])} "
                  f"{_format(r['numba_eigh_us'])} {_format(r['numpy_reference_us'])} "
                  f"{_format(r['compiled_us'])} {_format(r['compiled_over_eigh'], 13)}",
                  flush=True)
    return out


if __name__ == "__main__":
    main()
