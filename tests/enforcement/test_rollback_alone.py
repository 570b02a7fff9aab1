"""Rollback at 3 a.m.: the users under ``rollback.allowed`` roll back alone, with a reason, to the
version the alias held before; everybody else still needs an approval; every rollback is
recorded as ``promotion.rolled_back`` (audit entry and webhook outbox, in the change's transaction)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.events import event_from_audit_entry
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.promotion import admin_override, promote, rollback
from mlflow_registry_ext.webhooks.service import WebhookService
from tests.approvals.fixtures import add_version, approved_request, as_user, copy_database, governed_store

MODEL = "fraud-model"
POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob]
  on-call: [olivia]
admin_override:
  allowed: [root]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
    require:
      artifact_digest: true
    rollback:
      required: 0
      allowed: [carol, "group:on-call"]
  - match: "*"
    protected_aliases: []
"""


@pytest.fixture
def store(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    return governed_store(copy_database(sqlite_template, tmp_path / "db"), monkeypatch, tmp_path, policy=POLICY)


def _entries(store, action):
    return audit_log.query(GovernanceDatabase(store.governance_db.uri).engine, AuditQuery(action=action))


def _alias(store, alias="production"):
    return str(store.get_model_version_by_alias(MODEL, alias).version)


def _version(store, tmp_path, name: str) -> tuple[str, object]:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "weights.bin").write_text(f"weights of {name}")
    return add_version(store, MODEL, source=str(directory)), directory


def _two_promoted(store, tmp_path):
    (v1, d1), (v2, _) = _version(store, tmp_path, "one"), _version(store, tmp_path, "two")
    for version in (v1, v2):
        approved_request(store, MODEL, version)
        with as_user("erin"):
            promote(store, MODEL, version, alias="production")
    return v1, v2, d1


def _error(call, code: str) -> str:
    with pytest.raises(MlflowException) as err:
        call()
    assert err.value.error_code == code, err.value.message
    return err.value.message


def test_an_on_call_user_rolls_back_alone_with_a_reason(store, tmp_path):
    with as_user("root"):
        hook = WebhookService(store.governance_db).create("http://127.0.0.1:9/hook", ["promotion.rolled_back"])
    v1, v2, _ = _two_promoted(store, tmp_path)
    promoted_v1 = [r for r in store.approvals.list(model=MODEL) if r.version == v1][0]

    with as_user("olivia"):
        result = rollback(store, MODEL, "production", reason="  incident 42: precision dropped ")
    assert (result.version, result.previous_version, result.request_id) == (v1, v2, None)
    assert (result.alone, result.reason) == (True, "incident 42: precision dropped")
    assert _alias(store) == v1

    [entry] = _entries(store, "promotion.rolled_back")
    assert (entry.actor, entry.actor_source, entry.model, entry.alias) == ("olivia", "authenticated", MODEL, "production")
    assert (entry.before, entry.after) == ({"version": v2}, {"version": v1})
    details = entry.details
    assert details["reason"] == "incident 42: precision dropped"
    assert (details["from_version"], details["to_version"], details["mode"], details["alone"]) == (v2, v1, "alone", True)
    assert details["allowed_by"] == "rollback.allowed"
    assert details["approved_by_request"] == promoted_v1.id
    assert details["actor_source"] == "authenticated"
    # The alias change itself says so too, and comes right before it in the same transaction.
    [moved] = [e for e in _entries(store, "model_version_alias.created") if e.seq == result.audit_seq]
    assert moved.seq == entry.seq - 1
    assert moved.details["governance"]["alone"]["allowed_by"] == "rollback.allowed"
    assert moved.details["governance"]["reason"] == "incident 42: precision dropped"

    event = event_from_audit_entry(entry)
    assert event.type == "promotion.rolled_back" and event.actor == "olivia"
    data = event.data
    assert (data.name, data.alias, data.version, data.previous_version) == (MODEL, "production", v1, v2)
    assert (data.reason, data.mode, data.alone, data.actor_source) == (
        "incident 42: precision dropped", "alone", True, "authenticated")
    # Queued for the subscriber with the entry.
    [queued] = WebhookService(store.governance_db).deliveries(webhook_id=hook.webhook.id)
    assert (queued.event_type, queued.event_id, queued.origin) == ("promotion.rolled_back", entry.entry_id, "event")

    # Like `cd -`: the next rollback returns to version 2, which was approved for the alias too.
    with as_user("carol"):
        again = rollback(store, MODEL, "production", reason="false alarm")
    assert (again.version, again.alone) == (v2, True)


def test_everybody_else_still_needs_an_approved_rollback(store, tmp_path):
    v1, v2, _ = _two_promoted(store, tmp_path)
    with as_user("erin"):
        message = _error(lambda: rollback(store, MODEL, "production", reason="drift"), "PERMISSION_DENIED")
    assert message == (
        f"Rolling back alias 'production' of {MODEL} to version {v1} is refused by the policy "
        "(models[0] (match 'fraud-*')): rollback needs 1 approval from risk-reviewers; has 0; "
        "no approval request is open for this change; "
        "erin may not roll back alone: not listed under rollback.allowed (on-call, carol)"
    )
    assert _alias(store) == v2
    assert _entries(store, "promotion.rolled_back") == []
    [blocked] = _entries(store, "promotion.blocked")[-1:]
    assert blocked.actor == "erin" and "may not roll back alone" in blocked.details["reason"]

    request = approved_request(store, MODEL, v1, action="rollback", reviewers=("alice",))
    with as_user("erin"):
        result = rollback(store, MODEL, "production", reason="drift")
    assert (result.version, result.request_id, result.alone) == (v1, request.id, False)
    [entry] = _entries(store, "promotion.rolled_back")
    assert (entry.actor, entry.details["mode"], entry.details["alone"]) == ("erin", "approved", False)
    assert entry.details["approval_request"] == request.id and entry.details["reason"] == "drift"


def test_an_unauthenticated_actor_never_rolls_back_alone(store, tmp_path, monkeypatch):
    v1, v2, _ = _two_promoted(store, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "olivia")  # anyone can set it
    message = _error(lambda: rollback(store, MODEL, "production", reason="drift"), "PERMISSION_DENIED")
    assert ("rolling back alone needs an authenticated user; 'olivia' comes from MLFLOW_TRACKING_USERNAME, "
            "which anyone can set") in message
    assert _alias(store) == v2


def test_a_single_user_set_up_may_opt_in(sqlite_template, tmp_path, monkeypatch):
    policy = POLICY + "allow_unauthenticated_reviews: true\n"
    store = governed_store(copy_database(sqlite_template, tmp_path / "db"), monkeypatch, tmp_path, policy=policy)
    v1, _, _ = _two_promoted(store, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "olivia")
    assert rollback(store, MODEL, "production", reason="drift").alone
    [entry] = _entries(store, "promotion.rolled_back")
    assert (entry.actor, entry.actor_source) == ("olivia", "environment")


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_every_rollback_needs_a_reason(store, tmp_path, reason):
    _, v2, _ = _two_promoted(store, tmp_path)
    with as_user("olivia"):
        message = _error(lambda: rollback(store, MODEL, "production", reason=reason), "INVALID_PARAMETER_VALUE")
    assert message.startswith("A rollback needs a reason")
    with as_user("olivia"):
        _error(lambda: rollback(store, MODEL, "production", reason="x" * 10_001), "INVALID_PARAMETER_VALUE")
    assert _alias(store) == v2


def test_changed_artifacts_stay_refused(store, tmp_path):
    v1, v2, first_dir = _two_promoted(store, tmp_path)
    (first_dir / "weights.bin").write_text("swapped after review")
    with as_user("olivia"):
        message = _error(lambda: rollback(store, MODEL, "production", reason="drift"), "PERMISSION_DENIED")
    assert "artifact digest mismatch: approved sha256:" in message
    assert _alias(store) == v2 and _entries(store, "promotion.rolled_back") == []


def test_a_version_never_approved_for_the_alias_stays_refused(store, tmp_path):
    (v1, _), (v2, _) = _version(store, tmp_path, "one"), _version(store, tmp_path, "two")
    with as_user("root"), admin_override("incident 7"):
        store.set_registered_model_alias(MODEL, "production", v1)
    approved_request(store, MODEL, v2)
    with as_user("erin"):
        promote(store, MODEL, v2, alias="production")
    with as_user("olivia"):
        message = _error(lambda: rollback(store, MODEL, "production", reason="drift"), "INVALID_PARAMETER_VALUE")
    assert f"Version {v1} of {MODEL} was never approved for alias 'production'" in message
    assert _alias(store) == v2


def test_a_target_of_an_earlier_incarnation_stays_refused(store, tmp_path):
    _two_promoted(store, tmp_path)
    with as_user("root"), admin_override("retiring the model"):
        store.delete_registered_model_alias(MODEL, "production")
        store.delete_registered_model(MODEL)
    (_, _), (v2, _) = _version(store, tmp_path, "new-one"), _version(store, tmp_path, "new-two")
    approved_request(store, MODEL, v2)
    with as_user("erin"):
        promote(store, MODEL, v2, alias="production")
    with as_user("olivia"):
        message = _error(lambda: rollback(store, MODEL, "production", reason="drift"), "INVALID_PARAMETER_VALUE")
    assert "has no earlier version in the audit log of this model" in message
    assert _alias(store) == v2


def test_an_unprotected_alias_is_rolled_back_with_its_reason_too(store, tmp_path):
    (v1, _), (v2, _) = _version(store, tmp_path, "one"), _version(store, tmp_path, "two")
    with as_user("erin"):
        store.set_registered_model_alias(MODEL, "staging", v1)
        store.set_registered_model_alias(MODEL, "staging", v2)
        result = rollback(store, MODEL, "staging", reason="staging smoke test failed")
    assert (result.version, result.alone) == (v1, False)
    [entry] = _entries(store, "promotion.rolled_back")
    assert (entry.actor, entry.alias, entry.details["mode"], entry.details["from_version"]) == (
        "erin", "staging", "unprotected", v2)
