"""`mlflow-registry-ext webhooks ...`, run through the real CLI entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.webhooks import verify
from mlflow_registry_ext.webhooks.encryption import KEY_ENV

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def registry_uri(tmp_path):
    return f"governed+sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture
def run(capsys, registry_uri):
    def invoke(*argv, as_json=False):
        prefix = ["--registry-uri", registry_uri] + (["--json"] if as_json else [])
        code = run_guarded(cli, prefix + [str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if as_json and out.strip() else out), err

    return invoke


def emit(registry_uri, *drafts):
    db = GovernanceDatabase.for_registry_uri(registry_uri)
    with db.transaction() as conn:
        return audit_log.append(conn, list(drafts))


def test_create_prints_the_secret_once_and_list_never_shows_it(run, receiver):
    code, out, err = run("webhooks", "create", receiver.url, "--events", "model_version.created, model_version_alias.*",
                         "--model-filter", "fraud-*", "--description", "deploys")
    assert code == 0, err
    secret = out.split("Secret (shown only this once; store it now): ")[1].strip()
    assert secret.startswith("whsec_")
    code, listed, _ = run("webhooks", "list")
    assert code == 0 and secret not in listed and "fraud-*" in listed and "deploys" in listed
    code, data, _ = run("webhooks", "list", as_json=True)
    assert code == 0 and secret not in json.dumps(data)
    assert data[0]["events"] == ["model_version.created", "model_version_alias.*"]


def test_json_create_update_rotate_delete(run, receiver):
    code, created, _ = run("webhooks", "create", receiver.url, "--events", "*", "--signature-scheme", "mlflow",
                           "--secret", "a-plain-secret-for-mlflow", as_json=True)
    assert code == 0 and created["secret"] == "a-plain-secret-for-mlflow"
    hook_id = created["webhook"]["id"]
    code, updated, _ = run("webhooks", "update", hook_id, "--events", "promotion.blocked", "--disable", as_json=True)
    assert code == 0 and updated["status"] == "disabled" and updated["events"] == ["promotion.blocked"]
    code, rotated, _ = run("webhooks", "rotate-secret", hook_id, "--grace", "30m", as_json=True)
    assert code == 0 and rotated["secret"].startswith("whsec_")
    assert rotated["webhook"]["previous_secret_expires_ms"] is not None
    code, _, _ = run("webhooks", "delete", hook_id)
    assert code == 0
    code, _, err = run("webhooks", "delete", hook_id)
    assert code == 2 and "RESOURCE_DOES_NOT_EXIST" in err


def test_test_command_exit_codes(run, receiver):
    _, created, _ = run("webhooks", "create", receiver.url, "--events", "model_version_alias.created", as_json=True)
    hook_id = created["webhook"]["id"]
    code, out, _ = run("webhooks", "test", hook_id)
    assert code == 0 and out.startswith("OK: model_version_alias.created -> 200")
    got = receiver.deliveries[-1]
    assert verify(got.body, got.headers, created["secret"])["test"] is True
    receiver.status = 503
    code, out, err = run("webhooks", "test", hook_id)
    assert code == 1 and out.startswith("FAILED") and "did not accept" in err


def test_deliveries_attempts_redeliver_and_replay(run, registry_uri, receiver):
    _, created, _ = run("webhooks", "create", receiver.url, "--events", "model_version.created", as_json=True)
    hook_id = created["webhook"]["id"]
    (entry,) = emit(registry_uri, AuditDraft(action="model_version.created", model="m", version="1"))
    code, listed, _ = run("webhooks", "deliveries", "--webhook", hook_id, "--status", "pending", as_json=True)
    assert code == 0 and [d["event_id"] for d in listed] == [entry.entry_id]
    delivery_id = listed[0]["id"]
    code, out, _ = run("webhooks", "deliveries")
    assert code == 0 and delivery_id in out and "pending" in out
    code, out, _ = run("webhooks", "attempts", delivery_id)
    assert code == 0 and out.strip() == "No attempts yet."
    code, again, _ = run("webhooks", "redeliver", delivery_id, as_json=True)
    assert code == 0 and again["source_delivery_id"] == delivery_id and again["event_id"] == entry.entry_id
    code, replayed, _ = run("webhooks", "replay", hook_id, "--since", "2000-01-01", as_json=True)
    assert code == 0 and replayed["queued"] == 1
    code, _, err = run("webhooks", "replay", hook_id, "--since", "last tuesday")
    assert code == 2 and "Bad time" in err
    code, _, err = run("webhooks", "deliveries", "--status", "lost")
    assert code == 2


def test_input_errors_exit_2_with_one_line(run, monkeypatch):
    code, _, err = run("webhooks", "create", "http://127.0.0.1:9/", "--events", "model_version.create")
    assert code == 2 and "Unknown event type" in err and err.count("\n") == 1
    monkeypatch.delenv(KEY_ENV)
    code, _, err = run("webhooks", "create", "http://127.0.0.1:9/", "--events", "*")
    assert code == 2 and KEY_ENV in err
    monkeypatch.delenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE")
    code, _, err = run("webhooks", "create", "http://169.254.169.254/", "--events", "*")
    assert code == 2 and "not a public address" in err


def test_every_command_has_help_and_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    group = cli.commands["webhooks"]
    for name, command in group.commands.items():
        assert command.help, name
        assert f"webhooks {name}" in doc, f"`webhooks {name}` is not in docs/webhooks.md"
        assert run_guarded(cli, ["webhooks", name, "--help"]) == 0


def test_worker_delivers_and_stops_on_sigterm(tmp_path, registry_uri, receiver, encryption_key):
    from mlflow_registry_ext.webhooks.service import WebhookService

    created = WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.*"])
    receiver.secrets = [created.secret]
    env = dict(os.environ, MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE="true")
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; from mlflow_registry_ext.cli import main; main(sys.argv[1:])",
         "--registry-uri", registry_uri, "webhooks", "worker"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        entries = emit(registry_uri, *[AuditDraft(action="model_version.created", model="m", version=str(i)) for i in range(5)])
        assert receiver.wait_for(lambda r: len(r.event_ids()) == 5, timeout=60)
        assert receiver.event_ids() == {e.entry_id for e in entries}
        assert all(d.verified for d in receiver.deliveries)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "stopped" in err


def test_commands_work_on_a_governance_database_named_only_by_its_variable(tmp_path, monkeypatch, capsys, receiver):
    """No registry URI and no server: the commands run on MLFLOW_GOVERNANCE_DATABASE_URI, through
    the same client; what needs the registry says so."""
    monkeypatch.setenv("MLFLOW_GOVERNANCE_DATABASE_URI", f"sqlite:///{tmp_path / 'governance.db'}")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert run_guarded(cli, ["--json", "webhooks", "create", receiver.url, "--events", "model_version.created"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert run_guarded(cli, ["--json", "webhooks", "list"]) == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)] == [created["webhook"]["id"]]
    assert run_guarded(cli, ["fairness", "list", "fraud", "1"]) == 0
    assert "No fairness checks recorded on fraud version 1" in capsys.readouterr().out
