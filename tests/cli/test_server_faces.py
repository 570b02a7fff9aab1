"""The CLI against a real server beside its database: both URIs given, each is used for what it
names; the webhooks group answers the same on the server as on the database."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from mlflow import MlflowClient

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.support.governance_servers import environment, started, unique

pytestmark = [pytest.mark.server, pytest.mark.slow]

POLICY = """
version: 1
groups:
  risk-reviewers: [alice, bob]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
      reviewers: ["group:risk-reviewers"]
    require:
      artifact_digest: true
  - match: "*"
    protected_aliases: []
"""



@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("faces")
    (workdir / "policy.yaml").write_text(POLICY)
    db = f"sqlite:///{workdir / 'registry.db'}"
    env = {
        "MLFLOW_GOVERNANCE_POLICY": str(workdir / "policy.yaml"),
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    with started(workdir, registry_uri=f"governed+{db}", backend_uri=db, env=env) as server:
        # Without --default-artifact-root the server proxies artifacts: runs get mlflow-artifacts: URIs.
        server.stop()
        command = server.command
        server.command = lambda: [
            part for part in command() if part != "--default-artifact-root" and part != str(workdir / "artifacts")
        ] + ["--artifacts-destination", str(workdir / "served")]
        server.start()
        server.db, server.env = db, env
        yield server


def run(capsys, *args, env=None):
    with environment(env or {}):
        code = run_guarded(cli, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _model_version(server, tmp_path) -> str:
    client = MlflowClient(tracking_uri=server.url)
    run_ = client.create_run(client.create_experiment(unique("exp")))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"weights")
    client.log_artifacts(run_.info.run_id, str(tmp_path / "model"), "model")
    assert run_.info.artifact_uri.startswith("mlflow-artifacts:"), run_.info.artifact_uri
    name = unique("fraud")
    client.create_registered_model(name)
    client.create_model_version(name, f"{run_.info.artifact_uri}/model", run_id=run_.info.run_id)
    return name


def test_registry_and_tracking_uri_together_each_do_their_part(served, tmp_path, capsys, monkeypatch):
    name = _model_version(served, tmp_path)
    both = ["--registry-uri", f"governed+{served.db}", "--tracking-uri", served.url]
    env = {**served.env, "MLFLOW_TRACKING_URI": "", "MLFLOW_TRACKING_USERNAME": "erin"}
    code, out, err = run(capsys, *both, "--json", "approvals", "request", name, "1", "--alias", "production", env=env)
    assert code == 0, err
    request = json.loads(out)
    assert request["status"] == "pending" and request["artifact_digest"].startswith("sha256:"), request
    code, out, err = run(capsys, *both, "--json", "approvals", "status", name, "1", env=env)
    assert code == 0, err
    code, out, err = run(capsys, *both, "artifacts", "digest", f"models:/{name}/1", env=env)
    assert code == 0 and request["artifact_digest"] in out, err


def test_webhooks_group_gives_the_same_output_on_the_server_and_the_database(served, capsys):
    on_db = ["--registry-uri", f"governed+{served.db}"]
    on_server = ["--tracking-uri", served.url]
    env = {**served.env, "MLFLOW_TRACKING_URI": "", "MLFLOW_REGISTRY_URI": ""}
    code, out, err = run(capsys, *on_server, "--json", "webhooks", "create", "http://127.0.0.1:9/hook",
                         "--events", "model_version.created", "--description", "from the server", env=env)
    assert code == 0, err
    hook = json.loads(out)["webhook"]["id"]
    code, out, err = run(capsys, *on_db, "--json", "webhooks", "create", "http://127.0.0.1:9/other",
                         "--events", "approval_request.expired", env=env)
    assert code == 0, err
    for command in (["webhooks", "list"], ["webhooks", "deliveries", "--webhook", hook],
                    ["--json", "webhooks", "list"], ["--json", "webhooks", "deliveries"]):
        answers = [run(capsys, *face, *command, env=env) for face in (on_db, on_server)]
        assert answers[0] == answers[1], f"{command}: {answers}"
        assert answers[0][0] == 0 and "No governance database" not in answers[0][2]
    code, out, err = run(capsys, *on_server, "webhooks", "update", hook, "--disable", env=env)
    assert code == 0 and "disabled" in out, err
    code, out, err = run(capsys, *on_server, "webhooks", "delete", hook, env=env)
    assert code == 0 and hook in out, err
    code, out, err = run(capsys, *on_db, "--json", "webhooks", "list", env=env)
    assert hook not in out
