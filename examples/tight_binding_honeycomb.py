"""Your own model: a honeycomb ferromagnet with Kane-Mele and Rashba spin-orbit coupling.

Builds the 4-band model from its hoppings (kubo_sot.models.lattices), computes its
conductivity, spin density and spin-orbit torques over the whole Brillouin zone, writes it
as a Wannier90 ``_hr.dat`` and reads it back, which is how a model of a real material
(Co/Pt, graphene or a TMD on a magnet) comes in (the lattice then comes from
``seedname_tb.dat`` or ``seedname.win`` and the orbital centres from
``seedname_centres.xyz`` where they exist; here they are given).

    python examples/tight_binding_honeycomb.py
"""

import pathlib
import tempfile

import numpy as np

import kubo_sot
from kubo_sot.models.lattices import honeycomb_kane_mele_ferromagnet
from kubo_sot.models.wannier90 import write_model_hr

# Energies in eV, lengths in nm; M tilted out of the plane.
model = honeycomb_kane_mele_ferromagnet(hopping=1.0, spin_orbit=0.05, rashba=0.05,
                                        sublattice=0.1, exchange=0.1,
                                        magnetization=(0.6, 0.0, 0.8))
r = kubo_sot.linear_response(model, fermi_energy=0.5, broadening=0.05, rtol=1e-5)
print(f"{model.n_bands} bands, {r.provenance['n_kpoints']} k-points")
print("sigma [e^2/h] (total):\n", r.conductivity.total.round(5))
print("sigma [e^2/h] (Fermi sea):\n", r.conductivity.fermi_sea.round(5))
print("torkance [e/nm] (total):\n", r.torkance.total.round(6))
tc = r.torque_coefficients(field_direction=(1.0, 0.0))
print(f"t_FL = {tc.field_like:.6f} e/nm, t_DL = {tc.damping_like:.6f} e/nm, "
      f"largest error {r.torkance.error.max():.1e} e/nm")

# The same model through a Wannier90 file: the file holds H at the magnetization given,
# and the exchange operators (here -J s on site) let the reader recover H0.
with tempfile.TemporaryDirectory() as folder:
    hr_file = pathlib.Path(folder) / "honeycomb_hr.dat"
    write_model_hr(hr_file, model)
    loaded = kubo_sot.TightBindingModel.from_wannier90(
        hr_file, lattice_vectors=model.lattice_vectors, spin_operators="interleaved",
        exchange=0.1,
        orbital_positions=model.orbital_positions, magnetization=model.magnetization)
    r2 = kubo_sot.linear_response(loaded, fermi_energy=0.5, broadening=0.05, rtol=1e-5)
deviation = np.abs(r2.torkance.total - r.torkance.total).max()
print(f"read back from {hr_file.name}: torkance deviation {deviation:.1e} e/nm")
