"""kubo_sot.sweep: evaluate a grid of parameter points on a serial, joblib or Dask back end,
with a checkpoint store, and return an xarray.Dataset."""

import os
import threading
import time
import warnings

from .. import _checks
from .._parallel import interleaved_chunks
from ..errors import ParameterError, StoreWarning
from .dataset import to_dataset
from .evaluate import (QUANTITIES, check_point, check_resolution, check_record, evaluate_points,
                       fermi_energy_groups)
from .grid import expand
from .store import PointStore, point_key

BACKENDS = ("serial", "joblib", "dask")


def _missing_extra(package, extra):
    return ImportError(f"{package} is needed for this; install it with "
                       f"pip install 'kubo_sot[{extra}]'")


# Wait between attempts on points that another sweep is computing (s, doubling up to 1 s).
BUSY_WAIT = (0.05, 1.0)
# How often a joblib worker checks that the sweep that started it is still alive (s).
PARENT_POLL_SECONDS = 1.0


def _attempt(task, model_factory, db, deferred):
    """Yield (index, result, computed) for the points of ``task`` = (indices, specs, keys).

    With a store, each point is looked up once more just before it would be computed (a
    concurrent sweep may have stored it meanwhile), computed only under its lock
    (:meth:`PointStore.claim`: a point another sweep is computing is put back on
    ``deferred``), and stored as soon as its task is finished."""
    indices, specs, keys = task
    if db is None:
        for index, result in zip(indices, evaluate_points(specs, model_factory)):
            yield index, result, True
        return
    locks, mine, busy = [], [], []
    try:
        for n, key in enumerate(keys):
            stored = db.get(key)
            if stored is None:
                lock = db.claim(key)
                if lock is None:
                    busy.append(n)
                    continue
                stored = db.get(key)  # stored by another sweep before we got the lock?
                if stored is None:
                    locks.append(lock)
                    mine.append(n)
                    continue
                lock.release()
            yield indices[n], stored, False
        if mine:
            results = evaluate_points([specs[n] for n in mine], model_factory)
            for n, result in zip(mine, results):
                db.put(keys[n], specs[n], result)
                yield indices[n], result, True
    finally:
        for lock in locks:
            lock.release()
    if busy:
        deferred.append(tuple([x[n] for n in busy] for x in task))


def _task_points(tasks, model_factory, db):
    """Yield (index, result, computed) for all points of ``tasks``; points that another
    sweep is computing come last, once it has stored them (or died: its lock is gone)."""
    deferred = []
    for task in tasks:
        yield from _attempt(task, model_factory, db, deferred)
    wait = BUSY_WAIT[0]
    while deferred:
        tasks, deferred = deferred, []
        for task in tasks:
            yield from _attempt(task, model_factory, db, deferred)
        if deferred:
            time.sleep(wait)
            wait = min(2 * wait, BUSY_WAIT[1])


def _open_store(store):
    """A worker's handle on the store (no probe, no cleaning), or None if this worker does
    not see the store's directory (a Dask worker on another file system)."""
    if store is None or not os.path.isdir(store):
        return None
    return PointStore(store, clean=False, check_result=check_record)


def _chunk_task(tasks, model_factory, store, parent=None):
    """Evaluate a chunk of tasks, each (indices, specs, keys), in a worker; with a store,
    each point is written there as soon as its task is finished (from the worker), so an
    interrupted chunk loses no finished point.  ``parent``: pid of the sweep; the worker
    exits when that process has died (:func:`_watch_parent`).

    Returns (stored, [(index, result, computed), ...]), stored telling whether the points
    are in the store already."""
    if parent is not None:
        _watch_parent(parent)
    db = _open_store(store)
    return db is not None, list(_task_points(tasks, model_factory, db))


_watchdog = None


def _watch_parent(parent):
    """Make this worker process exit once ``parent`` (the sweep that started it) is gone.

    A loky worker whose sweep was killed (SIGKILL: no cleanup runs) finishes its chunk and
    then waits for work that never comes; it would live on, holding its memory.  A daemon
    thread checks the parent pid every PARENT_POLL_SECONDS: once the worker has been
    reparented (to init or a subreaper), it ends the process at once."""
    global _watchdog
    if _watchdog is not None or os.getpid() == parent or os.getppid() != parent:
        return  # already watching; or run in the sweep's own process (n_jobs=1)

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    _watchdog = threading.Thread(target=watch, name="kubo_sot-parent-watch", daemon=True)
    _watchdog.start()


def sweep(base, grid=None, *, points=None, quantities=QUANTITIES, backend="serial",
          n_jobs=1, client=None, scheduler=None, store=None, model_factory=None,
          progress=False, share_kpoints=True, **unknown):
    """Linear response over a grid of parameters, as an xarray.Dataset.

    Parameters
    ----------
    base : dict
        Fixed parameters: ``alpha`` (eV nm), ``exchange`` (eV), ``mass`` (m_e),
        ``magnetization`` (unit 3-vector), ``fermi_energy`` (eV), ``broadening`` (eV),
        ``temperature`` (K), ``rtol``, ``field_direction`` (in-plane unit vector),
        ``disorder`` ("constant_gamma", or "white_noise": self-consistent Born, T = 0, with
        ``broadening`` its Born width) and ``vertex_corrections`` (bool, white noise).
        A :class:`~kubo_sot.TightBindingModel` instead of alpha, exchange and mass
        (:mod:`kubo_sot.sweep.tight_binding`; constant Gamma only): ``factory``
        ("package.module:function", called as ``function(magnetization=M)``), or
        ``hr_file`` (Wannier90 ``seedname_hr.dat``) with ``spin_operators``
        ("interleaved" | "blocks"), optionally ``lattice_vectors`` and
        ``orbital_positions`` (nm) and ``exchange`` (J in eV, X = -J s, not sweepable)
        with ``file_magnetization`` (the M of the file's H).  The sha256 of the files is
        part of every point's store key; the model is built once per process.
    grid : dict, optional
        name -> values; the Cartesian product is evaluated.  Sweepable names: alpha,
        exchange, mass, fermi_energy, broadening, temperature, magnetization_polar_deg
        (from +z, in [0, 180]) and magnetization_azimuth_deg (from +x, in [-360, 360]; out
        of range is an error, never wrapped).  Every value is a real number: True/False
        and strings such as "0.1" are refused.
    points : list of dict, optional
        Explicit list of points instead of a grid (dimension ``point``).
    quantities : sequence
        Any of "conductivity", "spin_density", "torkance", "torque", "resistivity".
    backend : {"serial", "joblib", "dask"}
        joblib: ``n_jobs`` loky processes with one BLAS thread each (they exit when the
        sweep's process dies, even by SIGKILL).  dask: an existing ``distributed.Client``
        (``client``) or a scheduler address (``scheduler``); tasks are batched in chunks
        as for joblib, and a worker that sees the store writes each point there as its
        task finishes (else the client stores a chunk's points when it returns).  A group
        of Fermi energies (``share_kpoints``) is one k-integral: its points exist only
        when it finishes, on every back end.
    store : path, optional
        Checkpoint directory (:mod:`kubo_sot.sweep.store`): each finished point is stored
        at once; points already there (same full input, intact file) are not recomputed,
        bad files are moved to ``STORE/quarantine/`` with a
        :class:`~kubo_sot.errors.StoreWarning` and recomputed.  Checked by a probe write
        and against the free space needed before anything is computed.  Several sweeps
        may share a store: each point is computed by one of them (locks), the others wait
        for it.  A store holding points this sweep does not use (another configuration)
        gets a StoreWarning saying how many.
    model_factory : callable, optional
        ``factory(alpha=, exchange=, mass=, magnetization=) -> model`` (default
        RashbaFerromagnet); not with a tight-binding model (``factory`` in ``base``, an
        importable name, is stored with the points and reaches every back end).
    share_kpoints : bool
        Points equal but for the Fermi energy (M along z, or with an in-plane part and
        weak Rashba coupling; constant Gamma, one temperature, at least 8) are one task:
        one spectral-density sweep (:func:`kubo_sot.sweep.evaluate.fermi_energy_groups`),
        5-15x cheaper at T = 0.  Its results agree with the point-by-point ones within
        their errors, not bitwise, and a resumed sweep integrates its missing energies in
        a smaller group; False evaluates every point on its own k-mesh.

    Returns
    -------
    xarray.Dataset
        Swept parameters as coordinates; for every quantity its total, fermi_surface,
        fermi_sea and error; units and provenance as attributes.  ``ds.attrs`` also counts
        the points computed now and reused from the store.
    """
    if unknown:
        raise ParameterError(f"kubo_sot.sweep() got unknown keyword(s) {sorted(unknown)}; "
                             "allowed: grid, points, quantities, backend, n_jobs, client, "
                             "scheduler, store, model_factory, progress, share_kpoints")
    try:
        import xarray  # noqa: F401
    except ImportError:
        raise _missing_extra("xarray", "io") from None
    if isinstance(quantities, str):
        raise ParameterError(f"quantities = {quantities!r} must be a list of names: "
                             f"allowed {list(QUANTITIES)}")
    unknown = sorted(set(quantities) - set(QUANTITIES))
    if unknown or not quantities:
        raise ParameterError(f"quantities = {list(quantities)}: allowed {list(QUANTITIES)}")
    if backend not in BACKENDS:
        raise ParameterError(f"backend = {backend!r} is not one of {list(BACKENDS)}")
    n_jobs = _checks.n_jobs(n_jobs)
    for name, flag in (("progress", progress), ("share_kpoints", share_kpoints)):
        if not isinstance(flag, bool):
            raise ParameterError(f"{name} = {flag!r} must be True or False")
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise ParameterError(f"store = {store!r} must be a directory path (str or Path)")
    axes, specs = expand(base, grid, points)
    for spec in specs:  # every point is checked before anything is computed
        check_point(spec, model_factory)
    check_resolution(specs, model_factory)

    keys = [point_key(s) for s in specs]
    results = [None] * len(specs)
    # Opening the store probes it with a write: a read-only or full disk is found now.
    db = PointStore(store, check_result=check_record) if store is not None else None
    if db is not None:
        for i, k in enumerate(keys):
            results[i] = db.get(k)
    todo = [i for i, r in enumerate(results) if r is None]
    n_reused = len(specs) - len(todo)
    if db is not None:
        db.check_free_space(len(todo))
        other = len(db.keys() - set(keys))
        if other:
            warnings.warn(StoreWarning(
                f"checkpoint store {db.path} holds {other} points of another configuration "
                f"(inputs, grid or package version not those of this sweep); {n_reused} of "
                "this one"), stacklevel=2)

    bar = _progress_bar(len(specs), n_reused, progress)
    tasks = (fermi_energy_groups(todo, specs, model_factory) if share_kpoints
             else [[i] for i in todo])
    n_computed = 0
    try:
        for index, result, computed in _run(tasks, specs, keys, backend, n_jobs, client,
                                            scheduler, model_factory, db):
            results[index] = result
            n_computed += computed
            if bar is not None:
                bar.update(1)
    finally:  # also on Ctrl-C, before the caller reports it
        if bar is not None:
            bar.close()
    ds = to_dataset(axes, specs, results, quantities, base, backend)
    ds.attrs["points_computed"] = n_computed  # points found in the store meanwhile (stored
    ds.attrs["points_reused"] = len(specs) - n_computed  # by a concurrent sweep) reused
    return ds


def _progress_bar(total, done, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=done, unit="point", desc="kubo_sot sweep")


def _run(tasks, specs, keys, backend, n_jobs, client, scheduler, model_factory, db):
    """Yield (index, result, computed) as points finish, in any order; every computed point
    is in the store ``db`` (if any) when it is yielded.  ``tasks``: lists of point
    indices evaluated together."""
    if not tasks:
        return
    items = [(task, [specs[i] for i in task], [keys[i] for i in task]) for task in tasks]
    store = None if db is None else str(db.path)
    if backend == "serial":
        yield from _task_points(items, model_factory, db)
    elif backend == "joblib":
        from joblib import Parallel, delayed, parallel_config
        # One BLAS/OpenMP thread per worker so that n_jobs workers fill n_jobs cores.
        with parallel_config(backend="loky", inner_max_num_threads=1):
            for stored, done in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(_chunk_task)(chunk, model_factory, store, os.getpid())
                    for chunk in interleaved_chunks(items, n_jobs)):
                yield from _stored(done, stored, db, specs, keys)
    else:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise _missing_extra("dask.distributed", "cluster") from None
        own = client is None
        if own:
            if scheduler is None:
                raise ParameterError("backend='dask' needs client=distributed.Client(...) or "
                                     "scheduler='tcp://host:port'")
            client = Client(scheduler)
        futures = []
        try:
            # Chunks of tasks as for joblib (light points are not dominated by a task's
            # round trip).  Only the small parameter dicts travel to the workers; a worker
            # that sees the store writes each point there as its task finishes, as joblib
            # workers do, else the client writes the chunk's points when it returns.
            workers = max(1, sum(client.nthreads().values()))
            futures = [client.submit(_chunk_task, chunk, model_factory, store, pure=False)
                       for chunk in interleaved_chunks(items, workers)]
            for future in as_completed(futures):
                stored, done = future.result()
                yield from _stored(done, stored, db, specs, keys)
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:  # interrupted: stop the cluster's work on this sweep
                client.cancel(pending)
            if own:
                client.close()


def _stored(done, stored, db, specs, keys):
    """Points returned by a worker; those it could not store are stored here."""
    for index, result, computed in done:
        if computed and not stored and db is not None:
            db.put(keys[index], specs[index], result)
        yield index, result, computed
