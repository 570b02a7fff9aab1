"""A ``cas+file`` root never follows a symbolic link out of itself: no write, no read, a coded
error that begins with MLflow's own wording."""

from __future__ import annotations

import os

import pytest

from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.errors import InvalidInput
from tests.artifacts.helpers import run_uri, store_of, write

OUTSIDE = "Invalid path: resolved path is outside the artifact directory"


@pytest.fixture
def planted(tmp_path):
    """A run's repository under a root whose ``trees/<run dir>`` is a link to a folder outside."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    uri = run_uri(f"cas+file://{root}")
    repo = CasArtifactRepository(uri)
    repo.log_artifact(write(tmp_path / "seed.txt", "seed"))
    store = store_of(uri)
    prefix = uri.split(str(root), 1)[1].strip("/")
    run_dir = os.path.join(store.root, "trees", *prefix.split("/"))
    return repo, store, run_dir, outside, tmp_path


def test_log_artifact_does_not_write_through_a_planted_directory_link(planted):
    repo, _, run_dir, outside, tmp = planted
    os.symlink(outside, os.path.join(run_dir, "model"))
    with pytest.raises(InvalidInput) as err:
        repo.log_artifact(write(tmp / "weights.bin", b"new bytes"), "model")
    assert err.value.message.startswith(OUTSIDE)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert os.listdir(outside) == []
    with pytest.raises(InvalidInput):
        repo.log_artifacts(str(write(tmp / "dir" / "a.txt", "a") and tmp / "dir"), "model/sub")
    assert os.listdir(outside) == []


def test_a_link_replacing_the_run_directory_is_refused(planted):
    repo, _, run_dir, outside, tmp = planted
    os.rename(run_dir, run_dir + ".moved")
    os.symlink(outside, run_dir)
    with pytest.raises(InvalidInput, match="^Invalid path: resolved path"):
        repo.log_artifact(write(tmp / "w.bin", b"x"))
    with pytest.raises(InvalidInput):
        repo.list_artifacts()
    assert os.listdir(outside) == []


def test_reads_do_not_follow_a_ref_link_out(planted):
    repo, _, run_dir, outside, tmp = planted
    secret = write(outside / "secret", "not yours")
    os.unlink(os.path.join(run_dir, "seed.txt"))
    os.symlink(secret, os.path.join(run_dir, "seed.txt"))
    (tmp / "dst").mkdir()
    with pytest.raises(InvalidInput) as err:
        repo.download_artifacts("seed.txt", str(tmp / "dst"))
    assert err.value.message.startswith(OUTSIDE)
    assert not (tmp / "dst" / "seed.txt").exists()


def test_blob_directories_do_not_lead_out(planted):
    repo, store, _, outside, tmp = planted
    blobs = os.path.join(store.root, "blobs", "sha256")
    # Reads: a blob directory swapped for a link is refused rather than served.
    [shard] = [d for d in os.listdir(blobs)]
    os.rename(os.path.join(blobs, shard), os.path.join(outside, shard))
    os.symlink(os.path.join(outside, shard), os.path.join(blobs, shard))
    (tmp / "dst").mkdir()
    with pytest.raises(InvalidInput, match="^Invalid path: resolved path"):
        repo.download_artifacts("seed.txt", str(tmp / "dst"))
    # Writes: a new blob whose shard is a link is not stored outside.
    data = b"fresh bytes for a new blob"
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    if not os.path.exists(os.path.join(blobs, sha[:2])):
        os.mkdir(os.path.join(outside, "new"))
        os.symlink(os.path.join(outside, "new"), os.path.join(blobs, sha[:2]))
    with pytest.raises(InvalidInput, match="^Invalid path: resolved path"):
        repo.log_artifact(write(tmp / "fresh.bin", data))
    assert not os.path.exists(os.path.join(outside, "new", sha))


def test_links_inside_the_root_and_a_linked_root_still_work(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "linked")  # an operator's link to the root itself is fine
    repo = CasArtifactRepository(run_uri(f"cas+file://{tmp_path / 'linked'}"))
    repo.log_artifact(write(tmp_path / "a.txt", "a"), "model")
    (tmp_path / "dst").mkdir()
    repo.download_artifacts("model/a.txt", str(tmp_path / "dst"))
    assert (tmp_path / "dst" / "model" / "a.txt").read_text() == "a"


def test_a_pin_takes_no_ref_through_a_link(planted):
    from mlflow_registry_ext.artifacts.snapshot import snapshot_cas_tree

    repo, store, run_dir, outside, tmp = planted
    secret = write(outside / "secret", '{"sha256": "' + "0" * 64 + '", "size": 1}\n')
    os.symlink(secret, os.path.join(run_dir, "leak.bin"))
    with pytest.raises(InvalidInput) as err:
        snapshot_cas_tree(repo)
    assert err.value.message.startswith(OUTSIDE)
    assert not os.path.exists(os.path.join(store.root, "trees", "_pinned"))


def test_a_pin_does_not_publish_through_a_planted_snapshot_link(planted):
    from mlflow_registry_ext.artifacts.snapshot import snapshot_cas_tree

    repo, store, _, outside, _ = planted
    os.makedirs(os.path.join(store.root, "trees", "_pinned"))
    os.symlink(outside, os.path.join(store.root, "trees", "_pinned", "sha256"))
    with pytest.raises(InvalidInput) as err:
        snapshot_cas_tree(repo)
    assert err.value.message.startswith(OUTSIDE)
    assert os.listdir(outside) == []


def test_reads_of_a_whole_tree_do_not_walk_into_a_directory_link(planted):
    repo, _, run_dir, outside, tmp = planted
    write(outside / "inner.txt", '{"sha256": "' + "0" * 64 + '", "size": 1}\n')
    os.symlink(outside, os.path.join(run_dir, "linked"))
    assert [e.path for e in repo.entries()] == ["seed.txt"]
    (tmp / "dst").mkdir()
    repo.download_artifacts("", str(tmp / "dst"))
    assert sorted(os.listdir(tmp / "dst")) == ["seed.txt"]
