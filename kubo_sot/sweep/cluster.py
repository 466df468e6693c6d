"""Sweeps on a SLURM or PBS cluster: dask-jobqueue workers started as batch jobs.

``kubo-sot sweep CONFIG --cluster slurm|pbs`` (or a ``[cluster]`` section in the TOML file)
goes through :func:`sweep_on_cluster`: the settings are checked (:func:`cluster_settings`),
the sweep's tasks counted (:func:`count_tasks`: a group of Fermi energies is one task),
the number of jobs bounded by that count (:func:`job_bounds`), a SLURMCluster/PBSCluster
started with ``adapt(minimum=..., maximum=...)`` so that a cancelled or expired job is
replaced, and the points evaluated by :func:`kubo_sot.sweep` on the Dask back end.

Each job runs ``cores`` Dask worker processes of one thread each (the kernels run one
point per process; one BLAS thread keeps the cores busy without oversubscription).  The
job script is written for the client's interpreter (``sys.executable``) and exports the
client's environment (``--export=ALL`` for SLURM, ``-V`` for PBS), so a shared filesystem
with the same paths on every node is assumed.  It also sets

- ``NUMBA_CACHE_DIR``: compiled kernels are cached there, shared by all workers; a worker
  that finds the cache cold compiles for about 70 s before its first point;
- ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``: glibc keeps freed memory instead
  of returning it at once (each point would page-fault its ~5 MB working set anew; 7-15 %
  faster sweeps, README "Benchmarks");
- one OpenMP/BLAS thread per worker process.

Workers retire before the walltime ends (``--lifetime``), and adapt starts new jobs for
the rest of the sweep, so no task is cut off by the batch system's kill.  Documentation:
``docs/cluster.md``.
"""

import math
import os
import re
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParameterError
from .evaluate import check_point, check_resolution, fermi_energy_groups
from .grid import expand
from .store import PointStore, point_key

KINDS = ("slurm", "pbs")

#: Keys of the ``[cluster]`` TOML section (CLI: ``--cluster``, ``--jobs``, ...).
KEYS = ("kind", "jobs", "cores", "memory", "walltime", "queue", "interface",
        "numba_cache_dir")

#: Default maximum number of jobs; fewer are started when the sweep has fewer tasks.
DEFAULT_JOBS = 4
#: Memory per worker process if none is given.  A worker holding the kernels, SciPy,
#: numba and distributed peaks at ~320 MB (measured over a 100-energy spectral sweep);
#: 2 GB leaves Dask's memory manager (pause at 80 %, kill at 95 %) far from its limits.
DEFAULT_MEMORY_PER_CORE = 2 * 1000**3
#: Below this a worker process is paused or killed by Dask before it finishes a point.
MIN_MEMORY_PER_CORE = 512 * 1024**2
DEFAULT_WALLTIME = "01:00:00"
#: A job must outlive the start of its worker (imports, and ~70 s to compile the kernels
#: into a cold numba cache) with time to spare for points.
MIN_WALLTIME_S = 5 * 60

# glibc allocator settings of the README (bytes): keep 256 MB of freed memory, serve
# requests below 64 MB from the heap.
ALLOCATOR = {"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "67108864"}
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class ClusterSettings:
    """Checked settings of a batch cluster (see :func:`cluster_settings`).

    kind : "slurm" or "pbs"; jobs : maximum number of batch jobs; cores : worker
    processes (one thread each) and cores per job; memory : bytes per job; walltime :
    seconds per job; queue : partition/queue or None (the default one); interface :
    network interface of the scheduler and workers, or None (the scheduler's default
    address); numba_cache_dir : shared writable directory, or None (under the store)."""

    kind: str
    jobs: int = DEFAULT_JOBS
    cores: int = 1
    memory: int = None
    walltime: int = None
    queue: str = None
    interface: str = None
    numba_cache_dir: str = None

    @property
    def memory_text(self):
        """Memory per job for dask-jobqueue, in MB (decimal, as SLURM and PBS read it)."""
        return f"{self.memory // 1000**2}MB"

    @property
    def walltime_text(self):
        """Walltime as HH:MM:SS (both SLURM and PBS read it; hours may exceed 24)."""
        h, rest = divmod(self.walltime, 3600)
        return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
                value = int(value)
            else:
                raise ValueError
        except ValueError:
            raise ParameterError(f"{name} = {value!r} must be a whole number "
                                 "(allowed range [1, inf))") from None
    if value < 1:
        raise ParameterError(f"{name} = {value} is outside the allowed range [1, inf)")
    return value


def parse_memory(name, value):
    """Bytes from '2GB', '1500MB', '4GiB', ... (a plain number: bytes)."""
    from dask.utils import parse_bytes
    try:
        if isinstance(value, bool):
            raise ValueError
        n = int(value) if isinstance(value, (int, float)) else parse_bytes(str(value))
    except (ValueError, TypeError):
        raise ParameterError(f"{name} = {value!r} must be an amount of memory such as "
                             "'2GB', '1500MB' or '4GiB'") from None
    if n <= 0:
        raise ParameterError(f"{name} = {value!r} must be positive")
    return n


def parse_walltime(name, value):
    """Seconds from 'HH:MM:SS', 'MM:SS' or 'D-HH:MM:SS'."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d{1,2})(?::(\d{1,2}))?", str(value).strip())
    if not isinstance(value, str) or m is None:
        raise ParameterError(f"{name} = {value!r} must be a time as HH:MM:SS "
                             "(or D-HH:MM:SS)")
    days, a, b, c = m.groups()
    if c is None:  # MM:SS
        h, mi, s = 0, int(a), int(b)
    else:
        h, mi, s = int(a), int(b), int(c)
    if (c is not None and mi >= 60) or s >= 60:
        raise ParameterError(f"{name} = {value!r}: minutes and seconds must be below 60")
    seconds = int(days or 0) * 86400 + h * 3600 + mi * 60 + s
    if seconds < MIN_WALLTIME_S:
        raise ParameterError(
            f"{name} = {value!r} ({seconds} s) is outside the allowed range "
            f"[{MIN_WALLTIME_S} s, inf): a worker needs up to ~70 s to start (numba "
            "compiling into a cold cache) before its first point")
    return seconds


def _interfaces():
    import psutil
    return sorted(psutil.net_if_addrs())


def cluster_settings(options, section=None):
    """Checked :class:`ClusterSettings` from ``options`` (CLI values, None where not
    given) over ``section`` (the TOML ``[cluster]`` table, may be None): a CLI value
    overrides the file's.  Returns None when neither names a cluster kind; raises
    ParameterError for an unknown key, a bad value, or cluster settings without a kind.

    Each message names the option as the user gave it (``--jobs`` or ``[cluster] jobs``).
    """
    section = dict(section or {})
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise ParameterError(f"unknown key(s) {unknown} in [cluster]; allowed {list(KEYS)}")
    values, names = {}, {}
    for key in KEYS:
        if options.get(key) is not None:
            values[key], names[key] = options[key], "--" + ("cluster" if key == "kind"
                                                            else key.replace("_", "-"))
        elif key in section:
            values[key], names[key] = section[key], f"[cluster] {key}"
    if "kind" not in values:
        if values:
            given = ", ".join(names[k] for k in values)
            raise ParameterError(f"{given} given without a cluster kind: add --cluster "
                                 f"slurm|pbs (or [cluster] kind = \"slurm\")")
        return None
    kind = values["kind"]
    if kind not in KINDS:
        raise ParameterError(f"{names['kind']} = {kind!r} is not one of {list(KINDS)}")
    jobs = _positive_int(names.get("jobs", "--jobs"), values.get("jobs", DEFAULT_JOBS))
    cores = _positive_int(names.get("cores", "--cores"), values.get("cores", 1))
    if "memory" in values:
        memory = parse_memory(names["memory"], values["memory"])
        if memory < cores * MIN_MEMORY_PER_CORE:
            raise ParameterError(
                f"{names['memory']} = {values['memory']!r} gives "
                f"{memory / 1024**2:.0f} MiB to each of the {cores} worker process(es) of "
                f"a job: allowed at least {MIN_MEMORY_PER_CORE // 1024**2} MiB per "
                "process (a worker peaks at ~320 MB)")
    else:
        memory = cores * DEFAULT_MEMORY_PER_CORE
    walltime = parse_walltime(names.get("walltime", "--walltime"),
                              values.get("walltime", DEFAULT_WALLTIME))
    queue = values.get("queue")
    if queue is not None and (not isinstance(queue, str) or not re.fullmatch(r"[\w.@-]+",
                                                                            queue)):
        raise ParameterError(f"{names['queue']} = {queue!r} must be a partition or queue "
                             "name (letters, digits, . _ - @)")
    interface = values.get("interface")
    if interface is not None:
        available = _interfaces()
        if interface not in available:
            raise ParameterError(f"{names['interface']} = {interface!r} is not a network "
                                 f"interface of this machine; available: {available}")
    cache = values.get("numba_cache_dir")
    if cache is not None:
        if not isinstance(cache, str) or not cache.strip():
            raise ParameterError(f"{names['numba_cache_dir']} = {cache!r} must be a path")
        cache = str(_writable_dir(names["numba_cache_dir"], cache))
    return ClusterSettings(kind=kind, jobs=jobs, cores=cores, memory=memory,
                           walltime=walltime, queue=queue, interface=interface,
                           numba_cache_dir=cache)


def _writable_dir(name, path):
    path = Path(path).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"{name} = {str(path)!r} cannot be created: {err.strerror}") \
            from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ParameterError(f"{name} = {str(path)!r} is not writable: the workers write "
                             "the compiled kernels there")
    return path


def count_tasks(base, grid=None, points=None, store=None, share_kpoints=True):
    """(points to compute, tasks) of ``kubo_sot.sweep(base, grid, points=points,
    store=store, share_kpoints=share_kpoints)``: the points not yet in the store, grouped
    as the sweep groups them (:func:`kubo_sot.sweep.evaluate.fermi_energy_groups`).
    Every point is checked first (ParameterError)."""
    _, specs = expand(base, grid, points)
    for spec in specs:
        check_point(spec, None)
    check_resolution(specs)
    done = PointStore(store, clean=False).keys() if store is not None else set()
    todo = [i for i, s in enumerate(specs) if point_key(s) not in done]
    tasks = fermi_energy_groups(todo, specs) if share_kpoints else [[i] for i in todo]
    return len(todo), len(tasks)


def job_bounds(settings, n_tasks):
    """(minimum, maximum) number of jobs for ``n_tasks`` tasks: at most ``settings.jobs``
    and never more jobs than needed to give every worker process a task,
    ceil(n_tasks / cores); at least one, so that a cancelled job is replaced."""
    maximum = max(1, min(settings.jobs, math.ceil(n_tasks / settings.cores)))
    return 1, maximum


def job_script_prologue(numba_cache_dir):
    """Shell lines run by every job before its workers start."""
    lines = [f"export NUMBA_CACHE_DIR={_quote(str(numba_cache_dir))}"]
    lines += [f"export {k}={v}" for k, v in ALLOCATOR.items()]
    lines += [f"export {k}=1" for k in THREADS]
    return lines


def _quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


def _lifetime(walltime):
    """(lifetime, stagger) in seconds: workers retire gracefully this long before the
    batch system kills the job (a fifth of the walltime, at most 5 min), staggered so
    that they do not all leave at once."""
    margin = min(300, walltime // 5)
    return walltime - margin, margin // 3


def _jobqueue():
    try:
        import dask_jobqueue
    except ImportError:
        raise ImportError("dask-jobqueue is needed for --cluster; install it with "
                          "pip install 'kubo_sot[cluster]'") from None
    _restore_sigint()
    return dask_jobqueue


def _restore_sigint():
    """Undo dask-jobqueue's SIGINT handler.  Importing dask_jobqueue (0.9) replaces it by
    ``sys.exit()`` (dask_jobqueue/runner.py), so that Ctrl-C ended a sweep with exit
    status 0 and no word; Python's own handler raises KeyboardInterrupt instead, which
    closes the cluster (cancelling its jobs) and lets the caller say what is stored."""
    handler = signal.getsignal(signal.SIGINT)
    if (getattr(handler, "__module__", None) == "dask_jobqueue.runner"
            and threading.current_thread() is threading.main_thread()):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def interrupted_message(base, grid, store, command, points=None, share_kpoints=True):
    """What to tell after an interrupted sweep: how many of its points the store holds,
    and the command that resumes it."""
    _, specs = expand(base, grid, points)
    missing = count_tasks(base, grid, points, store, share_kpoints)[0]
    return (f"interrupted: {len(specs) - missing} of {len(specs)} points stored in "
            f"{store}; rerun {command} to resume")


def cluster_class(settings):
    """dask_jobqueue.SLURMCluster or PBSCluster."""
    jq = _jobqueue()
    return jq.SLURMCluster if settings.kind == "slurm" else jq.PBSCluster


def cluster_kwargs(settings, store):
    """Keyword arguments of :func:`cluster_class` for a sweep with checkpoint directory
    ``store``: ``cores`` single-threaded worker processes per job, the client's
    interpreter, the exported environment and the prologue of
    :func:`job_script_prologue` (numba cache: ``settings.numba_cache_dir``, else
    $NUMBA_CACHE_DIR, else STORE/numba_cache), job logs in STORE/cluster_logs."""
    store = Path(store).resolve()
    cache = Path(settings.numba_cache_dir or os.environ.get("NUMBA_CACHE_DIR")
                 or store / "numba_cache")
    cache = _writable_dir("numba_cache_dir", cache)
    logs = store / "cluster_logs"
    logs.mkdir(parents=True, exist_ok=True)
    lifetime, stagger = _lifetime(settings.walltime)
    return dict(
        cores=settings.cores, processes=settings.cores, memory=settings.memory_text,
        walltime=settings.walltime_text, queue=settings.queue,
        interface=settings.interface, python=sys.executable,
        job_script_prologue=job_script_prologue(cache),
        # the client's environment (PATH, PYTHONPATH, the venv) reaches the workers
        job_extra_directives=["--export=ALL" if settings.kind == "slurm" else "-V"],
        log_directory=str(logs),
        worker_extra_args=["--lifetime", f"{lifetime}s", "--lifetime-stagger",
                           f"{stagger}s"],
        job_name="kubo-sot",
        # the dashboard on a free port: 8787 may be taken by another user's scheduler
        scheduler_options={"dashboard_address": ":0"})


def make_cluster(settings, n_tasks, store):
    """A started SLURMCluster/PBSCluster (:func:`cluster_kwargs`) for ``n_tasks`` tasks,
    adapting between the bounds of :func:`job_bounds`."""
    cluster = cluster_class(settings)(**cluster_kwargs(settings, store))
    low, high = job_bounds(settings, n_tasks)
    # adapt, not scale: a job that is cancelled, fails or whose workers retire at the
    # walltime is replaced while tasks remain (under scale(jobs=n) it was not).
    cluster.adapt(minimum=low * settings.cores, maximum=high * settings.cores)
    return cluster


def sweep_on_cluster(base, grid=None, *, settings, store, points=None, quantities=None,
                     progress=False, share_kpoints=True, log=print):
    """``kubo_sot.sweep`` on Dask workers started as SLURM/PBS jobs (``settings``: a
    :class:`ClusterSettings`).  The store is required (the checkpoint directory a killed
    allocation resumes from; it also holds the default numba cache and the job logs).
    Jobs are sized by :func:`job_bounds`; nothing is submitted when every point is
    already stored.  ``log`` receives one line on the sizing (None: silent)."""
    from distributed import Client

    from .evaluate import QUANTITIES
    from .runner import sweep
    quantities = QUANTITIES if quantities is None else quantities
    n_points, n_tasks = count_tasks(base, grid, points, store, share_kpoints)
    if n_tasks == 0:
        return sweep(base, grid, points=points, quantities=quantities, store=store,
                     share_kpoints=share_kpoints)
    low, high = job_bounds(settings, n_tasks)
    if log is not None:
        note = (f" (--jobs {settings.jobs} capped: {n_tasks} tasks)"
                if high < settings.jobs else "")
        log(f"{n_points} points in {n_tasks} tasks on {low}-{high} {settings.kind} "
            f"job(s){note} of {settings.cores} core(s), {settings.memory_text}, walltime "
            f"{settings.walltime_text}")
    with make_cluster(settings, n_tasks, store) as cluster, Client(cluster) as client:
        if log is not None:
            log(f"scheduler {cluster.scheduler_address}, dashboard {client.dashboard_link}")
        return sweep(base, grid, points=points, quantities=quantities, backend="dask",
                     client=client, store=store, progress=progress,
                     share_kpoints=share_kpoints)


def add_arguments(parser):
    """The cluster options of ``kubo-sot sweep`` (each overrides the TOML [cluster])."""
    g = parser.add_argument_group(
        "cluster", "run on Dask workers started as SLURM/PBS batch jobs (dask-jobqueue); "
        "the same keys in a [cluster] section of CONFIG; see docs/cluster.md")
    g.add_argument("--cluster", dest="kind", choices=KINDS, default=None,
                   help="batch system to submit the workers to")
    g.add_argument("--jobs", default=None,
                   help=f"maximum number of batch jobs (default {DEFAULT_JOBS}; never "
                   "more than the sweep's tasks need); adapt() keeps at least one")
    g.add_argument("--cores", default=None,
                   help="cores per job, one single-threaded worker process each "
                   "(default 1)")
    g.add_argument("--memory", default=None,
                   help="memory per job, e.g. 4GB (default 2GB per core; at least "
                   f"{MIN_MEMORY_PER_CORE // 1024**2} MiB per core)")
    g.add_argument("--walltime", default=None,
                   help=f"walltime per job as HH:MM:SS (default {DEFAULT_WALLTIME}; at "
                   f"least {MIN_WALLTIME_S // 60} min); workers retire before it ends "
                   "and new jobs take over")
    g.add_argument("--queue", default=None, help="partition (SLURM) or queue (PBS) "
                   "(default: the batch system's default)")
    g.add_argument("--interface", default=None,
                   help="network interface of the scheduler and the workers, e.g. ib0 "
                   "or lo (default: the address of the default-route interface)")
    g.add_argument("--numba-cache-dir", default=None,
                   help="shared, writable numba cache for the workers (default: "
                   "$NUMBA_CACHE_DIR, else STORE/numba_cache)")


def settings_from_args(args, section=None):
    """:func:`cluster_settings` from parsed ``kubo-sot sweep`` arguments; also refuses
    options of the other back ends given with --cluster."""
    options = {key: getattr(args, key, None) for key in KEYS}
    settings = cluster_settings(options, section)
    if settings is not None:
        if getattr(args, "scheduler", None):
            raise ParameterError(f"--scheduler = {args.scheduler!r} and a cluster "
                                 f"({settings.kind}) exclude each other: the cluster "
                                 "starts its own scheduler")
        if getattr(args, "backend", "serial") not in ("serial", "dask"):
            raise ParameterError(f"--backend = {args.backend!r} cannot run on a cluster: "
                                 "--cluster uses the dask back end")
    return settings


__all__ = ["ClusterSettings", "cluster_settings", "count_tasks", "job_bounds",
           "cluster_class", "cluster_kwargs", "make_cluster", "interrupted_message",
           "sweep_on_cluster", "add_arguments", "settings_from_args"]
