"""The ``approvals``, ``promote``, ``rollback`` and ``policy show --version`` commands (through
the client's direct mode): output, JSON, exit codes."""

from __future__ import annotations

import json

import pytest

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.approvals.fixtures import UNAUTHENTICATED_POLICY, add_version, copy_database, governed_store


@pytest.fixture
def store(sqlite_template, tmp_path, monkeypatch):
    """The CLI on the database names its actor by MLFLOW_TRACKING_USERNAME: a single-user policy."""
    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, UNAUTHENTICATED_POLICY)


@pytest.fixture
def run(store, monkeypatch, capsys):
    """Run the CLI against ``store`` as a user: ``run("alice", *args) -> (code, stdout, stderr)``."""

    def invoke(user: str, *args: str):
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        code = run_guarded(cli, ["--registry-uri", store.store_uri, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_request_review_and_promote_from_the_command_line(store, run):
    version = add_version(store)
    code, out, _ = run("erin", "--json", "approvals", "request", "fraud-model", version, "--alias", "production",
                       "--comment", "ready")
    assert code == 0
    request = json.loads(out)
    assert (request["status"], request["alias"], request["approvals_text"]) == ("pending", "production", "0/2")
    rid = request["id"]

    code, _, err = run("erin", "approvals", "approve", rid)
    assert code == 3 and "PERMISSION_DENIED" in err and "not an eligible reviewer" in err
    assert run("alice", "approvals", "approve", rid, "--comment", "ok")[1].strip() == f"approved {rid}: pending, approvals 1/2"
    code, out, _ = run("mallory", "approvals", "comment", rid, "--comment", "looks rushed")
    assert (code, out.strip()) == (0, f"commented on {rid}")
    assert run("bob", "approvals", "approve", rid)[0] == 0

    code, out, _ = run("erin", "approvals", "show", rid)
    assert code == 0 and "status      approved" in out and "mallory (comment): looks rushed" in out
    code, out, _ = run("erin", "--json", "approvals", "list", "--status", "approved")
    assert [r["id"] for r in json.loads(out)] == [rid]
    code, out, _ = run("erin", "approvals", "status", "fraud-model", version)
    assert f"status approved, approvals 2/2, fairness missing; request {rid}" in out
    assert "  @production: approved\n  @champion: no request\n  stage Production: no request\n" in out
    assert f"  reviewer page: /governance/#/version/fraud-model/{version}" in out
    code, out, _ = run("erin", "policy", "show", "fraud-model", "--alias", "production", "--version", version)
    assert code == 0 and f"alias 'production': allowed (request {rid})" in out

    code, out, _ = run("erin", "promote", "fraud-model", version, "--alias", "production")
    assert (code, out.strip()) == (0, f"promoted fraud-model @production to version 1; applied request {rid}; audit entry 8")
    code, _, err = run("erin", "rollback", "fraud-model", "--alias", "production", "--reason", "drift alarm")
    assert code == 2 and "no earlier version" in err


def test_refusals_and_bad_input_map_to_exit_codes(store, run):
    version = add_version(store, tags={})
    code, _, err = run("erin", "promote", "fraud-model", version, "--alias", "production")
    assert code == 3
    assert err.startswith("mlflow-registry-ext: PERMISSION_DENIED: Setting alias 'production' of fraud-model")
    assert "missing tag owner" in err and err.count("\n") == 1
    code, out, _ = run("erin", "--json", "policy", "show", "fraud-model", "--stage", "Production", "--version", version)
    check = json.loads(out)["checks"][0]
    assert (check["allowed"], check["target"], check["missing"][-1]) == (False, "Production", "no approval request is open for this change")

    assert run("erin", "approvals", "show", "f" * 32)[0] == 2
    assert run("erin", "approvals", "request", "fraud-model", version, "--alias", "a", "--stage", "b")[0] == 2
    assert run("erin", "approvals", "request", "fraud-model", version, "--alias", "latest")[0] == 2
    assert run("erin", "approvals", "list", "--status", "unknown")[0] == 2
    code, out, _ = run("erin", "approvals", "request", "fraud-model", version, "--alias", "champion")
    rid = out.split()[1].rstrip(":")
    assert run("alice", "approvals", "cancel", rid)[0] == 3
    assert run("erin", "approvals", "cancel", rid)[1].strip() == f"cancelled {rid}"
    code, _, err = run("alice", "approvals", "approve", rid)
    assert code == 2 and "is cancelled" in err
    assert run("erin", "approvals", "list")[1].startswith(f"{rid}  cancelled")



def test_by_default_the_cli_on_the_database_cannot_review(sqlite_template, tmp_path, monkeypatch, capsys):
    # Anyone can set MLFLOW_TRACKING_USERNAME=alice: without the policy's opt-in it proves nothing.
    store = governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path)
    version = add_version(store)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "erin")
    assert run_guarded(cli, ["--registry-uri", store.store_uri, "--json", "approvals", "request", "fraud-model",
                             version, "--alias", "production"]) == 0
    rid = json.loads(capsys.readouterr().out)["id"]
    for verb in ("approve", "reject"):
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        code = run_guarded(cli, ["--registry-uri", store.store_uri, "approvals", verb, rid])
        err = capsys.readouterr().err
        assert code == 3 and "PERMISSION_DENIED" in err, err
        assert "allow_unauthenticated_reviews: true" in err and "governance server" in err
    assert store.approvals.get(rid).status == "pending"
