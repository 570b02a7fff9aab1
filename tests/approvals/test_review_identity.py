"""Reviews need an authenticated actor; every audit entry records how its actor was established."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit.chain import decode_body
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.registry.promotion import admin_override
from mlflow_registry_ext.identity import RequestIdentity, bind_request, current
from tests.approvals.fixtures import UNAUTHENTICATED_POLICY, add_version, as_user, copy_database, governed_store


def test_identity_sources(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert (current().actor, current().source, current().is_authenticated) == ("alice", "environment", False)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    assert current().source == "os"
    with bind_request(RequestIdentity(actor="bob", source="proxy")):
        assert current().is_authenticated


def test_in_process_reviews_through_the_environment_are_refused(store, monkeypatch):
    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="production")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    for call in (store.approvals.approve, store.approvals.reject):
        with pytest.raises(MlflowException) as err:
            call(request.id)
        assert err.value.error_code == "PERMISSION_DENIED"
        assert "MLFLOW_TRACKING_USERNAME" in err.value.message and "allow_unauthenticated_reviews" in err.value.message
    with pytest.raises(MlflowException) as err, admin_override("incident"):
        store.set_registered_model_alias("fraud-model", "production", version)
    assert "override refused" in err.value.message and "authenticated" in err.value.message
    assert store.approvals.get(request.id).status == "pending"
    with as_user("alice"):  # what the server binds for a logged-in user
        assert store.approvals.approve(request.id).approvals_text == "1/2"


def test_the_policy_may_opt_in_and_entries_record_the_source(sqlite_template, tmp_path, monkeypatch):
    store = governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, UNAUTHENTICATED_POLICY)
    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="production")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    store.approvals.approve(request.id)
    [created] = audit_log.query(store.governance_db.engine, AuditQuery(action="approval_request.created"))
    [approved] = audit_log.query(store.governance_db.engine, AuditQuery(actor="alice"))
    assert (created.actor, created.actor_source) == ("erin", "authenticated")
    assert (approved.actor, approved.actor_source) == ("alice", "environment")
    # Part of the hashed body, so rewriting it breaks the chain.
    with store.governance_db.engine.connect() as conn:
        body = conn.exec_driver_sql(f"SELECT body FROM gov_audit_log WHERE seq = {approved.seq}").scalar()
    assert decode_body(body)["actor_source"] == "environment"
    assert audit_log.verify(store.governance_db.engine).ok
