"""Spin-orbit torques of the Rashba ferromagnet at one parameter point (README example)."""
import kubo_sot

model = kubo_sot.RashbaFerromagnet(alpha=0.1, exchange=0.1, magnetization=(0, 0, 1))
r = kubo_sot.linear_response(model, fermi_energy=0.3, broadening=0.01, rtol=1e-6)
print("sigma [e^2/h]:\n", r.conductivity.total.round(6))
print("torkance [e/nm], Fermi sea part:\n", r.torkance.fermi_sea.round(6))
tc = r.torque_coefficients(field_direction=(1.0, 0.0))
print(f"t_FL = {tc.field_like:.6f} e/nm, t_DL = {tc.damping_like:.6f} e/nm")
print(f"alpha k_F / J = {r.bands.rashba_to_exchange:.4f}, max error {r.torkance.error.max():.1e}")
