"""Hashes of local files already read in this process, keyed by what ``stat`` says about them.

Logging the same unchanged file again (the base weights every run logs) needs no second read:
the file's identity and change times (device, inode, size, modification and change time in
nanoseconds) still match the ones it had when it was hashed. Any write changes the change time,
which no process can set back, so a changed file never matches. As git does for its index, a
file is only remembered once its timestamps are old enough that a write in the same clock tick
is impossible; on filesystems with whole-second timestamps that takes two seconds.

Example:
    >>> import os
    >>> from mlflow_registry_ext.artifacts import hashing
    >>> path = hashing.__file__           # not written in the last moments: it can be remembered
    >>> seen_at, st = FILE_HASHES.now(), os.stat(path)
    >>> result = hashing.hash_file(path)
    >>> FILE_HASHES.remember(st, seen_at, os.stat(path), result)
    >>> FILE_HASHES.lookup(os.stat(path)) == result
    True
"""

from __future__ import annotations

import collections
import os
import threading
import time

from mlflow_registry_ext.artifacts.hashing import HashResult

__all__ = ["FileHashCache", "FILE_HASHES"]

_FINE_AGE_NS = 50_000_000  # timestamps with sub-second precision: 50 ms
_COARSE_AGE_NS = 2_000_000_000  # whole-second (or FAT's two-second) timestamps


def _key(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileHashCache:
    """A bounded, thread-safe map from a file's ``stat`` identity to its hash."""

    def __init__(self, capacity: int = 4096, clock=time.time_ns):
        self._entries: collections.OrderedDict[tuple, HashResult] = collections.OrderedDict()
        self._capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()

    def lookup(self, st: os.stat_result) -> HashResult | None:
        """The hash of the file ``st`` describes, if it was hashed unchanged before."""
        key = _key(st)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def now(self) -> int:
        """The clock reading to pass to :meth:`remember`, taken with the ``before`` stat."""
        return self._clock()

    def remember(
        self, before: os.stat_result, seen_at: int, after: os.stat_result, result: HashResult
    ) -> None:
        """Record ``result`` for a file that ``stat`` showed as ``before`` (at clock reading
        ``seen_at``, just before it was read) and as ``after`` once it had been read."""
        if _key(before) != _key(after) or result.size != after.st_size:
            return  # it changed while being read
        newest = max(before.st_mtime_ns, before.st_ctime_ns)
        coarse = before.st_mtime_ns % 1_000_000_000 == 0 and before.st_ctime_ns % 1_000_000_000 == 0
        if seen_at - newest < (_COARSE_AGE_NS if coarse else _FINE_AGE_NS):
            return  # written so recently that a write in the same clock tick could still follow
        with self._lock:
            self._entries[_key(after)] = result
            self._entries.move_to_end(_key(after))
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


#: The process-wide cache the stores use.
FILE_HASHES = FileHashCache()
