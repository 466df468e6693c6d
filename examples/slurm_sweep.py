"""Run a kubo_sot sweep on a SLURM cluster through dask-jobqueue (pip install 'kubo_sot[cluster,io]').

Each SLURM job starts one Dask worker process with one thread (the kernels are NumPy; one
BLAS thread per worker keeps the cores busy without oversubscription).  Only the small
parameter dictionaries travel to the workers; every finished point is written at once to
the checkpoint directory, so a killed allocation loses nothing: run the script again and it
computes only the missing points.  For PBS use dask_jobqueue.PBSCluster with the same
arguments.
"""

import numpy as np
from dask_jobqueue import SLURMCluster
from distributed import Client

import kubo_sot

base = dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), broadening=0.005, rtol=1e-6)
grid = {"fermi_energy": list(np.linspace(-0.15, 0.5, 100)),
        "magnetization_azimuth_deg": list(np.linspace(0, 180, 37))}

cluster = SLURMCluster(cores=1, processes=1, memory="2GB", walltime="02:00:00",
                       job_script_prologue=["export OMP_NUM_THREADS=1",
                                            "export OPENBLAS_NUM_THREADS=1"])
cluster.scale(jobs=64)
with Client(cluster) as client:
    ds = kubo_sot.sweep(base, grid, backend="dask", client=client,
                        store="amr_sweep.store", progress=True)
ds.to_netcdf("amr_sweep.nc")
