"""verify() re-hashes every file of a tree and names each bad one."""

from __future__ import annotations

import os

import pytest
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_registry_ext.artifacts.verify import verify
from mlflow_registry_ext.errors import InvalidInput, NotFound
from tests.artifacts.helpers import overwrite_blob, remove_blob, run_uri, store_of, write


@pytest.fixture
def logged(root_uri, tmp_path):
    src = tmp_path / "src"
    write(src / "MLmodel", "x: 1\n")
    write(src / "weights.bin", os.urandom(50_000))
    write(src / "sub" / "vocab.txt", "a b c")
    uri = run_uri(root_uri)
    get_artifact_repository(uri).log_artifacts(str(src), "model")
    return f"{uri}/model"


def test_an_intact_tree_verifies(logged):
    report = verify(logged)
    assert report.ok and report.problems == ()
    assert (report.method, report.checked, report.bytes_checked) == ("manifest", 3, 50_000 + 5 + 5)
    assert report.digest.startswith("sha256:")


def test_each_bad_file_is_reported(logged):
    repo = get_artifact_repository(logged)
    store = store_of(logged)
    weights = repo.tree().entry("weights.bin")
    vocab = repo.tree().entry("sub/vocab.txt")
    overwrite_blob(store, weights.sha256, os.urandom(weights.size))
    remove_blob(store, vocab.sha256)
    report = verify(logged)
    assert not report.ok
    assert [(p.path, p.problem) for p in report.problems] == [
        ("sub/vocab.txt", "missing"),
        ("weights.bin", "corrupt"),
    ]
    corrupt = report.problems[1]
    assert corrupt.expected_sha256 == weights.sha256 and corrupt.actual_sha256 != weights.sha256
    assert report.to_dict()["problems"][1]["path"] == "weights.bin"


def test_an_expected_digest_must_match(logged):
    digest = verify(logged).digest
    assert verify(logged, expected_digest=digest).digest_matches is True
    assert verify(logged, expected_digest=digest.removeprefix("sha256:")).ok
    other = verify(logged, expected_digest="sha256:" + "0" * 64)
    assert other.digest_matches is False and not other.ok
    with pytest.raises(InvalidInput, match="Not an artifact digest"):
        verify(logged, expected_digest="md5:abc")


def test_plain_stores_are_verified_by_downloading(tmp_path):
    plain = f"file://{tmp_path / 'plain'}"
    get_artifact_repository(plain).log_artifact(write(tmp_path / "a.txt", "hello"))
    report = verify(plain)
    assert (report.method, report.checked, report.ok) == ("download", 1, True)


def test_nothing_there_is_not_found(root_uri):
    with pytest.raises(NotFound):
        verify(run_uri(root_uri))


def test_logging_the_content_again_repairs_a_deleted_blob(logged, root_uri, tmp_path):
    repo = get_artifact_repository(logged)
    ref = repo.tree().entry("sub/vocab.txt")
    remove_blob(store_of(logged), ref.sha256)
    assert not verify(logged).ok
    get_artifact_repository(run_uri(root_uri)).log_artifact(write(tmp_path / "good" / "v.txt", "a b c"))
    assert verify(logged).ok
