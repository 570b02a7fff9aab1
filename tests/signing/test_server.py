"""Signed approvals end to end on a real ``mlflow server --app-name governance`` with basic auth.

A real sklearn model is logged and registered, requested, approved by two reviewers and promoted
to ``production``; the served signature must verify with the stock ``model_signing`` verifier over
``download_artifacts("models:/M@production")``, and ``artifacts verify --signature`` must pass
against the server, and fail once a byte of the stored model changes.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.signing.helpers import flip_byte, make_keys, serialized_model
from tests.support.governance_servers import (
    auth_env,
    call,
    create_users,
    environment,
    require_auth_extra,
    rest_env,
    started,
    unique,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]

POLICY = """
version: 1
groups:
  risk-reviewers: [alice, bob]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
      allow_self_approval: false
  - match: "*"
    protected_aliases: []
"""

BASE = "/api/2.0/mlflow/governance"


@pytest.fixture(scope="module")
def signing_server(tmp_path_factory):
    require_auth_extra()
    workdir = tmp_path_factory.mktemp("signing-server")
    keys = make_keys(workdir / "keys")
    env = auth_env(workdir)
    (workdir / "policy.yaml").write_text(POLICY)
    env["MLFLOW_GOVERNANCE_SIGNING_KEY"] = str(keys.signing_key)
    env["MLFLOW_GOVERNANCE_LOG_KEY"] = str(keys.log_key)
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as server:
        create_users(server)
        server.keys = keys
        server.workdir = workdir
        yield server


@pytest.fixture(scope="module")
def promoted(signing_server):
    """A real sklearn model, registered, approved by alice and bob, promoted to production."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    from mlflow_registry_ext.client import GovernanceClient

    name = unique("fraud-signed")
    url = signing_server.url
    with environment({**rest_env("erin"), "MLFLOW_TRACKING_URI": url}):
        mlflow.set_tracking_uri(url)
        experiment = mlflow.create_experiment(unique("signing"))
        with mlflow.start_run(experiment_id=experiment):
            model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
            mlflow.sklearn.log_model(model, name="model", registered_model_name=name,
                                     pip_requirements=["scikit-learn"])
        request = GovernanceClient(tracking_uri=url).request_approval(name, 1, alias="production")
    for reviewer in ("alice", "bob"):
        with environment(rest_env(reviewer)):
            GovernanceClient(tracking_uri=url).approve(request.id)
    with environment(rest_env("erin")):
        result = GovernanceClient(tracking_uri=url).promote(name, 1, alias="production")
    assert result.request_id == request.id
    return name, request.id


def _cli(server, *args, user="viewer"):
    env = {**os.environ, **{k: v for k, v in rest_env(user).items() if v}, "MLFLOW_TRACKING_URI": server.url}
    env.pop("MLFLOW_REGISTRY_URI", None)
    return subprocess.run(
        ["mlflow-registry-ext", *args], capture_output=True, text=True, env=env,
        timeout=300,
    )


def test_keys_are_served(signing_server):
    from mlflow_registry_ext import keys

    status, body, _ = call(f"{signing_server.url}{BASE}/keys", user="viewer")
    assert status == 200, body
    assert body["signing"]["public_key_pem"] == signing_server.keys.signing_public.read_text()
    assert body["signing"]["key_id"] == signing_server.keys.signing_key_id
    log_public = keys.load_public_key(signing_server.keys.log_public)
    assert body["log"]["public_key_pem"] == signing_server.keys.log_public.read_text()
    assert body["log"]["verifier_key"] == keys.note_verifier_key(body["log"]["origin"], log_public)


def test_served_signature_verifies_with_the_stock_verifier_over_the_download(signing_server, promoted, tmp_path):
    import mlflow
    import model_signing

    name, request_id = promoted
    status, body, _ = call(f"{signing_server.url}{BASE}/signature?model={name}&version=1", user="viewer")
    assert status == 200, body
    assert body["request_id"] == request_id and body["key_id"] == signing_server.keys.signing_key_id
    sig = tmp_path / "model.sig"
    sig.write_text(body["signature_bundle"])
    with environment({**rest_env("viewer"), "MLFLOW_TRACKING_URI": signing_server.url}):
        mlflow.set_tracking_uri(signing_server.url)
        local = mlflow.artifacts.download_artifacts(f"models:/{name}@production", dst_path=str(tmp_path / "dl"))
    public = str(signing_server.keys.signing_public)
    stock = subprocess.run(
        ["model_signing", "verify", "key", local, "--signature", str(sig), "--public_key", public],
        capture_output=True, text=True, timeout=120,
    )
    assert stock.returncode == 0, stock.stdout + stock.stderr
    assert "Verification succeeded" in stock.stdout
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(local, str(sig))

    flip_byte(serialized_model(local))
    with pytest.raises(ValueError, match="Signature mismatch"):
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(local, str(sig))


def test_the_evidence_bundle_is_served_and_verifies_offline(signing_server, promoted, tmp_path):
    import io
    import json
    import zipfile

    name, request_id = promoted
    out = tmp_path / "bundle.zip"
    exported = _cli(signing_server, "evidence", "export", name, "1", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        status = {p["name"]: p["status"] for p in json.loads(zf.read("index.json"))["parts"]}
        attestation = json.loads(zf.read("artifacts/approval.intoto.json"))
        dossier = json.loads(zf.read("dossier.json"))
    assert status["artifact_signature"] == status["dossier"] == status["approvals"] == "present"
    assert attestation["payloadType"] == "application/vnd.in-toto+json"
    assert dossier["artifact_signature"]["request_id"] == request_id
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "bundle.zip").write_bytes(out.read_bytes())
    (offline / "key.pem").write_bytes(signing_server.keys.signing_public.read_bytes())
    checked = subprocess.run(["mlflow-registry-ext", "evidence", "verify", "bundle.zip", "--public-key", "key.pem"],
                             cwd=offline, capture_output=True, text=True, timeout=300,
                             env={"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                                  "HOME": str(offline)})
    assert checked.returncode == 0, checked.stderr


def test_artifacts_verify_signature_passes_then_fails_on_a_flipped_byte(signing_server, promoted):
    name, request_id = promoted
    pinned = str(signing_server.keys.signing_public)
    ok = _cli(signing_server, "artifacts", "verify", f"models:/{name}@production", "--signature",
              "--public-key", pinned)
    assert ok.returncode == 0, ok.stderr
    assert request_id in ok.stdout and "alice, bob" in ok.stdout and "ok:" in ok.stdout

    served_key = _cli(signing_server, "artifacts", "verify", f"models:/{name}/1", "--signature")
    assert served_key.returncode == 0, served_key.stderr

    other = make_keys(signing_server.workdir / "other-keys")
    wrong = _cli(signing_server, "artifacts", "verify", f"models:/{name}@production", "--signature",
                 "--public-key", str(other.signing_public))
    assert wrong.returncode == 1 and "key:" in wrong.stderr, wrong.stderr

    flip_byte(serialized_model(signing_server.workdir / "artifacts"), offset=10)
    bad = _cli(signing_server, "artifacts", "verify", f"models:/{name}@production", "--signature",
               "--public-key", pinned)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "manifest:" in bad.stderr


def test_an_unsigned_version_has_no_signature(signing_server):
    status, body, _ = call(f"{signing_server.url}{BASE}/signature?model=nope-model&version=1", user="viewer")
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, body, _ = call(f"{signing_server.url}{BASE}/signature?model=x&version=abc", user="viewer")
    assert status == 400
