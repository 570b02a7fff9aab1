"""An upload killed midway (SIGKILL) leaves no blob under its final name, and gc cleans up."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlflow_registry_ext.artifacts.gc import collect_garbage
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from tests.artifacts.helpers import blob_names, run_uri, store_of, write

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
REPO_ROOT = str(Path(__file__).resolve().parents[2])

_STREAM_CHILD = """
import sys
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
CasArtifactRepository(sys.argv[1]).log_artifact_from_stream(sys.stdin.buffer, "big.bin", "model")
"""

_FILE_CHILD = """
import sys
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
CasArtifactRepository(sys.argv[1]).log_artifact(sys.argv[2], "model")
"""


def _child(code: str, *args: str, env=None, stdin=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=stdin,
        cwd=REPO_ROOT,
        env=dict(os.environ, **(env or {})),
        start_new_session=True,
    )


def _wait_for(predicate, timeout=60.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_local_upload_killed_midway_leaves_no_blob(file_root, tmp_path):
    uri = run_uri(file_root)
    CasArtifactRepository(uri).log_artifact(write(tmp_path / "seed.txt", "creates the root"))
    store = store_of(uri)
    before = blob_names(store)
    tmp_dir = Path(store.root) / "tmp"
    data = os.urandom(16 * MIB)
    proc = _child(_STREAM_CHILD, uri, stdin=subprocess.PIPE)
    try:
        proc.stdin.write(data[: 12 * MIB])  # the rest never comes
        proc.stdin.flush()
        assert _wait_for(lambda: any(p.stat().st_size > 0 for p in tmp_dir.iterdir())), "no upload started"
    finally:
        _kill(proc)
    partial = [p for p in tmp_dir.iterdir()]
    assert partial and all(p.stat().st_size < len(data) for p in partial)
    assert blob_names(store) == before
    repo = CasArtifactRepository(uri)
    assert [i.path for i in repo.list_artifacts()] == ["seed.txt"]
    # A complete upload of the same bytes afterwards is stored correctly.
    repo.log_artifact(write(tmp_path / "model" / "big.bin", data), "model")
    assert blob_names(store) - before == {hashlib.sha256(data).hexdigest()}
    report = collect_garbage(file_root, grace_seconds=60, clock=lambda: time.time() + 120)
    assert report.uploads_removed == len(partial) and report.blobs_deleted == 0
    assert list(tmp_dir.iterdir()) == []


def test_an_s3_multipart_upload_killed_midway_leaves_no_blob(s3_root, s3_env, s3_client, s3_bucket, tmp_path):
    uri = run_uri(s3_root)
    CasArtifactRepository(uri).log_artifact(write(tmp_path / "seed.txt", "creates the root"))
    env = {
        "MLFLOW_S3_ENDPOINT_URL": s3_env,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_CAS_S3_PART_SIZE": str(5 * MIB),
    }

    def uploads():
        return s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])

    caught = None
    for attempt in range(3):  # the child may, rarely, finish before it is caught
        big = write(tmp_path / f"big{attempt}.bin", os.urandom(60 * MIB))
        proc = _child(_FILE_CHILD, uri, big, env=env)
        try:
            if _wait_for(lambda: bool(uploads()) or proc.poll() is not None, interval=0.005) and uploads():
                caught = hashlib.sha256(Path(big).read_bytes()).hexdigest()
        finally:
            _kill(proc)
        if caught:
            break
    assert caught, "the upload always finished before it could be killed"
    store = store_of(uri)
    assert caught not in blob_names(store)
    assert [i.path for i in CasArtifactRepository(uri).list_artifacts()] == ["seed.txt"]
    report = collect_garbage(s3_root, grace_seconds=60, clock=lambda: time.time() + 120)
    assert report.uploads_removed >= 1
    assert uploads() == []
