"""Per-k cost of the compiled Rashba integrand (kubo_sot[fast]) against the numpy route."""

import time

import numpy as np

import kubo_sot
from kubo_sot.constants import BOLTZMANN_EV_PER_K
from kubo_sot.kernels import kubo_bastin_numba
from kubo_sot.kernels.green import ConstantBroadening
from kubo_sot.observables.packed_integral import response_integrand

# Tilted M, moderate Rashba: no symmetry shortcut, both near-degenerate branches visited.
MODEL = dict(alpha=0.1, exchange=0.1, magnetization=(0.6, 0.0, 0.8))
FERMI_ENERGY, BROADENING = 0.3, 0.005


def _best_time(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def kernel_speed(n_kpoints=20000, repeat=5, seed=0):
    """Time the numpy and numba eigenbasis integrands on the same k-points, at T = 0 and at
    300 K (polygamma energy integrals).

    Parameters
    ----------
    n_kpoints : int, optional
        k-points per call (one call evaluates all of them), default 20000.
    repeat : int, optional
        Timed calls of each integrand; the fastest counts.  Both are called once before
        timing (numba compiles, or loads its cache, on the first call).
    seed : int, optional
        Seed of the random k-points (uniform over a disc of radius 3 k_F).

    Returns
    -------
    dict
        Per temperature ("T_0K", "T_300K"): ``numpy_us_per_k``, ``numba_us_per_k``,
        ``speedup`` (numpy / numba); and ``n_kpoints``.  None for the numba entries when
        numba is not installed.
    """
    model = kubo_sot.RashbaFerromagnet(**MODEL)
    rng = np.random.default_rng(seed)
    k_fermi = np.sqrt(FERMI_ENERGY / model.kinetic_coefficient)
    k = 3.0 * k_fermi * np.sqrt(rng.uniform(size=n_kpoints))
    phi = rng.uniform(0.0, 2.0 * np.pi, n_kpoints)
    kx, ky = k * np.cos(phi), k * np.sin(phi)
    out = {"n_kpoints": n_kpoints}
    for label, temperature in (("T_0K", 0.0), ("T_300K", 300.0)):
        kt = BOLTZMANN_EV_PER_K * temperature
        reference = response_integrand(model, FERMI_ENERGY, ConstantBroadening(BROADENING),
                                       kt, kernel="numpy")
        reference(kx, ky)
        t_numpy = _best_time(lambda: reference(kx, ky), repeat) / n_kpoints * 1e6
        out[label] = {"numpy_us_per_k": t_numpy, "numba_us_per_k": None, "speedup": None}
        fused = kubo_bastin_numba.fused_integrand(model, FERMI_ENERGY, BROADENING, kt)
        if fused is None:
            print(f"numpy integrand at {temperature:g} K: {t_numpy:.2f} us per k-point; "
                  "numba not installed (pip install 'kubo_sot[fast]')")
            continue
        fused(kx, ky)
        t_numba = _best_time(lambda: fused(kx, ky), repeat) / n_kpoints * 1e6
        out[label].update(numba_us_per_k=t_numba, speedup=t_numpy / t_numba)
        print(f"per-k integrand at {temperature:g} K on {n_kpoints} k-points: numpy "
              f"{t_numpy:.2f} us, numba {t_numba:.3f} us, ratio {t_numpy / t_numba:.0f}x")
    return out
