"""On a real ``mlflow server --app-name governance``: a version holding a crafted malicious pickle
is scanned when it is created, the report is served over REST and the CLI, and promotion is
refused naming the finding; a clean model goes through."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from mlflow import MlflowClient

from tests.approvals.fixtures import approved_request, governed_store, write_policy
from tests.security.models import malicious_model, skops_model
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.server, pytest.mark.slow]

POLICY = """\
version: 1
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
    require:
      security_scan: clean
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("scan-server")
    database = f"sqlite:///{workdir / 'mlflow.db'}"
    env = {"MLFLOW_GOVERNANCE_POLICY": str(write_policy(workdir, POLICY))}
    with MlflowServer(workdir, registry_uri=f"governed+{database}", backend_uri=database, env=env) as running:
        running.database = database
        yield running


def _call(server, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{server.url}{path}", data=json.dumps(body).encode() if body is not None else None, method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _register(server, tmp_path, build, name: str) -> str:
    client = MlflowClient(tracking_uri=server.url)
    experiment = client.get_experiment_by_name("Default").experiment_id
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(build(tmp_path / name)), "model")
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(f"name='{name}'"):
        client.create_registered_model(name)
    status, body = _call(server, "POST", "/api/2.0/mlflow/model-versions/create", {
        "name": name, "source": f"runs:/{run.info.run_id}/model", "run_id": run.info.run_id})
    assert status == 200, body
    return body["model_version"]["version"]


def test_a_malicious_pickle_blocks_promotion_on_a_real_server(server, tmp_path, monkeypatch):
    version = _register(server, tmp_path, malicious_model, "fraud-evil")
    base = "/api/2.0/mlflow/governance"
    status, body = _call(server, "GET", f"{base}/scans?model=fraud-evil&version={version}")
    assert status == 200, body
    [report] = body["scans"]
    assert (report["status"], report["highest_severity"], report["trigger"]) == ("findings", "critical", "created")
    assert report["findings"][0]["file"] == "model.pkl"
    status, body = _call(server, "GET", f"/api/2.0/mlflow/model-versions/get?name=fraud-evil&version={version}")
    assert {t["key"]: t["value"] for t in body["model_version"]["tags"]}["governance.scan"] == "critical"

    store = governed_store(server.database, monkeypatch, tmp_path, policy=POLICY)
    approved_request(store, "fraud-evil", version, reviewers=("alice",))
    status, body = _call(server, "POST", "/api/2.0/mlflow/registered-models/alias",
                         {"name": "fraud-evil", "alias": "production", "version": version})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")
    assert "security scan found critical: Use of unsafe operator 'system' from module 'posix' in model.pkl" in body["message"]

    # On demand, over REST and through the CLI (exit 1 on findings).
    status, body = _call(server, "POST", f"{base}/scans", {"model": "fraud-evil", "version": version})
    assert (status, body["status"], body["trigger"]) == (200, "findings", "on_demand")
    cli = subprocess.run(
        [sys.executable, "-c", "from mlflow_registry_ext.cli import main; main()", "--tracking-uri", server.url, "scan", "fraud-evil", version],
        capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 1, cli.stderr
    assert "CRITICAL" in cli.stdout and "model.pkl" in cli.stderr
    status, body = _call(server, "GET", f"{base}/scans?model=fraud-evil&version={version}")
    assert len(body["scans"]) == 3
    status, body = _call(server, "POST", f"{base}/scans", {"model": "fraud-evil", "version": "999"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_a_clean_model_is_promoted(server, tmp_path, monkeypatch):
    version = _register(server, tmp_path, skops_model, "fraud-clean")
    store = governed_store(server.database, monkeypatch, tmp_path, policy=POLICY)
    approved_request(store, "fraud-clean", version, reviewers=("alice",))
    status, body = _call(server, "POST", "/api/2.0/mlflow/registered-models/alias",
                         {"name": "fraud-clean", "alias": "production", "version": version})
    assert status == 200, body
