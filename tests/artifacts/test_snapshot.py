"""Snapshots of pinned versions: published whole or not at all, shared by concurrent pins,
completed when an older writer left one part-written, and cheap (refs only, no path resolved
per file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlflow_registry_ext.artifacts import local_store
from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.artifacts.gc import collect_garbage
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.snapshot import snapshot_cas_tree, snapshot_path
from mlflow_registry_ext.errors import IntegrityError
from tests.artifacts.helpers import blob_names, run_uri, store_of, write

REPO_ROOT = str(Path(__file__).resolve().parents[2])

# Pins the run's model, but stops for good after writing 40 refs (the parent then kills it).
_STALLED_PIN = """
import sys, time
from mlflow_registry_ext.artifacts import local_store
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.snapshot import snapshot_cas_tree
real, count = local_store._write_all, [0]
def stalling(fd, data):
    count[0] += 1
    if count[0] > 40:
        open(sys.argv[2], "w").close()
        time.sleep(600)
    real(fd, data)
local_store._write_all = stalling
snapshot_cas_tree(CasArtifactRepository(sys.argv[1]), "model")
"""


def _logged_model(root: str, tmp_path: Path, files: int = 100, nested: bool = True) -> str:
    uri = run_uri(root)
    model = tmp_path / "model"
    for i in range(files):
        sub = f"d{i % 3}/" if nested and i % 2 else ""
        write(model / f"{sub}part-{i:04d}.bin", f"bytes of file {i}")
    write(model / "MLmodel", "flavors: {}")
    CasArtifactRepository(uri).log_artifacts(str(model), "model")
    return uri


def _pinned_dirs(store) -> list[str]:
    base = Path(store.root) / "trees" / "_pinned" / "sha256"
    return sorted(p.name for p in base.iterdir()) if base.is_dir() else []


@pytest.mark.slow
def test_a_pin_killed_midway_publishes_no_snapshot_and_gc_removes_what_it_left(file_root, tmp_path):
    uri = _logged_model(file_root, tmp_path)
    store = store_of(uri)
    blobs = blob_names(store)
    started = tmp_path / "stalled"
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALLED_PIN, uri, str(started)],
        cwd=REPO_ROOT, env=dict(os.environ), start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists(), "the pin never got under way"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    # Forty refs were written, yet no snapshot exists: nothing part-written can be served.
    assert _pinned_dirs(store) == []
    staged = [p for p in (Path(store.root) / "tmp").iterdir() if p.name.startswith("tree.")]
    assert len(staged) == 1 and len(list(staged[0].rglob("*.bin"))) == 40
    # Pinning again publishes the whole snapshot, the digest of the run's files.
    snap = snapshot_cas_tree(CasArtifactRepository(uri), "model")
    assert _pinned_dirs(store) == [snap.digest.split(":")[1]]
    assert model_digest(snap.uri).digest == model_digest(f"{uri}/model").digest == snap.digest
    # gc removes the dead pin's leftovers after the grace period, and keeps every blob.
    report = collect_garbage(file_root, grace_seconds=60, clock=lambda: time.time() + 120)
    assert report.uploads_removed == 1 and report.blobs_deleted == 0
    assert not staged[0].exists() and blob_names(store) == blobs


def test_a_failing_pin_leaves_nothing_behind(file_root, tmp_path, monkeypatch):
    uri = _logged_model(file_root, tmp_path)
    store = store_of(uri)
    real, count = local_store._write_all, [0]

    def failing(fd, data):
        count[0] += 1
        if count[0] == 30:
            raise OSError(28, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(local_store, "_write_all", failing)
    with pytest.raises(Exception):
        snapshot_cas_tree(CasArtifactRepository(uri), "model")
    assert _pinned_dirs(store) == []
    assert [p.name for p in (Path(store.root) / "tmp").iterdir() if p.name.startswith("tree.")] == []


def test_concurrent_pins_of_the_same_files_share_one_snapshot(file_root, tmp_path):
    uri = _logged_model(file_root, tmp_path)
    results, errors = [], []

    def pin():
        try:
            results.append(snapshot_cas_tree(CasArtifactRepository(uri), "model"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pin) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({s.digest for s in results}) == 1
    assert _pinned_dirs(store_of(uri)) == [results[0].digest.split(":")[1]]
    assert model_digest(results[0].uri).digest == results[0].digest


def test_a_part_written_snapshot_is_completed(file_root, tmp_path):
    uri = _logged_model(file_root, tmp_path, files=20)
    repo = CasArtifactRepository(uri)
    digest = model_digest(f"{uri}/model").digest
    store = store_of(uri)
    target = snapshot_path(digest)
    # What a writer that refs one by one leaves when it dies: some of the refs.
    for entry in repo.entries("model")[:7]:
        store.write_ref(f"{target}/{entry.path[len('model/'):]}", entry.ref.encode())
    snap = snapshot_cas_tree(repo, "model")
    assert snap.path == target
    assert model_digest(snap.uri).digest == digest
    (tmp_path / "dst").mkdir()
    CasArtifactRepository(snap.uri).download_artifacts("", str(tmp_path / "dst"))
    assert (tmp_path / "dst" / "MLmodel").read_text() == "flavors: {}"


def test_a_snapshot_holding_other_content_is_refused(file_root, tmp_path):
    uri = _logged_model(file_root, tmp_path, files=5, nested=False)
    repo = CasArtifactRepository(uri)
    digest = model_digest(f"{uri}/model").digest
    store = store_of(uri)
    entries = repo.entries("model")
    # Under the snapshot's name, a ref of the wrong file.
    store.write_ref(f"{snapshot_path(digest)}/MLmodel", entries[-1].ref.encode())
    with pytest.raises(IntegrityError, match="already holds other content at 'MLmodel'"):
        snapshot_cas_tree(repo, "model")


def test_a_pin_reads_refs_only_and_resolves_no_path_per_file(file_root, tmp_path, monkeypatch):
    uri = _logged_model(file_root, tmp_path, files=300)
    repo = CasArtifactRepository(uri)
    repo.tree()
    calls = {"realpath": 0, "open_blob": 0}
    real_realpath = os.path.realpath

    def counting_realpath(path, *args, **kwargs):
        calls["realpath"] += 1
        return real_realpath(path, *args, **kwargs)

    def no_blob(self, sha256):
        calls["open_blob"] += 1
        raise AssertionError("a pin on a cas+ root must not read a blob")

    monkeypatch.setattr(local_store.os.path, "realpath", counting_realpath)
    monkeypatch.setattr(local_store.LocalStore, "open_blob", no_blob)
    snap = snapshot_cas_tree(repo, "model")
    assert len(snap.files) == 301
    assert calls == {"realpath": calls["realpath"], "open_blob": 0}
    assert calls["realpath"] < 20, f"{calls['realpath']} path resolutions for 301 files"
    # Pinning the same files again reuses the snapshot, still without per-file resolution.
    calls["realpath"] = 0
    assert snapshot_cas_tree(repo, "model").path == snap.path
    assert calls["realpath"] < 20


def test_the_snapshot_keeps_the_layout_and_modes_of_the_tree(file_root, tmp_path):
    uri = _logged_model(file_root, tmp_path, files=10)
    snap = snapshot_cas_tree(CasArtifactRepository(uri), "model")
    store = store_of(uri)
    top = Path(store.root) / "trees" / snap.path
    assert sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file()) == [
        f.path for f in snap.files
    ]
    parent_mode = (top.parent.stat().st_mode & 0o777)
    assert top.stat().st_mode & 0o777 == parent_mode  # not mkdtemp's 0700
    listed = [(i.path, i.is_dir) for i in CasArtifactRepository(snap.uri).list_artifacts()]
    assert listed == [("MLmodel", False), ("d0", True), ("d1", True), ("d2", True)] + [
        (f"part-{i:04d}.bin", False) for i in range(0, 10, 2)
    ]


def test_snapshots_and_copies_on_each_kind_of_root(root_uri, tmp_path):
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    from mlflow_registry_ext.artifacts.snapshot import copy_into_root

    uri = _logged_model(root_uri, tmp_path, files=12)
    repo = CasArtifactRepository(uri)
    snap = snapshot_cas_tree(repo, "model")
    assert snap.digest == model_digest(f"{uri}/model").digest == model_digest(snap.uri).digest
    assert snapshot_cas_tree(repo, "model") == snap  # reused as it is
    (tmp_path / "dst").mkdir()
    CasArtifactRepository(snap.uri).download_artifacts("", str(tmp_path / "dst"))
    assert (tmp_path / "dst" / "d1" / "part-0001.bin").read_text() == "bytes of file 1"
    plain = LocalArtifactRepository(str(tmp_path / "plain"))
    plain.log_artifacts(str(tmp_path / "model"), "model")
    copied = copy_into_root(plain, "model", root_uri)
    assert copied.digest == snap.digest and copied.path == snap.path and copied.copied
