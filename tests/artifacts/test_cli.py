"""`mlflow-registry-ext artifacts digest|verify|gc`: output, --json, and exit codes."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_registry_ext.cli import cli, run_guarded
from tests.artifacts.helpers import blob_names, overwrite_blob, run_uri, store_of, write


@pytest.fixture
def logged(file_root, tmp_path):
    src = tmp_path / "src"
    write(src / "MLmodel", "x: 1\n")
    write(src / "weights.bin", os.urandom(20_000))
    uri = run_uri(file_root)
    get_artifact_repository(uri).log_artifacts(str(src), "model")
    return f"{uri}/model"


def _run(capsys, *argv):
    code = run_guarded(cli, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_digest_prints_the_digest_and_the_files(logged, capsys):
    code, out, _ = _run(capsys, "artifacts", "digest", logged)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("sha256:") and "(2 files" in first and "from manifest" in first
    code, out, _ = _run(capsys, "--json", "artifacts", "digest", logged)
    data = json.loads(out)
    assert code == 0 and data["digest"] == first.split()[0]
    assert [f["path"] for f in data["files"]] == ["MLmodel", "weights.bin"]


def test_verify_passes_then_fails_with_exit_1_naming_the_file(logged, capsys):
    code, out, _ = _run(capsys, "artifacts", "verify", logged)
    assert code == 0 and out.startswith("ok: 2 files")
    ref = get_artifact_repository(logged).tree().entry("weights.bin")
    overwrite_blob(store_of(logged), ref.sha256, b"\0" * ref.size)
    code, out, err = _run(capsys, "artifacts", "verify", logged)
    assert code == 1
    assert "BAD corrupt" in out and "weights.bin" in out
    assert "1 bad file(s)" in err
    code, out, _ = _run(capsys, "--json", "artifacts", "verify", logged)
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    assert [(p["path"], p["problem"]) for p in data["problems"]] == [("weights.bin", "corrupt")]


def test_verify_against_a_recorded_digest(logged, capsys):
    code, out, _ = _run(capsys, "--json", "artifacts", "digest", logged)
    digest = json.loads(out)["digest"]
    assert _run(capsys, "artifacts", "verify", logged, "--digest", digest)[0] == 0
    code, out, err = _run(capsys, "artifacts", "verify", logged, "--digest", "sha256:" + "1" * 64)
    assert code == 1 and "DIGEST MISMATCH" in out and "does not match" in err


def test_gc_dry_run_then_collect(logged, file_root, capsys):
    get_artifact_repository(logged).delete_artifacts("weights.bin")
    store = store_of(file_root)
    code, out, _ = _run(capsys, "--json", "artifacts", "gc", file_root, "--dry-run", "--grace-period", "0")
    data = json.loads(out)
    assert code == 0 and data["dry_run"] and data["blobs_deleted"] == 1 and data["bytes_freed"] == 20_000
    assert len(blob_names(store)) == 2
    code, out, err = _run(capsys, "artifacts", "gc", file_root, "--grace-period", "0s")
    assert code == 0 and "freed 19.5 KiB (1 blobs" in out
    assert len(blob_names(store)) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ("artifacts", "digest", "cas+file:///no/such/root/1/" + "a" * 32 + "/artifacts"),
        ("artifacts", "verify", "cas+gs://bucket/x"),
        ("artifacts", "gc", "/no/such/root"),
        ("artifacts", "gc", "/tmp", "--grace-period", "soon"),
        ("artifacts", "verify"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, capsys):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("mlflow-registry-ext: ") and err.count("\n") == 1


def test_every_command_has_help():
    runner = CliRunner()
    for command in ("digest", "verify", "gc"):
        result = runner.invoke(cli, ["artifacts", command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output
