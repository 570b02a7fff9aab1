"""Every MLflow artifact operation on cas+file and cas+s3, through MLflow's own registry."""

from __future__ import annotations

import asyncio
import io
import os

import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound
from tests.artifacts.helpers import blob_names, overwrite_blob, remove_blob, run_uri, store_of, write


@pytest.fixture
def model_dir(tmp_path):
    base = tmp_path / "src" / "model"
    write(base / "MLmodel", "flavors: {}\n")
    write(base / "data" / "weights.bin", os.urandom(64 * 1024))
    write(base / "data" / "vocab.txt", "a\nb\n")
    return str(base)


def _listing(infos):
    return [(i.path, i.is_dir, i.file_size) for i in infos]


def test_mlflow_builds_our_repository_for_both_schemes(root_uri):
    repo = get_artifact_repository(run_uri(root_uri))
    assert isinstance(repo, CasArtifactRepository)


def test_log_list_download_round_trip(root_uri, model_dir, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir, "model")
    repo.log_artifact(os.path.join(model_dir, "MLmodel"))
    assert _listing(repo.list_artifacts()) == [("MLmodel", False, 12), ("model", True, None)]
    assert _listing(repo.list_artifacts("model")) == [
        ("model/MLmodel", False, 12),
        ("model/data", True, None),
    ]
    assert repo.list_artifacts("model/MLmodel") == []
    dst = tmp_path / "out"
    dst.mkdir()
    local = repo.download_artifacts("model", str(dst))
    assert local == str(dst / "model")
    for name in ("MLmodel", "data/weights.bin", "data/vocab.txt"):
        with open(os.path.join(model_dir, name), "rb") as a, open(os.path.join(local, name), "rb") as b:
            assert a.read() == b.read(), name
    single = repo.download_artifacts("model/data/vocab.txt")
    assert open(single).read() == "a\nb\n"
    everything = repo.download_artifacts("")
    assert sorted(os.listdir(everything)) == ["MLmodel", "model"]


def test_identical_files_are_stored_once_across_runs(root_uri, model_dir):
    first = get_artifact_repository(run_uri(root_uri))
    first.log_artifacts(model_dir, "model")
    store = store_of(first.artifact_uri)
    before = blob_names(store)
    second = get_artifact_repository(run_uri(root_uri, experiment="2"))
    second.log_artifacts(model_dir, "copy")
    second.log_artifact(os.path.join(model_dir, "MLmodel"), "again")
    assert blob_names(store) == before
    assert len(before) == 3


def test_delete_removes_the_tree_entries(root_uri, model_dir):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir, "model")
    repo.delete_artifacts("model/data/vocab.txt")
    assert [i.path for i in repo.list_artifacts("model/data")] == ["model/data/weights.bin"]
    repo.delete_artifacts("model")
    assert repo.list_artifacts() == []
    repo.delete_artifacts("never-existed")


def test_overwriting_a_path_points_it_at_the_new_content(root_uri, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifact(write(tmp_path / "v" / "f.txt", "one"))
    repo.log_artifact(write(tmp_path / "w" / "f.txt", "two!"))
    assert open(repo.download_artifacts("f.txt")).read() == "two!"


def test_a_run_without_artifacts_lists_nothing_and_creates_nothing(root_uri, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    assert repo.list_artifacts() == []
    assert os.listdir(repo.download_artifacts("")) == []
    with pytest.raises(NotFound, match="No such artifact"):
        repo.download_artifacts("model")
    if root_uri.startswith("cas+file"):
        assert not os.path.exists(root_uri[len("cas+file://") :])


@pytest.mark.parametrize("bad", ["../outside", "/etc", "a/../../b"])
def test_paths_that_leave_the_root_are_refused(root_uri, tmp_path, bad):
    repo = get_artifact_repository(run_uri(root_uri))
    src = write(tmp_path / "f.txt", "x")
    with pytest.raises(InvalidInput, match="Invalid artifact path"):
        repo.log_artifact(src, bad)
    with pytest.raises(InvalidInput):
        repo.download_artifacts(bad)
    assert list(tmp_path.parent.glob("outside*")) == []


def test_a_tampered_blob_fails_the_download_and_writes_nothing(root_uri, model_dir, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir, "model")
    ref = repo.tree().entry("model/data/weights.bin")
    overwrite_blob(store_of(repo.artifact_uri), ref.sha256, os.urandom(ref.size))
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(IntegrityError) as info:
        repo.download_artifacts("model", str(dst))
    assert "model/data/weights.bin" in info.value.message
    assert "corrupt" in info.value.message
    assert [p for p in dst.rglob("*") if p.is_file()] == []
    with pytest.raises(IntegrityError, match="weights.bin"):
        repo._download_file("model/data/weights.bin", str(dst / "w"))
    assert not (dst / "w").exists()
    # the untouched files still download
    assert os.path.isfile(repo.download_artifacts("model/MLmodel", str(dst)))


def test_a_vanished_blob_is_named_in_the_error(root_uri, model_dir):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir, "model")
    ref = repo.tree().entry("model/MLmodel")
    remove_blob(store_of(repo.artifact_uri), ref.sha256)
    with pytest.raises(IntegrityError, match=r"'model/MLmodel' .* is lost"):
        repo.download_artifacts("model/MLmodel")


def test_several_bad_files_are_all_named(root_uri, model_dir):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir, "model")
    store = store_of(repo.artifact_uri)
    for path in ("model/MLmodel", "model/data/vocab.txt"):
        ref = repo.tree().entry(path)
        overwrite_blob(store, ref.sha256, b"X" * ref.size)
    with pytest.raises(IntegrityError) as info:
        repo.download_artifacts("model")
    assert "Failed to download 2 artifacts" in info.value.message
    assert "model/MLmodel" in info.value.message and "model/data/vocab.txt" in info.value.message


def test_download_destination_is_checked(root_uri, model_dir, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    repo.log_artifacts(model_dir)
    with pytest.raises(NotFound, match="does not exist"):
        repo.download_artifacts("MLmodel", str(tmp_path / "missing"))
    with pytest.raises(InvalidInput, match="must be a directory"):
        repo.download_artifacts("MLmodel", write(tmp_path / "file", "x"))


def test_streamed_uploads_sync_and_async(root_uri):
    repo = get_artifact_repository(root_uri)
    repo.log_artifact_from_stream(io.BytesIO(b"streamed"), "dir/ignored/name.txt", "1/x")
    data = os.urandom(3 * 1024 * 1024 + 17)

    async def chunks():
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    asyncio.run(repo.log_artifact_from_async_stream(chunks(), "big.bin", "1/x"))
    assert _listing(repo.list_artifacts("1/x")) == [("1/x/big.bin", False, len(data)), ("1/x/name.txt", False, 8)]
    assert open(repo.download_artifacts("1/x/big.bin"), "rb").read() == data


def test_a_failing_async_stream_stores_nothing(root_uri):
    repo = get_artifact_repository(root_uri)

    async def broken():
        yield b"x" * 2_000_000
        raise ConnectionResetError("client went away")

    with pytest.raises(Exception):
        asyncio.run(repo.log_artifact_from_async_stream(broken(), "f.bin", "1/y"))
    assert repo.list_artifacts("1/y") == []
    assert blob_names(store_of(repo.artifact_uri)) == set()


def test_empty_directories_survive_on_local_roots(file_root, tmp_path):
    src = tmp_path / "src"
    (src / "empty").mkdir(parents=True)
    write(src / "f", "x")
    repo = get_artifact_repository(run_uri(file_root))
    repo.log_artifacts(str(src))
    assert ("empty", True, None) in _listing(repo.list_artifacts())
    out = repo.download_artifacts("")
    assert os.path.isdir(os.path.join(out, "empty"))


def test_errors_are_mlflow_exceptions_with_client_error_codes(root_uri, tmp_path):
    repo = get_artifact_repository(run_uri(root_uri))
    with pytest.raises(MlflowException) as info:
        repo.log_artifact(str(tmp_path / "absent.txt"))
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    (tmp_path / "a-dir").mkdir()
    with pytest.raises(MlflowException) as info:
        repo.log_artifact(str(tmp_path / "a-dir"))
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_root_that_cannot_be_created_is_a_clear_error(tmp_path):
    blocker = write(tmp_path / "a-file", "not a directory")
    repo = get_artifact_repository(f"cas+file://{blocker}/root")
    with pytest.raises(InvalidInput, match="Cannot log to"):
        repo.log_artifact(write(tmp_path / "f.txt", "x"))
    assert repo.list_artifacts() == []
