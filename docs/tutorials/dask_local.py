"""The sweep of examples/slurm_sweep.py on a local Dask cluster, compared with joblib.

The same kubo_sot.sweep call as on SLURM, with a distributed.LocalCluster in place of
dask_jobqueue.SLURMCluster and a smaller grid: the dask back end gives the same numbers.
"""
import numpy as np
from distributed import Client, LocalCluster

import kubo_sot

base = dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), broadening=0.005, rtol=1e-6)
grid = {"fermi_energy": [-0.1, 0.1, 0.3], "magnetization_azimuth_deg": [0, 45, 90]}


def main():
    # Two single-threaded workers, as two SLURM jobs with cores=1 would give.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        ds = kubo_sot.sweep(base, grid, backend="dask", client=client, store="dask.store")
    reference = kubo_sot.sweep(base, grid, backend="joblib", n_jobs=2)

    print("rho_EE [h/e^2]:")
    print(ds["rho_ee"].round(8).to_pandas())
    # Bit for bit, NaN where a quantity is undefined (FL/DL for M parallel to z x E).
    same = all(np.array_equal(ds[name].values, reference[name].values, equal_nan=True)
               for name in ds.data_vars)
    print(f"{ds.attrs['points_computed']} points on Dask; identical to joblib: {same}")


# The worker processes are spawned and import this file again: only the main process runs.
if __name__ == "__main__":
    main()
