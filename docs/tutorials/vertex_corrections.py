"""White-noise disorder in the self-consistent Born approximation, with vertex corrections.

The point of the README's example (both bands occupied), then the majority band alone:
with both bands occupied the ladder cancels the damping-like torque and the anomalous Hall
conductivity (Ado, Tretiakov & Titov 2017); with one band it does not.
"""
import kubo_sot

model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
# Gaussian white noise with the Born width 5 meV of the parabolic band:
# n_i V^2 = 4 (hbar^2/2m) Gamma_0.
disorder = kubo_sot.WhiteNoiseDisorder.from_born_broadening(0.005, model)
print(f"n_i V^2 = {disorder.strength:.6f} eV^2 nm^2")

for fermi_energy in (0.3, 0.0):
    r = kubo_sot.linear_response(model, fermi_energy, disorder, vertex_corrections=True)
    dressed, bare = r.torque_coefficients(), r.bare.torque_coefficients()
    print(f"\nmu = {fermi_energy} eV (n_-, n_+ = {r.bands.occupations[0]:.4f}, "
          f"{r.bands.occupations[1]:.4f} 1/nm^2)")
    print("                  vertex-corrected        bare")
    print(f"  t_FL [e/nm]     {dressed.field_like: .6e}   {bare.field_like: .6e}")
    print(f"  t_DL [e/nm]     {dressed.damping_like: .6e}   {bare.damping_like: .6e}")
    print(f"  sigma_xy [e^2/h] {r.conductivity.total[0, 1]: .6e}  "
          f"{r.bare.conductivity.total[0, 1]: .6e}")
    sigma = r.provenance["self_energy"]["sigma_components_eV"]
    print("  Sigma [eV] = " + " + ".join(f"({re:.4g}{im:+.4g}i) s_{a}"
                                        for (re, im), a in zip(sigma, "0xyz")))
