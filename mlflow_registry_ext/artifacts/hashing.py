"""SHA-256 while bytes stream: one read feeds both the hash and the destination.

Hashing is the physical limit of a verified store (about 1.1 GB/s on one core), so copies overlap
it with the write: the calling thread reads and hashes chunk *i + 1* while a helper thread writes
chunk *i*. ``hashlib`` and file writes release the GIL, so the two really run on two cores.

Example:
    >>> import io
    >>> out = io.BytesIO()
    >>> copy_hashing(io.BytesIO(b"abc"), out).sha256[:12]
    'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from typing import BinaryIO, Callable, NamedTuple

__all__ = ["CHUNK_SIZE", "HashResult", "hash_bytes", "hash_file", "copy_hashing", "read_full"]

#: Bytes per read. Large enough that per-chunk overhead vanishes next to hashing, small enough
#: that two chunks in flight cost little memory.
CHUNK_SIZE = 4 * 1024 * 1024

_SENTINEL = object()


class HashResult(NamedTuple):
    """The SHA-256 (lowercase hex) and length of some bytes."""

    sha256: str
    size: int


def hash_bytes(data: bytes) -> HashResult:
    """Hash bytes already in memory.

    Example:
        >>> hash_bytes(b"").size
        0
    """
    return HashResult(hashlib.sha256(data).hexdigest(), len(data))


def read_full(src: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads; fewer only at end of stream."""
    data = src.read(n)
    if not data or len(data) == n:
        return data or b""
    parts = [data]
    got = len(data)
    while got < n:
        more = src.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def hash_file(
    path: str | os.PathLike, stop: threading.Event | None = None, chunk_size: int = CHUNK_SIZE
) -> HashResult | None:
    """Hash a local file; returns ``None`` if ``stop`` was set before the end.

    Example:
        >>> hash_file(__file__).size > 0
        True
    """
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(chunk_size):
            hasher.update(chunk)
            size += len(chunk)
            if stop is not None and stop.is_set():
                return None
    return HashResult(hasher.hexdigest(), size)


class _Writer:
    """Writes chunks on a helper thread; at most ``depth`` chunks wait in memory."""

    def __init__(self, dst: BinaryIO, depth: int = 2):
        self._dst = dst
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="cas-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _SENTINEL:
                return
            if self._error is None:
                try:
                    self._dst.write(item)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = exc

    def put(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(_SENTINEL)
        self._thread.join()
        if self._error is not None:
            raise self._error


def copy_hashing(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    chunk_size: int = CHUNK_SIZE,
    should_stop: Callable[[], bool] | None = None,
) -> HashResult | None:
    """Copy ``src`` to ``dst`` and return the SHA-256 and size of what was copied.

    Small inputs (one chunk) are hashed and written inline; larger ones overlap the write with
    the hash on a helper thread.

    Args:
        src: A readable binary stream (short reads are fine).
        dst: A writable binary stream.
        chunk_size: Bytes per read.
        should_stop: Polled after each chunk; when it returns true the copy stops and ``None`` is
            returned (``dst`` then holds a prefix the caller must discard).

    Returns:
        The hash and size of everything written, or ``None`` if stopped early.

    Example:
        >>> import io
        >>> copy_hashing(io.BytesIO(b"x" * 10), io.BytesIO()).size
        10
    """
    hasher = hashlib.sha256()
    chunk = read_full(src, chunk_size)
    if len(chunk) < chunk_size:
        hasher.update(chunk)
        dst.write(chunk)
        return HashResult(hasher.hexdigest(), len(chunk))
    size = 0
    writer = _Writer(dst)
    try:
        while chunk:
            writer.put(chunk)
            hasher.update(chunk)
            size += len(chunk)
            if should_stop is not None and should_stop():
                return None
            chunk = read_full(src, chunk_size)
    finally:
        writer.close()
    return HashResult(hasher.hexdigest(), size)
