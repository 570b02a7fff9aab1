"""A cas+ URI finds its root (the nearest cas.json above it) or, on first write, creates it."""

from __future__ import annotations

import json
import uuid

import pytest

from mlflow_registry_ext.artifacts.root import open_root, parse_cas_uri, require_root
from mlflow_registry_ext.errors import InvalidInput, NotFound

RUN = "0123456789abcdef0123456789abcdef"
MODEL = "m-" + "a" * 32


def test_parse_file_and_s3_uris(tmp_path):
    assert parse_cas_uri(f"cas+file://{tmp_path}/x").segments == (*str(tmp_path).strip("/").split("/"), "x")
    assert parse_cas_uri("cas+file:/data/x").segments == ("data", "x")  # the form MLflow writes back
    s3 = parse_cas_uri("cas+s3://bucket/a/b/")
    assert (s3.scheme, s3.bucket, s3.segments) == ("s3", "bucket", ("a", "b"))
    assert parse_cas_uri("cas+s3://bucket").segments == ()


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:///data", "Not a content-addressed artifact URI"),
        ("cas+gs://bucket/x", "inner scheme must be one of"),
        ("cas+s3:///no-bucket", "need a bucket"),
        ("cas+s3://bucket/a/../../b", "'..' is not allowed"),
        ("cas+file://otherhost/data", "not host"),
        ("cas+file:///data?x=1", "no query"),
    ],
)
def test_malformed_uris_are_refused(uri, message):
    with pytest.raises(InvalidInput, match=message):
        parse_cas_uri(uri)


@pytest.mark.parametrize(
    ("suffix", "root_suffix"),
    [
        (f"/1/{RUN}/artifacts", ""),  # default artifact root: <root>/<experiment id>/<run id>
        (f"/{RUN}/artifacts", ""),  # experiment with its own artifact location
        (f"/7/models/{MODEL}/artifacts", ""),  # a logged model (MLflow 3)
        (f"/models/{MODEL}/artifacts", ""),
        ("", ""),  # the URI itself (mlflow server --artifacts-destination)
    ],
)
def test_first_write_creates_the_root_where_mlflow_layout_says(tmp_path, suffix, root_suffix):
    base = tmp_path / "artifacts"
    store, prefix = open_root(f"cas+file://{base}{suffix}", create=True)
    assert store.root == str(base) + root_suffix
    assert (base / "cas.json").is_file()
    assert prefix == suffix.strip("/")


def test_reads_never_create_a_root(tmp_path):
    assert open_root(f"cas+file://{tmp_path}/nothing/1/{RUN}/artifacts", create=False) is None
    assert not (tmp_path / "nothing").exists()


def test_the_nearest_existing_root_wins(tmp_path):
    outer, _ = open_root(f"cas+file://{tmp_path}/outer", create=True)
    uri = f"cas+file://{tmp_path}/outer/team/x/{RUN}/artifacts/model"
    store, prefix = open_root(uri, create=True)
    assert store.root == outer.root
    assert prefix == f"team/x/{RUN}/artifacts/model"
    assert not (tmp_path / "outer" / "team").exists()


def test_a_root_written_by_a_newer_version_is_refused(tmp_path):
    store, _ = open_root(f"cas+file://{tmp_path}/r", create=True)
    (tmp_path / "r" / "cas.json").write_text(json.dumps({"format": "mlflow-registry-ext/cas", "version": 99}))
    with pytest.raises(InvalidInput, match="format version 99"):
        open_root(f"cas+file://{tmp_path}/r/1/{RUN}/artifacts", create=False)


def test_a_foreign_cas_json_is_not_mistaken_for_a_root(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "cas.json").write_text("{}")
    with pytest.raises(InvalidInput, match="not a content-addressed root marker"):
        open_root(f"cas+file://{tmp_path}/r", create=False)


def test_require_root_names_the_enclosing_root(tmp_path):
    open_root(f"cas+file://{tmp_path}/r", create=True)
    with pytest.raises(NotFound, match="lies inside the root"):
        require_root(f"cas+file://{tmp_path}/r/1")
    with pytest.raises(NotFound, match="No content-addressed root"):
        require_root(f"cas+file://{tmp_path}/none")


def test_s3_roots_are_found_and_created(s3_bucket):
    store, prefix = open_root(f"cas+s3://{s3_bucket}/mlflow/2/{RUN}/artifacts", create=True)
    assert (store.bucket, store.prefix, prefix) == (s3_bucket, "mlflow", f"2/{RUN}/artifacts")
    again, prefix2 = open_root(f"cas+s3://{s3_bucket}/mlflow/2/{uuid.uuid4().hex}/artifacts", create=False)
    assert again.prefix == "mlflow" and prefix2.startswith("2/")
    assert open_root(f"cas+s3://{s3_bucket}/other", create=False) is None


def test_a_missing_bucket_is_a_clear_error(s3_env):
    with pytest.raises(NotFound, match="bucket"):
        open_root(f"cas+s3://no-such-bucket-{uuid.uuid4().hex[:8]}/x", create=True)
