"""Unchanged files logged again are not read again; changed or just-written files always are."""

from __future__ import annotations

import os
import time

from mlflow_registry_ext.artifacts.filecache import FILE_HASHES, FileHashCache
from mlflow_registry_ext.artifacts.hashing import HashResult, hash_file
from mlflow_registry_ext.artifacts.local_store import LocalStore
from tests.artifacts.helpers import write

RESULT = HashResult("a" * 64, 3)


def _bytes_read() -> int:
    with open("/proc/self/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))


def _aged(path, seconds=0.1):
    time.sleep(seconds)  # written earlier than a clock tick ago
    return path


def test_a_remembered_file_is_found_until_it_changes(tmp_path):
    path = _aged(write(tmp_path / "f", "abc"))
    cache = FileHashCache()
    seen_at, before = cache.now(), os.stat(path)
    cache.remember(before, seen_at, os.stat(path), RESULT)
    assert cache.lookup(os.stat(path)) == RESULT
    write(path, "abd")  # same size, new content
    assert cache.lookup(os.stat(path)) is None


def test_a_file_that_changed_while_read_is_not_remembered(tmp_path):
    path = _aged(write(tmp_path / "f", "abc"))
    cache = FileHashCache()
    seen_at, before = cache.now(), os.stat(path)
    write(path, "xyz")
    cache.remember(before, seen_at, os.stat(path), RESULT)
    assert cache.lookup(os.stat(path)) is None


def test_a_file_written_within_the_last_tick_is_not_remembered(tmp_path):
    path = write(tmp_path / "f", "abc")
    st = os.stat(path)
    cache = FileHashCache()
    cache.remember(st, max(st.st_mtime_ns, st.st_ctime_ns) + 1_000_000, st, RESULT)
    assert cache.lookup(st) is None
    coarse = os.stat_result((0, 1, 2, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 10**9, 10**9, 10**9))
    cache.remember(coarse, 2 * 10**9, coarse, RESULT)  # whole-second stamps need two seconds
    assert cache.lookup(coarse) is None
    cache.remember(coarse, 4 * 10**9, coarse, RESULT)
    assert cache.lookup(coarse) == RESULT


def test_the_cache_is_bounded(tmp_path):
    cache = FileHashCache(capacity=2)
    paths = [write(tmp_path / name, "abc") for name in "xyz"]
    time.sleep(0.1)
    for p in paths:
        st = os.stat(p)
        cache.remember(st, cache.now(), st, RESULT)
    assert [cache.lookup(os.stat(p)) for p in paths] == [None, RESULT, RESULT]


def test_logging_an_unchanged_file_again_does_not_read_it(tmp_path):
    store = LocalStore(str(tmp_path / "root"))
    store.create_marker()
    data = os.urandom(4 * 1024 * 1024)
    path = _aged(write(tmp_path / "weights.bin", data))
    first = store.put_file(path)
    assert FILE_HASHES.lookup(os.stat(path)) == hash_file(path)
    start = _bytes_read()
    again = store.put_file(path)
    assert _bytes_read() - start < 64 * 1024
    assert (again.sha256, again.created) == (first.sha256, False)
    write(path, os.urandom(len(data)))
    assert store.put_file(path).created
