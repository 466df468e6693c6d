"""The sweep of examples/sweep_amr.toml from Python, compared with the command line's amr.nc."""
import numpy as np
import xarray as xr

import kubo_sot

ds = kubo_sot.sweep(
    dict(alpha=0.02, exchange=0.2, magnetization=(1, 0, 0), broadening=0.005, rtol=1e-5),
    # {start, stop, num} in the TOML file is numpy.linspace(start, stop, num).
    grid={"fermi_energy": list(np.linspace(0.0, 0.15, 4)),
          "magnetization_azimuth_deg": list(np.linspace(0, 180, 13))},
    quantities=["conductivity", "torque", "resistivity"],
    backend="joblib", n_jobs=2, store="amr.store")
print(ds["rho_ee"].isel(fermi_energy=2).round(6).to_series().head(4))

with xr.open_dataset("amr.nc") as cli:
    # Bit for bit, NaN where a quantity is undefined (FL/DL for M parallel to z x E).
    same = all(np.array_equal(ds[name].values, cli[name].values, equal_nan=True)
               for name in cli.data_vars)
print(f"{ds.sizes['fermi_energy'] * ds.sizes['magnetization_azimuth_deg']} points; "
      f"identical to the command line's amr.nc: {same}")
