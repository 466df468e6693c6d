"""Splitting a list of independent points into joblib tasks."""

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
