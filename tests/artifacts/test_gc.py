"""Garbage collection deletes unreferenced blobs older than the grace period, and nothing else."""

from __future__ import annotations

import os
import time

import pytest
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_registry_ext.artifacts.gc import collect_garbage, parse_duration
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound
from tests.artifacts.helpers import blob_names, run_uri, store_of, write

DAY = 86400


def _later(seconds):
    return lambda: time.time() + seconds


@pytest.fixture
def two_runs(root_uri, tmp_path):
    shared = write(tmp_path / "shared.bin", os.urandom(3000))
    only_a = write(tmp_path / "a" / "only.bin", os.urandom(5000))
    only_b = write(tmp_path / "b" / "only.bin", os.urandom(7000))
    a, b = get_artifact_repository(run_uri(root_uri)), get_artifact_repository(run_uri(root_uri))
    for repo, own in ((a, only_a), (b, only_b)):
        repo.log_artifact(shared)
        repo.log_artifact(own)
    return root_uri, a, b


def test_only_unreferenced_blobs_are_collected(two_runs):
    root, a, b = two_runs
    store = store_of(root)
    kept = {a.tree().entry("shared.bin").sha256, b.tree().entry("only.bin").sha256}
    a.delete_artifacts()
    report = collect_garbage(root, grace_seconds=DAY, clock=_later(2 * DAY))
    assert (report.blobs_scanned, report.blobs_deleted, report.bytes_freed) == (3, 1, 5000)
    assert report.blobs_referenced == 2 and report.tree_entries == 2
    assert blob_names(store) == kept
    assert b.download_artifacts("only.bin")


def test_recent_blobs_are_kept_for_the_grace_period(two_runs):
    root, a, _ = two_runs
    a.delete_artifacts()
    report = collect_garbage(root, grace_seconds=DAY)
    assert (report.blobs_deleted, report.blobs_in_grace, report.bytes_in_grace) == (0, 1, 5000)
    assert len(blob_names(store_of(root))) == 3


def test_a_dry_run_deletes_nothing(two_runs):
    root, a, b = two_runs
    a.delete_artifacts()
    b.delete_artifacts()
    calls = []
    report = collect_garbage(
        root, grace_seconds=0, dry_run=True, clock=_later(1), progress=lambda d, t: calls.append((d, t))
    )
    assert (report.dry_run, report.blobs_deleted, report.bytes_freed) == (True, 3, 15000)
    assert len(blob_names(store_of(root))) == 3
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_blob_reused_by_a_new_upload_is_protected_again(two_runs, tmp_path):
    root, a, b = two_runs
    store = store_of(root)
    sha = a.tree().entry("only.bin").sha256
    a.delete_artifacts()
    cutoff_clock = _later(10)
    if hasattr(store, "blob_path"):
        os.utime(store.blob_path(sha), (time.time() - 2 * DAY, time.time() - 2 * DAY))
    # an upload re-uses the old blob (its tree entry comes after the collector listed the trees)
    b.log_artifact(write(tmp_path / "again" / "only.bin", open(tmp_path / "a" / "only.bin", "rb").read()))
    b.delete_artifacts("only.bin")
    report = collect_garbage(root, grace_seconds=DAY, clock=cutoff_clock)
    assert sha in blob_names(store)
    assert report.blobs_in_grace >= 1


def test_abandoned_uploads_are_removed_after_the_grace(file_root, tmp_path):
    repo = get_artifact_repository(run_uri(file_root))
    repo.log_artifact(write(tmp_path / "f", "x"))
    store = store_of(file_root)
    leftover = os.path.join(store.root, "tmp", "blob.crashed")
    write(leftover, b"half a blob")
    assert collect_garbage(file_root, grace_seconds=DAY).uploads_removed == 0
    report = collect_garbage(file_root, grace_seconds=DAY, clock=_later(2 * DAY))
    assert (report.uploads_removed, report.upload_bytes_freed) == (1, 11)
    assert not os.path.exists(leftover)


def test_a_damaged_tree_entry_stops_the_collection(file_root, tmp_path):
    repo = get_artifact_repository(run_uri(file_root))
    repo.log_artifact(write(tmp_path / "f", "x"))
    repo.log_artifact(write(tmp_path / "g", "y"))
    repo.delete_artifacts("g")
    store = store_of(file_root)
    ref_path = os.path.join(store.root, "trees", *repo.tree().prefix.split("/"), "f")
    write(ref_path, "not json")
    with pytest.raises(IntegrityError, match="damaged"):
        collect_garbage(file_root, grace_seconds=0, clock=_later(1))
    assert len(blob_names(store)) == 2


def test_missing_blobs_are_counted(two_runs):
    root, a, _ = two_runs
    from tests.artifacts.helpers import remove_blob

    remove_blob(store_of(root), a.tree().entry("shared.bin").sha256)
    assert collect_garbage(root, grace_seconds=DAY).blobs_missing == 1


def test_the_root_must_exist_and_be_named_exactly(file_root, tmp_path):
    with pytest.raises(NotFound, match="No content-addressed root"):
        collect_garbage(str(tmp_path / "nothing"))
    get_artifact_repository(run_uri(file_root)).log_artifact(write(tmp_path / "f", "x"))
    path = file_root[len("cas+file://") :]
    assert collect_garbage(path, grace_seconds=0).blobs_scanned == 1  # a plain directory works


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("30m") == 1800
    assert parse_duration("24h") == DAY and parse_duration("7d") == 7 * DAY
    assert parse_duration("0") == 0 and parse_duration(5) == 5
    for bad in ("-1h", "soon", "1w", -3):
        with pytest.raises(InvalidInput):
            parse_duration(bad)
