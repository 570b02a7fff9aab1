"""One scenario, two clients: ``GovernanceClient`` in direct mode (a ``governed+`` registry URI)
and over REST (``mlflow.server.get_app_client("governance", ...)`` against a real basic-auth
server) must behave the same, call for call."""

from __future__ import annotations

import contextlib
import os
import uuid

import mlflow.server
import pandas as pd
import pytest
from cryptography.fernet import Fernet
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.client import GovernanceClient
from tests.support.governance_servers import POLICY, environment, rest_env
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.server, pytest.mark.slow]


class DirectAs:
    """A direct-mode client whose calls run as ``user`` (the in-process identity)."""

    def __init__(self, client: GovernanceClient, user: str):
        self._client, self._user = client, user

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            with environment({"MLFLOW_TRACKING_USERNAME": self._user}):
                return method(*args, **kwargs)

        return call


class Mode:
    """How one mode makes clients: governance clients and MLflow clients, as a given user."""

    def __init__(self, kind, make_gov, make_mlflow):
        self.kind, self._gov, self._mlflow = kind, make_gov, make_mlflow

    def gov(self, user):
        return self._gov(user)

    def mlflow(self, user):
        return self._mlflow(user)


@pytest.fixture
def direct(tmp_path, monkeypatch):
    policy = tmp_path / "policy.yaml"
    # In-process reviews name their actor by MLFLOW_TRACKING_USERNAME: the single-user opt-in.
    policy.write_text("allow_unauthenticated_reviews: true\n" + POLICY)
    monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(policy))
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    inner = f"sqlite:///{tmp_path / 'direct.db'}"
    registry = "governed+" + inner
    client = GovernanceClient(registry_uri=registry, tracking_uri=inner)
    mlflow_client = MlflowClient(tracking_uri=inner, registry_uri=registry)
    return Mode("direct", lambda user: DirectAs(client, user), lambda user: DirectAs(mlflow_client, user))


@pytest.fixture
def rest(auth_server):
    def gov(user):
        with environment(rest_env(user)):
            return mlflow.server.get_app_client("governance", tracking_uri=auth_server.url)

    def mlflow_as(user):
        with environment(rest_env(user)):
            client = MlflowClient(tracking_uri=auth_server.url)
            # MLflow reads credentials per call; pin this user's.
            return _WithCredentials(client, rest_env(user))

    return Mode("rest", gov, mlflow_as)


class _WithCredentials:
    def __init__(self, client, env):
        self._client, self._env = client, env

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            with environment(self._env):
                return method(*args, **kwargs)

        return call


@pytest.fixture(params=["direct", "rest"])
def mode(request):
    return request.getfixturevalue(request.param)


def _model_version(mode: Mode, tmp_path) -> tuple[str, str]:
    name = f"fraud-{mode.kind}-{uuid.uuid4().hex[:8]}"
    erin = mode.mlflow("erin")
    experiment = erin.create_experiment(name, artifact_location=str(tmp_path / "artifacts" / name))
    run = erin.create_run(experiment)
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    erin.log_artifacts(run.info.run_id, str(model_dir), "model")
    erin.create_registered_model(name)
    mv = erin.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    return name, str(mv.version)


@contextlib.contextmanager
def refused(code: str):
    with pytest.raises(MlflowException) as info:
        yield info
    assert info.value.error_code == code, info.value.message


def test_review_and_promote(mode, tmp_path):
    model, version = _model_version(mode, tmp_path)
    erin, alice = mode.gov("erin"), mode.gov("alice")

    effective = erin.effective_policy(model)
    assert effective.rule_name == "models[0] (match 'fraud-*')"
    assert effective.reviewers == ("alice", "bob") and effective.protected

    request = erin.request_approval(model, version, alias="production", comment="ready")
    assert (request.status, request.requester, request.approvals_text) == ("pending", "erin", "0/1")
    with refused("PERMISSION_DENIED") as info:
        erin.approve(request.id)
    assert "not an eligible reviewer" in info.value.message
    with refused("PERMISSION_DENIED"):
        erin.promote(model, version, alias="production")

    approved = alice.approve(request.id, comment="looks good")
    assert (approved.status, approved.approvals_text) == ("approved", "1/1")
    assert [(d.reviewer, d.decision, d.comment) for d in approved.decisions] == [("alice", "approve", "looks good")]
    assert erin.get_status(model, version).status == "approved"
    assert erin.check_promotion(model, version, alias="production").allowed

    result = erin.promote(model, version, alias="production")
    assert (result.version, result.target, result.request_id) == (version, "production", request.id)
    assert erin.get_request(request.id).status == "applied"
    assert [r.id for r in erin.list_requests(model=model)] == [request.id]
    assert erin.comment_request(request.id, "shipped").comments[-1].text == "shipped"

    history = erin.alias_history(model, "production")
    assert [(h.version, h.actor) for h in history] == [(version, "erin")]
    entries = erin.list_audit(model=model)
    by_action = {e.action: e for e in entries}
    assert by_action["approval_request.approved"].actor == "alice"
    assert by_action["model_version_alias.created"].actor == "erin"
    assert erin.verify_audit().ok


def test_cancel_and_reject(mode, tmp_path):
    model, version = _model_version(mode, tmp_path)
    erin, bob = mode.gov("erin"), mode.gov("bob")
    first = erin.request_approval(model, version, alias="production")
    assert erin.cancel_request(first.id, comment="wrong one").status == "cancelled"
    second = erin.request_approval(model, version, alias="production")
    rejected = bob.reject(second.id, comment="missing evaluation")
    assert rejected.status == "rejected"
    assert erin.get_status(model, version).status == "rejected"
    with refused("RESOURCE_DOES_NOT_EXIST"):
        erin.get_request("0" * 32)


def test_fairness_and_artifacts(mode, tmp_path):
    model, version = _model_version(mode, tmp_path)
    erin = mode.gov("erin")
    frame = pd.DataFrame({
        "y": [1, 0, 1, 0] * 10,
        "p": [1, 0, 0, 0] * 10,
        "sex": ["F", "F", "M", "M"] * 10,
    })
    result = erin.record_fairness(model, version, frame, target="y", prediction="p", sensitive=["sex"],
                                  metrics=["demographic_parity_difference"],
                                  thresholds={"demographic_parity_difference": 0.6}, dataset_name="holdout")
    assert result.passed is True
    (check,) = result.checks
    assert (check.metric, check.sensitive_feature, check.actor) == ("demographic_parity_difference", "sex", "erin")
    assert check.value == pytest.approx(0.5)
    assert [c.id for c in erin.list_fairness(model, version, latest=True)] == [check.id]
    assert erin.get_fairness_check(check.id).by_group == check.by_group

    digest = erin.artifact_digest(model, version)
    assert digest["digest"].startswith("sha256:") and digest["file_count"] == 1
    assert [f["path"] for f in digest["files"]] == ["MLmodel"]
    report = erin.verify_artifacts(model, version, expected_digest=digest["digest"])
    assert report["ok"] and report["checked"] == 1
    assert not erin.verify_artifacts(model, version, expected_digest="sha256:" + "0" * 64)["ok"]


def test_webhooks_and_deliveries(mode):
    admin = mode.gov("admin")
    with Receiver() as receiver:
        created = admin.create_webhook(receiver.url, ["model_version.*"], description="ci")
        receiver.secrets = [created.secret]
        hook = created.webhook
        assert created.secret.startswith("whsec_") and hook.status == "active"
        assert hook.id in [w.id for w in admin.list_webhooks()]
        assert admin.update_webhook(hook.id, description="ci hook").description == "ci hook"
        tested = admin.test_webhook(hook.id)
        assert tested.ok and tested.status_code == 200
        assert receiver.wait_for(lambda r: len(r.deliveries) >= 1)
        assert receiver.deliveries[0].verified
        (delivery,) = admin.list_deliveries(webhook_id=hook.id)
        assert delivery.origin == "test" and admin.get_delivery(delivery.id).status == "succeeded"
        assert [a.outcome for a in admin.delivery_attempts(delivery.id)] == ["succeeded"]
        again = admin.redeliver(delivery.id)
        assert (again.origin, again.source_delivery_id, again.event_id) == ("redeliver", delivery.id, delivery.event_id)
        rotated = admin.rotate_webhook_secret(hook.id, grace_seconds=60)
        assert rotated.secret != created.secret and rotated.webhook.previous_secret_expires_ms
        assert admin.replay_webhook(hook.id, since=0).queued >= 0
        admin.delete_webhook(hook.id)
        with refused("RESOURCE_DOES_NOT_EXIST"):
            admin.get_webhook(hook.id)


def test_the_app_client_entry_point_is_the_rest_client(auth_server):
    client = mlflow.server.get_app_client("governance", tracking_uri=auth_server.url)
    assert isinstance(client, GovernanceClient) and client.is_rest
    assert os.environ.get("MLFLOW_TRACKING_USERNAME") == "tester"


def test_an_http_registry_uri_is_the_server_s_rest(monkeypatch):
    from mlflow_registry_ext.client import GovernanceClient

    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "http://127.0.0.1:9")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert GovernanceClient().is_rest
    assert GovernanceClient(registry_uri="https://127.0.0.1:9").is_rest
