"""The square-lattice Rashba ferromagnet written as a TightBindingModel, checked against
kubo_sot.SquareLatticeRashbaFerromagnet (docs/conventions.md §2.3, §3.3).

  2t(2 - cos k_x a - cos k_y a) s_0  ->  h(0) = 4t s_0,  h(+-a x) = h(+-a y) = -t s_0
  (alpha/a) sin(k_y a) s_x           ->  h(+-a y) += -+i alpha/(2a) s_x
  -(alpha/a) sin(k_x a) s_y          ->  h(+-a x) += +-i alpha/(2a) s_y
  -J M.s                             ->  exchange=J, i.e. X_a(0) = -J s_a
"""
import numpy as np

import kubo_sot

t, a, alpha, J, M = 1.0, 0.5, 0.2, 0.1, (0.6, 0.0, 0.8)  # eV, nm, eV nm, eV, unit
s0 = np.eye(2)
sx = np.array([[0, 1], [1, 0]], complex)
sy = np.array([[0, -1j], [1j, 0]])
c = alpha / (2 * a)
hoppings = {(0, 0): 4 * t * s0,
            (1, 0): -t * s0 + 1j * c * sy, (-1, 0): -t * s0 - 1j * c * sy,
            (0, 1): -t * s0 - 1j * c * sx, (0, -1): -t * s0 + 1j * c * sx}
tb = kubo_sot.TightBindingModel(lattice_vectors=[[a, 0.0], [0.0, a]], hoppings=hoppings,
                                spin_operators="interleaved", exchange=J, magnetization=M)
lattice = kubo_sot.SquareLatticeRashbaFerromagnet(hopping=t, lattice_constant=a, alpha=alpha,
                                                   exchange=J, magnetization=M)

k = np.random.default_rng(0).uniform(-np.pi / a, np.pi / a, size=(2, 1000))
print(f"{tb.n_bands} bands, cell area {tb.cell_area:.4f} nm^2, "
      f"band bottom {tb.band_bottom():.6f} eV (square lattice: {lattice.band_bottom():.6f} eV)")
print("max |H_tb - H_lattice| over 1000 k-points: "
      f"{np.abs(tb.hamiltonian(*k) - lattice.hamiltonian(*k)).max():.1e} eV")
print("max |v_tb - v_lattice|: "
      f"{np.abs(tb.velocity(*k) - lattice.velocity(*k)).max():.1e} eV nm")
pauli = np.array([sx, sy, np.diag([1.0, -1.0]).astype(complex)])
levi_civita = np.zeros((3, 3, 3))
levi_civita[0, 1, 2] = levi_civita[1, 2, 0] = levi_civita[2, 0, 1] = 1.0
levi_civita[0, 2, 1] = levi_civita[2, 1, 0] = levi_civita[1, 0, 2] = -1.0
torque = J * np.einsum("abc,b,cij->aij", levi_civita, np.array(M), pauli)  # J M x s
print(f"local exchange: {tb.exchange_is_local}; max |T - J M x s| = "
      f"{np.abs(tb.local_torque_operators() - torque).max():.1e} eV")

# The same response from both: the Brillouin-zone integrator for the TightBindingModel, the
# polar k-space integrator for the square-lattice model (mu = 0.5 eV, Gamma = 0.05 eV).
for model in (tb, lattice):
    r = kubo_sot.linear_response(model, fermi_energy=0.5, broadening=0.05, rtol=1e-4)
    tc = r.torque_coefficients(field_direction=(1.0, 0.0))
    print(f"{type(model).__name__:31s} t_FL = {tc.field_like:.8f} e/nm, "
          f"t_DL = {tc.damping_like:.8f} e/nm, sigma_xx = {r.conductivity.total[0, 0]:.6f} "
          f"e^2/h (error estimate {r.torkance.error.max():.0e} e/nm)")
