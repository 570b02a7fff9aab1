"""The S3 root on a real S3 server: conditional puts, multipart uploads, nothing half-written."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from mlflow_registry_ext.artifacts import s3_store
from mlflow_registry_ext.artifacts.hashing import HashResult
from mlflow_registry_ext.artifacts.s3_store import S3Store
from mlflow_registry_ext.errors import IntegrityError, InvalidInput
from tests.artifacts.helpers import write

MIB = 1024 * 1024


@pytest.fixture
def store(s3_bucket):
    s = S3Store(s3_bucket, "root")
    s.create_marker()
    return s


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setenv(s3_store.PART_SIZE_ENV_VAR, str(5 * MIB))


def _keys(client, bucket, prefix=""):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []))


def test_a_small_file_is_one_conditional_put_and_stored_once(store, s3_client, tmp_path):
    data = os.urandom(1000)
    first = store.put_file(write(tmp_path / "a", data))
    second = store.put_bytes(data)
    assert first.created and not second.created
    body = s3_client.get_object(Bucket=store.bucket, Key=store.blob_key(first.sha256))["Body"].read()
    assert body == data
    assert _keys(s3_client, store.bucket, "root/blobs/") == [store.blob_key(first.sha256)]


def test_the_blob_key_is_never_overwritten(store, s3_client):
    data = b"content"
    digest = hashlib.sha256(data).hexdigest()
    assert store._put_new(store.blob_key(digest), data)
    assert not store._put_new(store.blob_key(digest), b"something else")
    body = s3_client.get_object(Bucket=store.bucket, Key=store.blob_key(digest))["Body"].read()
    assert body == data


def test_large_files_go_multipart_with_sha256_checksums(store, s3_client, tmp_path, small_parts):
    data = os.urandom(12 * MIB)
    result = store.put_file(write(tmp_path / "big", data))
    assert result.created and result.sha256 == hashlib.sha256(data).hexdigest()
    head = s3_client.head_object(Bucket=store.bucket, Key=store.blob_key(result.sha256), PartNumber=1)
    assert head["PartsCount"] == 3
    with store.open_blob(result.sha256) as body:
        assert body.read() == data
    again = store.put_file(write(tmp_path / "copy", data))
    assert not again.created


def test_large_streams_are_spooled_then_sent(store, small_parts):
    data = os.urandom(9 * MIB)
    result = store.put_stream(io.BytesIO(data))
    assert result.created and result.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_that_changes_while_sent_leaves_no_blob_and_no_upload(store, s3_client, tmp_path, small_parts):
    data = os.urandom(11 * MIB)
    path = write(tmp_path / "big", data)
    wrong = HashResult("f" * 64, len(data))  # the hash taken before the file changed
    with pytest.raises(InvalidInput, match="changed while it was being stored"):
        store._upload_multipart(path, wrong)
    assert _keys(s3_client, store.bucket, "root/blobs/") == []
    assert not s3_client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


def test_a_blob_tampered_to_another_length_is_moved_aside(store, s3_client, tmp_path):
    data = os.urandom(2000)
    result = store.put_bytes(data)
    s3_client.put_object(Bucket=store.bucket, Key=store.blob_key(result.sha256), Body=b"short")
    assert store.put_bytes(data).created
    with store.open_blob(result.sha256) as body:
        assert body.read() == data
    assert any(k.startswith("root/tmp/damaged.") for k in _keys(s3_client, store.bucket))


def test_refs_list_and_delete(store):
    for path in ("a/x", "a/y", "a/sub/z", "b"):
        store.write_ref(path, b"{}")
    assert store.list_dir("") == (["b"], ["a"])
    assert store.list_dir("a") == (["x", "y"], ["sub"])
    assert store.is_dir("a/sub") and not store.is_dir("a/x")
    assert sorted(store.walk_files("a")) == ["a/sub/z", "a/x", "a/y"]
    store.delete_refs("a")
    assert list(store.walk_files("")) == ["b"]


def test_a_vanished_blob_is_an_integrity_error(store):
    with pytest.raises(IntegrityError, match="missing"):
        store.open_blob("0" * 64)
