"""Splitting a list of independent points into joblib tasks; pinning BLAS to one thread."""

import contextlib

# Tasks per worker: each task is a chunk of points, so that light points (~1 ms) are not
# dominated by the ~1 ms round trip of a task; several chunks per worker keep the load
# balanced.
CHUNKS_PER_WORKER = 4


def interleaved_chunks(items, n_jobs):
    """``items`` split into CHUNKS_PER_WORKER chunks per worker (n_jobs = -1: all cores).

    Interleaved, not contiguous: neighbouring points of a grid cost alike, so each chunk
    gets a sample of the whole list and the workers finish together.
    """
    from joblib import cpu_count
    workers = cpu_count() if n_jobs == -1 else n_jobs
    n_chunks = min(len(items), CHUNKS_PER_WORKER * workers)
    return [items[i::n_chunks] for i in range(n_chunks)]


@contextlib.contextmanager
def single_blas_thread():
    """Run the body with BLAS/OpenMP limited to one thread (threadpoolctl), as in a joblib
    worker (``inner_max_num_threads=1``) or a cluster worker (OMP/OPENBLAS_NUM_THREADS=1).

    A multithreaded BLAS splits a matrix product (the Fourier sum of a TightBindingModel,
    sum_R exp(i k.R) h(R) for thousands of k at once) between threads with kernels that
    round differently, so without this a point computed in the sweep's own process differs
    in the last bits from the same point on a worker.  Yields whether the limit is in
    force: without threadpoolctl (``pip install threadpoolctl``, in the ``io`` extra) the
    body runs with the process's threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=1):
        yield True
