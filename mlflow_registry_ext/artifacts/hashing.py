"""SHA-256 while bytes stream: one read feeds both the hash and the destination.

Hashing is the physical limit of a verified store (about 1.1 GB/s on one core), so copies keep it
alone on the critical path: a helper thread reads each chunk and writes it out while the calling
thread hashes it. ``hashlib`` and file I/O release the GIL, so the two really run on two cores; a
few reusable buffers circulate, so nothing is allocated per chunk.

Example:
    >>> import io
    >>> out = io.BytesIO()
    >>> copy_hashing(io.BytesIO(b"abc"), out).sha256[:12]
    'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import threading
from typing import BinaryIO, NamedTuple

__all__ = ["CHUNK_SIZE", "HashResult", "hash_bytes", "hash_file", "copy_hashing", "read_full"]

#: Bytes per read. Large enough that per-chunk overhead vanishes next to hashing, small enough
#: that a chunk is still in the CPU cache when the writer copies it out (measured: 512 KiB copies
#: at ~0.8x the hash speed, 1 MiB at ~0.6x, 2 MiB at ~0.25x).
CHUNK_SIZE = 512 * 1024

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


def hash_file(path: str | os.PathLike, chunk_size: int = CHUNK_SIZE) -> HashResult:
    """Hash a local file.

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
    return HashResult(hasher.hexdigest(), size)


class _Mover:
    """Reads and writes on a helper thread, handing each chunk to the caller to hash meanwhile.

    ``depth`` buffers circulate: the mover reads into a free one, passes it on for hashing, writes
    it out, and takes the next free one; the hasher frees a buffer once hashed. So the caller only
    hashes (the slowest step) while every other step runs beside it, and nothing is allocated per
    chunk.
    """

    def __init__(self, src: BinaryIO, dst: BinaryIO, chunk_size: int, depth: int = 4):
        self._src, self._dst = src, dst
        self._free: queue.Queue = queue.Queue()
        self.filled: queue.Queue = queue.Queue()
        for _ in range(depth):
            self._free.put(bytearray(chunk_size))
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="cas-mover", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop:
                buf = self._free.get()
                if buf is None:
                    break
                n = _read_into(self._src, buf)
                self.filled.put((buf, n))
                if not n:
                    break
                self._dst.write(memoryview(buf)[:n])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.filled.put(exc)
        self.filled.put(None)

    def release(self, buf: bytearray) -> None:
        self._free.put(buf)

    def close(self) -> None:
        self._stop = True
        self._free.put(None)
        self._thread.join()


def _read_into(src: BinaryIO, buf: bytearray) -> int:
    """Fill ``buf`` from ``src`` (looping over short reads); fewer bytes only at end of stream."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        try:
            n = src.readinto(view[got:])
        except (AttributeError, NotImplementedError, io.UnsupportedOperation):
            data = src.read(len(buf) - got)
            n = len(data)
            view[got : got + n] = data
        if not n:
            break
        got += n
    return got


def copy_hashing(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    chunk_size: int = CHUNK_SIZE,
) -> HashResult:
    """Copy ``src`` to ``dst`` and return the SHA-256 and size of what was copied.

    Small inputs (one chunk) are hashed and written inline; for larger ones a helper thread reads
    and writes while the calling thread hashes.

    Args:
        src: A readable binary stream (short reads are fine).
        dst: A writable binary stream.
        chunk_size: Bytes per read.

    Returns:
        The hash and size of everything written.

    Example:
        >>> import io
        >>> copy_hashing(io.BytesIO(b"x" * 10), io.BytesIO()).size
        10
    """
    hasher = hashlib.sha256()
    first = read_full(src, chunk_size)
    if len(first) < chunk_size:
        hasher.update(first)
        dst.write(first)
        return HashResult(hasher.hexdigest(), len(first))
    hasher.update(first)
    dst.write(first)
    size = len(first)
    mover = _Mover(src, dst, chunk_size)
    try:
        while True:
            item = mover.filled.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                break
            buf, n = item
            if not n:
                continue
            # The mover writes this buffer out while it is hashed here: both only read it.
            hasher.update(memoryview(buf)[:n])
            size += n
            mover.release(buf)
    finally:
        mover.close()
    return HashResult(hasher.hexdigest(), size)
