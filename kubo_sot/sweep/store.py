"""Checkpoint store: one JSON file per finished point, keyed by a hash of its full input.

Layout of a store directory::

    KEY.json                      a finished point (KEY = point_key(input), 32 hex digits)
    KEY.HOST.PID.TOKEN.tmp        a point being written by process PID on HOST
    locks/KEY.lock                held (flock) by the process computing KEY right now
    quarantine/                   bad point files moved aside (never read again)

Point file (format 2, NUMERICS_VERSION 7)::

    {"format": 2, "key": KEY, "input": {...}, "result": {...},
     "checksum": sha256 of the canonical JSON of {"input": ..., "result": ...}}

Each file is written to a temporary name owned by its writer, flushed to disk and atomically
renamed, so a kill at any moment leaves either the complete file or none.  A point is reused
only if its file passes :meth:`PointStore.get`: a regular file (never a symlink: nothing
outside the store is ever read), that parses, whose recorded input hashes to its own file
name (the hash includes the package version and the version of the numerics, so a changed
input never reuses a stale point), whose checksum matches, and whose result passes the
caller's schema check.  A file that fails is moved to ``quarantine/`` with a
:class:`~kubo_sot.errors.StoreWarning` naming it and the reason, and the point is computed
again: a bad file never blocks a resume.

Concurrent sweeps on one store: temporary files are never deleted while their writer may be
alive (only those of dead writers on this host whose point nobody has locked, or of any
writer older than a day), and a point is computed only under an exclusive ``flock`` on its
lock file, after checking once more that no other sweep has stored it meanwhile
(:meth:`PointStore.claim`).  The kernel releases the lock when its holder dies, even by
SIGKILL.  (On NFS, Linux maps flock to fcntl byte-range locks, which NFSv4 supports.)
"""

import errno
import fcntl
import hashlib
import json
import os
import secrets
import socket
import stat
import time
import warnings
from pathlib import Path

from .. import __version__
from ..errors import ParameterError, StoreWarning

#: Bump when a change of the numerics changes results (invalidates stored points).
NUMERICS_VERSION = "7"  # 2: r^4 quadrature estimate, three-ray isotropic rule; 3: safe
# estimate (decay over four coefficient pairs), grading 2^s, closed-form breakpoints, the
# main run continues the pilot's mesh; 4: one ray for isotropic models, band data of Fermi
# pockets split at the tangent directions, vertex inputs at rtol first (tightened if needed),
# coarser initial grading at rtol >= 1e-4; 5: periodic trapezoid rule in the angle for
# continuum models, white noise: Sigma's error bounded per tensor, not per element;
# 6: point files of format 2 (key and checksum recorded, checked before reuse); 7: a
# tensor's tolerance floored at VANISHING_FRACTION of its Int |integrand| (a tensor that
# vanishes by symmetry, or a torkance much smaller than chi, is resolved less deeply: results
# move within their errors) and the ladder's input errors from the pass difference (stored
# errors and the number of passes, hence k-points, change)
FORMAT = 2
# A point file is a few kB (measured: 2.8 kB with all quantities); anything far larger is
# not one of ours and is not read into memory.
MAX_POINT_BYTES = 1 << 20
# Free space asked for each point still to compute: its file (2.8 kB) in a 4 kB block,
# and as much again for the temporary copy that exists until the rename.
BYTES_PER_POINT = 8 * 1024
# Any temporary file older than this is stale (its writer may be on another host, where
# its pid means nothing; a point file is written in milliseconds).
ABANDONED_TMP_SECONDS = 86400.0
_HOST = socket.gethostname().replace(".", "_") or "host"


def point_key(spec):
    payload = json.dumps({"input": spec, "version": __version__,
                          "numerics": NUMERICS_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _canonical(obj):
    # repr(float) round-trips exactly, so a parsed file re-serializes to the same bytes.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def checksum(spec, result):
    """sha256 (hex) of the canonical JSON of a point's input and result."""
    return hashlib.sha256(_canonical({"input": spec, "result": result}).encode()).hexdigest()


def _oserror(path, err, doing):
    reason = err.strerror or str(err)
    return ParameterError(f"checkpoint store {path}: cannot {doing}: {reason} "
                          f"(errno {err.errno}); choose a writable directory with free space")


def probe_writable(directory, what="directory", nbytes=4096):
    """Create, fsync, rename and delete a probe file in ``directory``; raise ParameterError
    naming the directory and the reason (read-only, full, not a directory, ...) if any step
    fails.  Run before anything is computed, so that a disk problem costs no work."""
    directory = Path(directory)
    token = f".probe.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}"
    first, second = directory / token, directory / f"{token}.renamed"
    try:
        fd = os.open(first, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"\0" * nbytes)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(first, second)
        os.unlink(second)
    except OSError as err:
        for f in (first, second):
            try:
                os.unlink(f)
            except OSError:
                pass
        raise ParameterError(f"{what} {directory}: a probe write failed: "
                             f"{err.strerror or err} (errno {err.errno}); choose a writable "
                             "directory with free space") from None


class PointStore:
    """Finished points of sweeps in a directory (created if needed).

    Parameters
    ----------
    path : path
        The store directory.
    clean : bool
        Delete stale temporary files (of dead writers) and check the directory with a probe
        write: the sweep's own handle, not a worker's.
    check_result : callable, optional
        ``check_result(result) -> None``, raising ValueError with the reason for a result
        whose schema, shapes or values are wrong (:func:`kubo_sot.sweep.evaluate.check_record`).
    """

    def __init__(self, path, clean=True, check_result=None):
        self.path = Path(path)
        self.check_result = check_result
        if self.path.exists() and not self.path.is_dir():  # (a link to a folder is fine)
            raise ParameterError(f"checkpoint store {self.path} exists and is not a "
                                 "directory: give a directory (it is created if needed)")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _oserror(self.path, err, "create the directory") from None
        self._locks = self.path / "locks"
        self._quarantine = self.path / "quarantine"
        if clean:
            probe_writable(self.path, "checkpoint store")
            self._clean_temporaries()

    # -- files ------------------------------------------------------------------------
    def _file(self, key):
        return self.path / f"{key}.json"

    def _clean_temporaries(self):
        """Delete temporary files and lock files left by killed writers, never one still in
        use:
        a point is written under its lock (:meth:`claim`), so a temporary file is stale
        only if nobody holds its point's lock and its writer (pid on this host) is dead,
        or if it is older than ABANDONED_TMP_SECONDS (a writer on another host)."""
        now = time.time()
        for leftover in self.path.glob("*.tmp"):
            parts = leftover.name.split(".")
            try:
                age = now - leftover.lstat().st_mtime
            except OSError:
                continue  # renamed or removed by its writer meanwhile
            dead = (len(parts) == 5 and parts[1] == _HOST and parts[2].isdigit()
                    and not _alive(int(parts[2])))
            if not (dead or age > ABANDONED_TMP_SECONDS):
                continue
            lock = self.claim(parts[0]) if len(parts[0]) == 32 else None
            if lock is None and len(parts[0]) == 32:
                continue  # its point is being computed and written right now
            try:
                leftover.unlink()
            except OSError:
                pass
            finally:
                if lock is not None:
                    lock.release()
        for stale in self._locks.glob("*.lock"):  # of killed sweeps: nobody holds them
            lock = self.claim(stale.name[:-len(".lock")])
            if lock is not None:
                lock.release()  # removes the file

    def _quarantine_file(self, f, reason, inode):
        """Move the bad file ``f`` aside (unique name) and warn; never raise."""
        try:
            if self._quarantine.is_symlink():  # never move anything out of the store
                raise NotADirectoryError(errno.ENOTDIR, f"{self._quarantine} is a symlink")
            self._quarantine.mkdir(exist_ok=True)
            st = os.lstat(f)
            if (st.st_dev, st.st_ino) != inode:
                return  # replaced by a writer since it was read: leave the new file alone
            target = self._quarantine / (f"{f.name}.{time.strftime('%Y%m%dT%H%M%S')}."
                                         f"{secrets.token_hex(4)}")
            os.rename(f, target)
        except FileNotFoundError:
            return  # another sweep moved it already
        except OSError as err:
            warnings.warn(StoreWarning(f"bad point file {f}: {reason}; it could not be "
                                       f"moved aside ({err.strerror or err}); the point is "
                                       "computed again"), stacklevel=3)
            return
        warnings.warn(StoreWarning(f"bad point file {f}: {reason}; moved to {target}; the "
                                   "point is computed again"), stacklevel=3)

    def _read(self, key):
        """(record, None) for a good file, (None, reason) for a bad one, (None, None) if
        there is none; also the file's (device, inode) as read."""
        f = self._file(key)
        try:
            st = os.lstat(f)
        except FileNotFoundError:
            return None, None, None
        inode = (st.st_dev, st.st_ino)
        if stat.S_ISLNK(st.st_mode):
            return None, "a symbolic link (a store never follows links)", inode
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file", inode
        if st.st_size == 0:
            return None, "empty", inode
        if st.st_size > MAX_POINT_BYTES:
            return None, f"{st.st_size} bytes, larger than any point file", inode
        try:
            # no link followed; never blocks, should a FIFO have taken the file's place
            fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None, None, None
        except OSError as err:
            return None, f"cannot be opened: {err.strerror or err}", inode
        with os.fdopen(fd, "rb") as fh:
            now = os.fstat(fh.fileno())
            if (now.st_dev, now.st_ino) != inode:
                return self._read(key)  # replaced between lstat and open: read the new one
            raw = fh.read(MAX_POINT_BYTES + 1)
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            return None, f"not valid JSON ({type(err).__name__}: {err})", inode
        reason = self._check_record(key, record)
        return (None, reason, inode) if reason else (record, None, inode)

    def _check_record(self, key, record):
        if not isinstance(record, dict) or set(record) != {"format", "key", "input",
                                                           "result", "checksum"}:
            keys = sorted(record) if isinstance(record, dict) else type(record).__name__
            return f"not a point file of format {FORMAT} (keys {keys})"
        if record["format"] != FORMAT:
            return f"format {record['format']!r}, expected {FORMAT}"
        if not isinstance(record["input"], dict) or not isinstance(record["result"], dict):
            return "input or result is not a JSON object"
        if record["key"] != key:
            return f"it records the key {record['key']!r}, not its file name's"
        try:
            actual = point_key(record["input"])
        except (TypeError, ValueError) as err:
            return f"its input cannot be hashed ({err})"
        if actual != key:
            return (f"its recorded input hashes to {actual}, not to its file name (another "
                    "point's file, or an edited input)")
        if record["checksum"] != checksum(record["input"], record["result"]):
            return "checksum mismatch (the numbers were changed after the point was written)"
        if self.check_result is not None:
            try:
                self.check_result(record["result"])
            except (ValueError, TypeError, KeyError) as err:
                return f"its result is malformed: {err}"
        return None

    # -- public -------------------------------------------------------------------------
    def get(self, key):
        """The stored result of ``key``, or None if there is none or its file is bad (then
        moved to quarantine/ with a StoreWarning)."""
        record, reason, inode = self._read(key)
        if reason is not None:
            self._quarantine_file(self._file(key), reason, inode)
            return None
        return None if record is None else record["result"]

    def put(self, key, spec, result):
        tmp = self.path / f"{key}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        data = json.dumps({"format": FORMAT, "key": key, "input": spec, "result": result,
                           "checksum": checksum(spec, result)}).encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self._file(key))
        except OSError as err:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise _oserror(self.path, err, f"write point {key}") from None
            raise

    def keys(self):
        """Keys of all point files (good or not) in the store."""
        return {f.stem for f in self.path.glob("*.json")}

    def check_free_space(self, n_points):
        """ParameterError if the file system lacks room for ``n_points`` more points."""
        try:
            fs = os.statvfs(self.path)
        except OSError:
            return
        free = fs.f_bavail * fs.f_frsize
        needed = n_points * BYTES_PER_POINT
        if free < needed:
            raise ParameterError(
                f"checkpoint store {self.path}: {n_points} points need about "
                f"{needed / 1024:.0f} kB ({BYTES_PER_POINT // 1024} kB each), the file system "
                f"has {free / 1024:.0f} kB free; free space or choose another store")

    def claim(self, key):
        """An exclusive lock on ``key`` (a :class:`PointLock`), or None if another process
        holds it (that process is computing the point right now)."""
        if self._locks.is_symlink():  # lock files are made inside the store only
            raise ParameterError(f"checkpoint store {self.path}: locks/ is a symbolic link; "
                                 "remove it (it is recreated)")
        try:
            self._locks.mkdir(exist_ok=True)
        except OSError as err:
            raise _oserror(self.path, err, "create locks/") from None
        path = self._locks / f"{key}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            # The holder before us unlinks the file before releasing it: make sure ours is
            # still the file under this name, or try again with the new one.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return PointLock(path, fd)
            os.close(fd)


class PointLock:
    """Held flock on a point's lock file; its ``release()`` removes it."""

    def __init__(self, path, fd):
        self.path, self.fd = path, fd

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
