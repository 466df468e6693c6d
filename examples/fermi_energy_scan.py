"""Torkances against the Fermi energy, 200 energies in one call (in-plane M, weak Rashba).

An array of Fermi energies at one constant broadening and T = 0 is integrated from
mu-independent spectral densities (one sweep instead of a k-mesh per energy), here in
~0.1 s, the cost of ~6 single points; every result keeps its Fermi-surface / Fermi-sea
split and error estimate.
With matplotlib installed the torkances are plotted to fermi_energy_scan.png.
"""
import time

import numpy as np

import kubo_sot

model = kubo_sot.RashbaFerromagnet(alpha=0.02, exchange=0.2, magnetization=(1, 0, 0))
energies = np.linspace(-0.15, 0.6, 200)
start = time.perf_counter()
results = kubo_sot.linear_response(model, energies, broadening=0.005, rtol=1e-6)
elapsed = time.perf_counter() - start
swept = sum(r.provenance.get("engine") == "spectral_sweep" for r in results)
print(f"{energies.size} Fermi energies in {elapsed * 1e3:.0f} ms ({swept} from one sweep)")

# Field along x: t_FL and t_DL of tau = t_FL M x (z x E) + t_DL M x (M x (z x E)).
torques = [r.torque_coefficients(field_direction=(1.0, 0.0)) for r in results]
field_like = np.array([t.field_like for t in torques])
damping_like = np.array([t.damping_like for t in torques])
errors = np.array([r.torkance.error.max() for r in results])
print(f"largest |t_FL| {np.abs(field_like).max():.4e} e/nm, |t_DL| "
      f"{np.abs(damping_like).max():.4e} e/nm, largest error {errors.max():.1e} e/nm")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is not None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(energies, field_like, label="field-like $t_{FL}$")
    ax.plot(energies, damping_like, label="damping-like $t_{DL}$")
    ax.set_xlabel("Fermi energy (eV)")
    ax.set_ylabel("torkance (e/nm)")
    ax.legend()
    fig.tight_layout()
    fig.savefig("fermi_energy_scan.png", dpi=150)
    print("wrote fermi_energy_scan.png")
