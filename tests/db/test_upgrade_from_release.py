"""A database written by release 0.1 (governance schema 0004, before workspaces) upgrades in place:
nothing is lost, the audit chain stays intact, everything lands in the ``default`` workspace and
keeps working there, and another workspace sees none of it."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlflow_registry_ext.db.migrate import current_revision, head_revision
from tests.approvals.fixtures import POLICY, as_user, governed_store

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1.db.gz"
#: The key the fixture's webhook secret was encrypted with (make_release_0_1.py).
ENCRYPTION_KEY = "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E="
WORKSPACE_TABLES = ("gov_audit_log", "gov_approval_requests", "gov_approval_decisions", "gov_webhooks",
                    "gov_webhook_deliveries")


@pytest.fixture
def upgraded(tmp_path, monkeypatch):
    path = tmp_path / "registry.db"
    with gzip.open(FIXTURE) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    engine = sa.create_engine(f"sqlite:///{path}")
    assert current_revision(engine) == "0004_approvals"
    engine.dispose()
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", ENCRYPTION_KEY)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'tracking.db'}")
    policy = POLICY.replace("      expires_after: 7d\n", "")
    return governed_store(f"sqlite:///{path}", monkeypatch, tmp_path, policy=policy)


def test_the_upgrade_keeps_every_row_in_the_default_workspace_and_the_chain_intact(upgraded):
    from mlflow_registry_ext.audit import log as audit_log

    engine = upgraded.governance_db.engine
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        for table in WORKSPACE_TABLES:
            workspaces = {r[0] for r in conn.execute(sa.text(f"SELECT DISTINCT workspace FROM {table}"))}
            assert workspaces == {"default"}, table
    result = audit_log.verify(engine)
    assert result.ok and result.checked >= 11


def test_requests_and_webhooks_of_release_0_1_keep_working(upgraded):
    from mlflow_registry_ext.webhooks.service import WebhookService

    requests = upgraded.approvals.list(model="fraud-model")
    assert sorted(r.status for r in requests) == ["applied", "pending"]
    pending = next(r for r in requests if r.status == "pending")
    assert upgraded.get_registered_model("fraud-model").aliases["production"] == 1
    with as_user("bob"):  # the second approval of a request made before the upgrade
        upgraded.approvals.approve(pending.id)
    with as_user("erin"):
        upgraded.set_registered_model_alias("fraud-model", "production", pending.version)
    assert upgraded.get_registered_model("fraud-model").aliases["production"] == int(pending.version)
    hooks = WebhookService(upgraded.governance_db).list()
    assert [h.url for h in hooks] == ["http://127.0.0.1:9/hook"]
    assert WebhookService(upgraded.governance_db).deliveries()


def test_another_workspace_sees_none_of_it(upgraded, monkeypatch):
    from mlflow_registry_ext.audit.log import AuditQuery, query
    from mlflow_registry_ext.webhooks.service import WebhookService

    monkeypatch.setenv("MLFLOW_WORKSPACE", "ws2")
    from mlflow_registry_ext.workspace import current_workspace

    if current_workspace() != "ws2":
        pytest.skip("this MLflow has no workspaces")
    assert upgraded.approvals.list() == []
    assert WebhookService(upgraded.governance_db).list() == []
    assert list(query(upgraded.governance_db.engine, AuditQuery())) == []


def test_a_request_of_release_0_1_never_applies_to_a_re_created_model(upgraded, tmp_path, monkeypatch):
    from mlflow.exceptions import MlflowException

    from tests.approvals.fixtures import add_version

    pending = next(r for r in upgraded.approvals.list(model="fraud-model") if r.status == "pending")
    with as_user("bob"):
        upgraded.approvals.approve(pending.id)
    relaxed = POLICY.replace("      expires_after: 7d\n", "").replace(
        "    protected_stages: [Production]\n", "    protected_stages: [Production]\n    on_delete_alias: allow\n", 1)
    (tmp_path / "relaxed").mkdir()
    with as_user("root"):
        governed_store(upgraded.store_uri.removeprefix("governed+"), monkeypatch, tmp_path / "relaxed",
                       policy=relaxed).delete_registered_model_alias("fraud-model", "production")
        upgraded.delete_registered_model("fraud-model")
    add_version(upgraded)
    version = add_version(upgraded)  # the same version number, other bytes, never reviewed
    assert version == pending.version
    with as_user("erin"), pytest.raises(MlflowException) as err:
        upgraded.set_registered_model_alias("fraud-model", "production", version)
    assert err.value.error_code == "PERMISSION_DENIED" and "needs 2 approvals" in err.value.message
