"""An async chunk stream read as a blocking binary stream (for uploads MLflow's server streams).

MLflow's FastAPI artifact route hands the repository an ``AsyncIterable[bytes]``; the stores hash
and write from a blocking ``read(n)`` on a worker thread. :class:`ChunkPipe` joins the two with a
bounded queue, batching small network chunks so the event loop hops threads rarely.

Example:
    >>> pipe = ChunkPipe()                     # doctest: +SKIP
    >>> worker = asyncio.to_thread(store.put_stream, pipe)   # doctest: +SKIP
    >>> await pipe.feed(request.stream())      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import queue
from typing import AsyncIterable

__all__ = ["ChunkPipe"]

_BATCH = 1024 * 1024
_EOF = object()


class _Aborted(Exception):
    pass


class ChunkPipe:
    """A blocking reader fed by an async producer; at most ``depth`` batches wait in memory."""

    def __init__(self, depth: int = 8):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._buffer = b""
        self._eof = False

    async def _put(self, item) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)

    async def feed(self, chunks: AsyncIterable[bytes]) -> None:
        """Pass every chunk to the reader, then end of stream; on error the reader fails too."""
        batch: list[bytes] = []
        size = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                batch.append(bytes(chunk))
                size += len(chunk)
                if size >= _BATCH:
                    await self._put(b"".join(batch))
                    batch, size = [], 0
            if batch:
                await self._put(b"".join(batch))
        except BaseException:
            await self._put(_Aborted("the upload stream ended with an error"))
            raise
        await self._put(_EOF)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all remaining when ``n < 0``); ``b""`` at end of stream."""
        while not self._eof and (n < 0 or len(self._buffer) < n):
            item = self._queue.get()
            if item is _EOF:
                self._eof = True
            elif isinstance(item, _Aborted):
                self._eof = True
                raise item
            else:
                self._buffer += item
        if n < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def drain(self) -> None:
        """Consume what is left so a producer blocked on a full queue can finish."""
        while not self._eof:
            item = self._queue.get()
            if item is _EOF or isinstance(item, _Aborted):
                self._eof = True
