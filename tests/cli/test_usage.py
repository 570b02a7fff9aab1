"""The slips a first run makes get a clear answer: global options after the command, a negative
version, a policy file with several problems; requests read as sentences; one time format."""

from __future__ import annotations

import re

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.entities import ApprovalRequest
from mlflow_registry_ext.times import iso_utc

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def run(capsys, *args):
    code = run_guarded(cli, [str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registry(sqlite_database, monkeypatch):
    uri = f"governed+{sqlite_database.uri}"
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    client = MlflowClient(tracking_uri=sqlite_database.uri, registry_uri=uri)
    client.create_registered_model("fraud-model")
    client.create_model_version("fraud-model", "s3://bucket/m")
    return uri


@pytest.mark.parametrize("option", ["--registry-uri", "--tracking-uri", "--json"])
def test_a_global_option_after_the_command_is_refused_with_where_it_goes(option, registry, capsys):
    args = [option] + ([] if option == "--json" else [registry])
    code, _, err = run(capsys, "audit", "list", *args)
    assert code == 2
    assert f"{option} is a global option: it goes before the command" in err
    assert f"'mlflow-registry-ext {option}" in err and "audit list" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["policy", "show", "fraud-model", "--version", "-1"],
                                  ["approvals", "status", "fraud-model", "-1"],
                                  ["approvals", "status", "fraud-model", "0"],
                                  ["audit", "list", "--version", "one"]])
def test_a_version_that_is_not_one_is_a_clear_error(args, registry, capsys):
    code, _, err = run(capsys, "--registry-uri", registry, *args)
    assert code == 2
    assert "is not a model version: versions are whole numbers from 1" in err, err
    assert "No such option" not in err


def test_policy_validate_prints_each_problem_on_its_own_line(tmp_path, capsys):
    bad = tmp_path / "policy.yaml"
    bad.write_text("version: 1\nmodels:\n  - match: 1\n    protected_aliases: 5\n"
                   "    approvals: {required: -1, reviewers: 3}\n    bogus: 1\n")
    code, _, err = run(capsys, "policy", "validate", bad)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0] == f"mlflow-registry-ext: {bad}: 5 problems"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [f"{bad} line {n}" for n in (3, 4, 5, 5, 6)]
    assert all(";" not in line for line in lines[1:])


def test_a_rollback_request_reads_as_a_sentence():
    request = ApprovalRequest(id="ar_1", model="fraud-model", version="1", target_kind="alias",
                              target="production", action="rollback", requester="erin", status="pending",
                              required=2, approvals=0, created_at_ms=0, updated_at_ms=0)
    assert request.describe() == "rolling back alias 'production' of fraud-model to version 1"


def test_times_are_iso_8601_utc_with_z_in_the_cli_and_json(registry, capsys):
    assert iso_utc(1_796_161_545_807) == "2026-12-01T21:45:45Z"
    code, out, err = run(capsys, "--registry-uri", registry, "audit", "list")
    assert code == 0, err
    stamps = ISO_Z.findall(out)
    assert stamps and " UTC" not in out and not re.search(r"\d\d:\d\d:\d\d(?!Z)", out), out
    code, out, _ = run(capsys, "--registry-uri", registry, "--json", "audit", "verify")
    assert code == 0 and " UTC" not in out


def test_the_reviewer_page_writes_times_the_same_way():
    from pathlib import Path

    import mlflow_registry_ext.server as server

    script = (Path(server.__file__).parent / "static" / "governance.js").read_text()
    assert '" UTC"' not in script and '.slice(0, 19) + "Z"' in script
