"""The local root: blobs stored once, read-only, never overwritten, written atomically."""

from __future__ import annotations

import hashlib
import io
import os
import stat

import pytest

from mlflow_registry_ext.artifacts import local_store
from mlflow_registry_ext.artifacts.store import SMALL_FILE
from mlflow_registry_ext.artifacts.local_store import LocalStore
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound
from tests.artifacts.helpers import write


@pytest.fixture
def store(tmp_path):
    s = LocalStore(str(tmp_path / "root"))
    s.create_marker()
    return s


def _tmp_files(store):
    return os.listdir(os.path.join(store.root, "tmp"))


def test_a_file_is_stored_once_under_its_sha256(store, tmp_path):
    data = os.urandom(4096)
    first = store.put_file(write(tmp_path / "a.bin", data))
    second = store.put_file(write(tmp_path / "copy.bin", data))
    assert first.created and not second.created
    assert first.sha256 == second.sha256 == hashlib.sha256(data).hexdigest()
    path = store.blob_path(first.sha256)
    with open(path, "rb") as f:
        assert f.read() == data
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert _tmp_files(store) == []


def test_an_existing_blob_is_never_overwritten(store, tmp_path):
    data = b"payload"
    result = store.put_file(write(tmp_path / "a", data))
    inode = os.stat(store.blob_path(result.sha256)).st_ino
    store.put_file(write(tmp_path / "b", data))
    store.put_stream(io.BytesIO(data))
    assert os.stat(store.blob_path(result.sha256)).st_ino == inode


def test_reusing_a_blob_touches_it_for_the_collector(store, tmp_path):
    result = store.put_file(write(tmp_path / "a", b"x"))
    os.utime(store.blob_path(result.sha256), (1_000_000, 1_000_000))
    store.put_file(write(tmp_path / "b", b"x"))
    assert store.blob_info(result.sha256).mtime > 1_000_000


@pytest.mark.parametrize("size", [SMALL_FILE + 1, 3 * SMALL_FILE // 2])
def test_large_files_stream_through_the_hash_and_dedup_early(store, tmp_path, size):
    data = os.urandom(size)
    path = write(tmp_path / "big", data)
    first = store.put_file(path)
    assert first.created and first.size == size
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    again = store.put_file(write(tmp_path / "big-copy", data))
    assert not again.created and again.sha256 == first.sha256
    assert _tmp_files(store) == []


def test_streams_are_stored_like_files(store):
    data = os.urandom(9 * 1024 * 1024)
    result = store.put_stream(io.BytesIO(data))
    assert result.created and result.sha256 == hashlib.sha256(data).hexdigest()
    with store.open_blob(result.sha256) as f:
        assert f.read() == data


def test_a_torn_blob_of_the_wrong_length_is_moved_aside_and_healed(store, tmp_path):
    data = os.urandom(1000)
    result = store.put_file(write(tmp_path / "a", data))
    path = store.blob_path(result.sha256)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.truncate(10)
    again = store.put_file(write(tmp_path / "b", data))
    assert again.created
    with open(path, "rb") as f:
        assert f.read() == data
    assert any(name.startswith("damaged.") for name in _tmp_files(store))


def test_missing_files_and_blobs_are_clear_errors(store, tmp_path):
    with pytest.raises(NotFound, match="No such file to log"):
        store.put_file(str(tmp_path / "absent"))
    with pytest.raises(IntegrityError, match="is missing"):
        store.open_blob("0" * 64)


def test_refs_cannot_turn_a_file_into_a_directory(store):
    store.write_ref("a/b", b"{}")
    with pytest.raises(InvalidInput, match="already an artifact file"):
        store.write_ref("a/b/c", b"{}")
    with pytest.raises(InvalidInput, match="a directory of that name exists"):
        store.write_ref("a", b"{}")
    assert _tmp_files(store) == []


def test_fsync_can_be_required(store, tmp_path, monkeypatch):
    monkeypatch.setenv(local_store.FSYNC_ENV_VAR, "true")
    assert store.put_file(write(tmp_path / "a", b"durable")).created
