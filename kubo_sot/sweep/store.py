"""Checkpoint store: one JSON file per finished point, keyed by a hash of its full input.

Each file is written to a temporary name, flushed to disk and atomically renamed, so a kill
at any moment leaves either the complete file or none (never a truncated one).  A point is
reused only if its hash, built from the full input, the package version and the version of
the numerics, matches: a changed input never reuses a stale point.
"""

import hashlib
import json
import os
from pathlib import Path

from .. import __version__

#: Bump when a change of the numerics changes results (invalidates stored points).
NUMERICS_VERSION = "5"  # 2: r^4 quadrature estimate, three-ray isotropic rule; 3: safe
# estimate (decay over four coefficient pairs), grading 2^s, closed-form breakpoints, the
# main run continues the pilot's mesh; 4: one ray for isotropic models, band data of Fermi
# pockets split at the tangent directions, vertex inputs at rtol first (tightened if needed),
# coarser initial grading at rtol >= 1e-4; 5: periodic trapezoid rule in the angle for
# continuum models, white noise: Sigma's error bounded per tensor, not per element


def point_key(spec):
    payload = json.dumps({"input": spec, "version": __version__,
                          "numerics": NUMERICS_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


class PointStore:
    """Finished points of sweeps in a directory (created if needed)."""

    def __init__(self, path, clean=True):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if clean:  # the sweep's own store, not a worker's handle on it
            for leftover in self.path.glob("*.tmp"):  # from a run killed mid-write
                leftover.unlink()

    def _file(self, key):
        return self.path / f"{key}.json"

    def get(self, key):
        f = self._file(key)
        if not f.exists():
            return None
        return json.loads(f.read_text())["result"]

    def put(self, key, spec, result):
        tmp = self.path / f"{key}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"input": spec, "result": result}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file(key))

    def keys(self):
        return {f.stem for f in self.path.glob("*.json")}
