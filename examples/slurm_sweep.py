"""AMR and torques of 100 Fermi energies x 37 magnetization angles on a SLURM cluster
(pip install 'kubo_sot[cluster,io]'; the same as ``kubo-sot sweep CONFIG --cluster slurm``).

    python examples/slurm_sweep.py [--jobs 8] [--walltime 00:15:00] [--interface ib0]

Dask workers start as SLURM jobs (dask-jobqueue), one single-threaded worker process per
core; the job script runs this interpreter and exports this environment (``--export=ALL``:
a shared filesystem is assumed), and sets NUMBA_CACHE_DIR to ``STORE/numba_cache`` (shared
and writable: a worker that finds it cold compiles the kernels for ~70 s) and the
allocator variables of the README.  The cluster *adapts* between one job and ``--jobs``:
a cancelled job, or workers retiring before the walltime, are replaced while work remains.
See docs/cluster.md.

Sizing.  The 100 energies of one angle are one task (one spectral-density sweep of the
in-plane, weakly Rashba-coupled model), so the sweep has 37 tasks; one costs 5-7 s on one
core at rtol 1e-6 (measured), the whole sweep ~4 core-minutes.  8 single-core jobs give
each worker ~5 tasks (~30 s), against a worker start of 5-70 s; more jobs would mostly
wait for their start, and more than 37 would have nothing to do (the module never submits
more jobs than tasks).  Walltime: start (70 s cold) + 5 tasks x 7 s, with a wide margin:
15 min.  For your own sweep: time a few points with ``kubo_sot.sweep(..., backend=
"serial")``, then jobs x cores ~ core-seconds / (10 x worker start), walltime ~ 2 x
(start + tasks per worker x cost per task).

Every finished point is stored at once in the checkpoint directory; Ctrl-C (or a killed
allocation) loses nothing: the script exits with status 130, says how many points are
stored, and running it again computes only the missing ones.
"""

import argparse
import sys

import numpy as np

from kubo_sot.errors import ParameterError
from kubo_sot.sweep.cluster import cluster_settings, interrupted_message, sweep_on_cluster

BASE = dict(alpha=0.05, exchange=0.2, magnetization=(1, 0, 0), broadening=0.005, rtol=1e-6)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jobs", default="8", help="maximum SLURM jobs (default %(default)s)")
    p.add_argument("--cores", default="1", help="cores per job (default %(default)s)")
    p.add_argument("--memory", default="2GB", help="memory per job (default %(default)s)")
    p.add_argument("--walltime", default="00:15:00", help="per job (default %(default)s)")
    p.add_argument("--queue", default=None, help="partition (default: SLURM's default)")
    p.add_argument("--interface", default=None, help="network interface, e.g. ib0")
    p.add_argument("--energies", type=int, default=100, help="Fermi energies in "
                   "[-0.15, 0.5] eV (default %(default)s)")
    p.add_argument("--angles", type=int, default=37, help="azimuths of M in [0, 180] deg "
                   "(default %(default)s)")
    p.add_argument("--store", default="amr_sweep.store", help="checkpoint directory")
    p.add_argument("--out", default="amr_sweep.nc", help="netCDF output")
    args = p.parse_args(argv)
    grid = {"fermi_energy": list(np.linspace(-0.15, 0.5, args.energies)),
            "magnetization_azimuth_deg": list(np.linspace(0, 180, args.angles))}
    try:
        settings = cluster_settings(dict(kind="slurm", jobs=args.jobs, cores=args.cores,
                                         memory=args.memory, walltime=args.walltime,
                                         queue=args.queue, interface=args.interface))
        ds = sweep_on_cluster(BASE, grid, settings=settings, store=args.store,
                              progress=True)
    except ParameterError as err:
        print(f"slurm_sweep: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # finished points are in the store: say so, fail loudly
        command = " ".join(["python"] + sys.argv)
        print("\n" + interrupted_message(BASE, grid, args.store, command), file=sys.stderr)
        return 130
    ds.to_netcdf(args.out)
    print(f"{ds.attrs['points_computed']} points computed, {ds.attrs['points_reused']} "
          f"reused from {args.store}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
