"""The artifact digest: deterministic over (path, size, sha256), the same wherever the files live."""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_registry_ext.artifacts.digest import digest_of, model_digest
from mlflow_registry_ext.errors import InvalidInput, NotFound, StorageUnavailable
from mlflow_registry_ext.mlflow_uris import using_uris
from tests.artifacts.helpers import run_uri, write


@pytest.fixture
def model_dir(tmp_path):
    base = tmp_path / "model"
    write(base / "MLmodel", "artifact_path: model\n")
    write(base / "model.pkl", os.urandom(10_000))
    write(base / "code" / "ünï.py", "print('hi')\n")
    return base


def _expected(base) -> str:
    rows = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rows.append([path.relative_to(base).as_posix(), len(data), hashlib.sha256(data).hexdigest()])
    rows.sort()
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_the_digest_is_the_documented_formula(root_uri, model_dir):
    uri = run_uri(root_uri)
    get_artifact_repository(uri).log_artifacts(str(model_dir), "model")
    result = model_digest(f"{uri}/model")
    assert result.digest == _expected(model_dir)
    assert result.source == "manifest"
    assert [f.path for f in result.files] == ["MLmodel", "code/ünï.py", "model.pkl"]
    assert result.files[2].size == 10_000
    assert result.to_dict()["file_count"] == 3


def test_the_same_files_have_the_same_digest_on_every_store(file_root, s3_root, model_dir, tmp_path):
    digests = set()
    for root in (file_root, s3_root):
        uri = run_uri(root)
        get_artifact_repository(uri).log_artifacts(str(model_dir), "m")
        digests.add(model_digest(f"{uri}/m").digest)
    plain = f"file://{tmp_path / 'plain'}"
    get_artifact_repository(plain).log_artifacts(str(model_dir), "m")
    plain_digest = model_digest(f"{plain}/m")
    assert plain_digest.source == "download"
    digests.add(plain_digest.digest)
    assert digests == {_expected(model_dir)}


def test_any_change_changes_the_digest(file_root, model_dir):
    def digest_now():
        uri = run_uri(file_root)
        get_artifact_repository(uri).log_artifacts(str(model_dir))
        return model_digest(uri).digest

    seen = {digest_now()}
    (model_dir / "model.pkl").write_bytes((model_dir / "model.pkl").read_bytes()[:-1] + b"\x00")
    seen.add(digest_now())
    (model_dir / "MLmodel").rename(model_dir / "MLmodel2")
    seen.add(digest_now())
    write(model_dir / "extra", "")
    seen.add(digest_now())
    assert len(seen) == 4


def test_digest_of_is_order_independent_and_prefixed():
    rows = [("b", 1, "1" * 64), ("a", 2, "2" * 64)]
    assert digest_of(rows) == digest_of(list(reversed(rows)))
    assert digest_of(rows).startswith("sha256:") and len(digest_of(rows)) == 7 + 64


def test_a_single_file_can_be_digested(file_root, model_dir):
    uri = run_uri(file_root)
    get_artifact_repository(uri).log_artifacts(str(model_dir))
    result = model_digest(f"{uri}/MLmodel")
    assert [f.path for f in result.files] == ["MLmodel"]


def test_failures_are_coded_errors(file_root, s3_env, tmp_path):
    with pytest.raises(NotFound):
        model_digest(run_uri(file_root))
    with pytest.raises(InvalidInput):
        model_digest("cas+file:///x/../..?q")
    # A tracking database of this test's own (the default one in the working directory may hold
    # another MLflow release's schema).
    with using_uris(f"sqlite:///{tmp_path / 'tracking.db'}", None), pytest.raises(NotFound):
        model_digest("runs:/00000000000000000000000000000000/model")


def test_an_unreachable_store_fails_fast_instead_of_hanging(monkeypatch):
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="unreachable"):
        model_digest("cas+s3://bucket/mlflow/1/" + "a" * 32 + "/artifacts")
    assert time.monotonic() - start < 60


def test_inside_the_server_mlflow_artifacts_uris_read_the_destination_manifest(file_root, model_dir, monkeypatch):
    uri = run_uri(file_root)
    get_artifact_repository(uri).log_artifacts(str(model_dir), "model")
    monkeypatch.setenv("_MLFLOW_SERVER_ARTIFACT_DESTINATION", file_root)
    served = "mlflow-artifacts:/" + uri[len(file_root) + 1 :] + "/model"
    result = model_digest(served)
    assert result.source == "manifest"
    assert result.digest == _expected(model_dir)
