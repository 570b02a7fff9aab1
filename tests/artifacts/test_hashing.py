"""Streaming SHA-256: one read feeds the hash and the destination, in any chunking."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from mlflow_registry_ext.artifacts.hashing import copy_hashing, hash_bytes, hash_file, read_full

CHUNK = 1024


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a socket."""

    def __init__(self, data: bytes, step: int):
        self._data, self._pos, self._step = data, 0, step

    def readable(self):
        return True

    def read(self, n=-1):
        n = self._step if n < 0 else min(n, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_copy_hashing_copies_and_hashes_every_byte(size):
    data = os.urandom(size)
    out = io.BytesIO()
    result = copy_hashing(io.BytesIO(data), out, chunk_size=CHUNK)
    assert out.getvalue() == data
    assert result == (hashlib.sha256(data).hexdigest(), size)


def test_short_reads_are_joined():
    data = os.urandom(5 * CHUNK + 3)
    out = io.BytesIO()
    result = copy_hashing(Trickle(data, 100), out, chunk_size=CHUNK)
    assert out.getvalue() == data and result.sha256 == hashlib.sha256(data).hexdigest()
    assert read_full(Trickle(b"abcdef", 2), 5) == b"abcde"


def test_a_failing_write_is_raised_in_the_caller():
    class Full(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        copy_hashing(io.BytesIO(os.urandom(4 * CHUNK)), Full(), chunk_size=CHUNK)


def test_hash_file_and_hash_bytes_agree(tmp_path):
    data = os.urandom(3 * CHUNK + 7)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path, chunk_size=CHUNK) == hash_bytes(data)
