"""The gate: no path puts an unapproved version under a protected alias or stage; an approved
one gets there once; deletions, renames and overrides follow the policy."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.promotion import admin_override, promote, rollback
from tests.approvals.fixtures import add_version, approved_request, as_user, governed_store


def _entries(store, action):
    # A fresh engine: what is visible here was committed.
    return audit_log.query(GovernanceDatabase(store.governance_db.uri).engine, AuditQuery(action=action))


def _alias(store, alias="production"):
    try:
        return str(store.get_model_version_by_alias("fraud-model", alias).version)
    except MlflowException:
        return None


def _refused(call) -> MlflowException:
    with pytest.raises(MlflowException) as err:
        call()
    assert err.value.error_code == "PERMISSION_DENIED", err.value.message
    return err.value


def test_unapproved_versions_are_refused_on_every_engine(database, tmp_path, monkeypatch):
    store = governed_store(database.uri, monkeypatch, tmp_path)
    version = add_version(store, tags={})
    client = MlflowClient(tracking_uri=database.uri, registry_uri=f"governed+{database.uri}")
    with as_user("erin"):
        error = _refused(lambda: client.set_registered_model_alias("fraud-model", "production", version))
    assert error.message == (
        f"Setting alias 'production' of fraud-model to version {version} is refused by the policy "
        "(models[0] (match 'fraud-*')): needs 2 approvals from risk-reviewers, dave; has 0; "
        "missing tag owner; no approval request is open for this change"
    )
    assert _alias(store) is None
    [blocked] = _entries(store, "promotion.blocked")
    assert (blocked.actor, blocked.model, blocked.version, blocked.alias) == ("erin", "fraud-model", version, "production")
    assert blocked.details["missing"] == ["needs 2 approvals from risk-reviewers, dave; has 0", "missing tag owner"]
    assert blocked.details["rule"] == "models[0] (match 'fraud-*')"
    # Stages compare case-insensitively, as MLflow does; unprotected ones pass.
    with as_user("erin"):
        _refused(lambda: client.transition_model_version_stage("fraud-model", version, "production"))
        assert client.transition_model_version_stage("fraud-model", version, "Staging").current_stage == "Staging"
        client.set_registered_model_alias("fraud-model", "staging", version)
    assert len(_entries(store, "promotion.blocked")) == 2

    # Approved (and carrying its required tag), it gets there.
    with as_user("frank"):
        store.set_model_version_tag("fraud-model", version, ModelVersionTag("owner", "risk"))
    request = approved_request(store, "fraud-model", version)
    with as_user("erin"):
        client.set_registered_model_alias("fraud-model", "production", version)
    assert _alias(store) == version
    assert store.approvals.get(request.id).status == "applied"
    [moved] = [e for e in _entries(store, "model_version_alias.created") if e.alias == "production"]
    assert moved.details["governance"]["approval_request"] == request.id
    assert moved.details["governance"]["approvers"] == ["alice", "bob"]


def test_an_approval_is_applied_once(store):
    v1, v2 = add_version(store), add_version(store)
    approved_request(store, "fraud-model", v1)
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", v1)
        store.set_registered_model_alias("fraud-model", "production", v1)  # no change: nothing to approve
    approved_request(store, "fraud-model", v2)
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", v2)
        # Version 1's approval was used up: going back is a rollback, which needs its own.
        error = _refused(lambda: store.set_registered_model_alias("fraud-model", "production", v1))
    assert "needs 2 approvals" in error.message
    assert _alias(store) == v2
    tags = [store.get_model_version("fraud-model", v).tags["gov.production"] for v in (v1, v2)]
    assert tags == ["was live", "live"]


def test_a_failed_change_gives_its_request_back(store):
    version = add_version(store)
    request = approved_request(store, "fraud-model", version)
    # The store claims before it delegates and gives back when MLflow's change fails; call the
    # two halves directly, as a failing database between them would.
    with as_user("erin"):
        grant = store.gate.before_set_alias("fraud-model", "production", version)
    assert store.approvals.get(request.id).status == "applied"
    store.gate.failed(grant)
    assert store.approvals.get(request.id).status == "approved"
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", version)
    assert _alias(store) == version


def test_stage_promotions_need_their_own_approval(store):
    v1, v2 = add_version(store), add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", v1, stage="production")
    for reviewer in ("carol", "dave"):
        with as_user(reviewer):
            store.approvals.approve(request.id)
    with as_user("erin"):
        # An approval for the stage does not open the alias.
        _refused(lambda: store.set_registered_model_alias("fraud-model", "production", v1))
        result = promote(store, "fraud-model", v1, stage="Production")
    assert (result.request_id, result.target_kind, result.target) == (request.id, "stage", "Production")
    assert store.get_model_version("fraud-model", v1).current_stage == "Production"
    with as_user("erin"):
        _refused(lambda: store.transition_model_version_stage("fraud-model", v2, "Production", True))
        # Leaving a protected stage is not governed.
        store.transition_model_version_stage("fraud-model", v1, "Archived", False)


def test_deleting_and_renaming_follow_the_policy(store):
    v1, v2 = add_version(store), add_version(store)
    approved_request(store, "fraud-model", v1)
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", v1)
        pending = store.approvals.create("fraud-model", v2, alias="champion")

        error = _refused(lambda: store.delete_model_version("fraud-model", v1))
        assert "version 1 is the target of protected alias 'production'; move or remove the alias first" in error.message
        error = _refused(lambda: store.delete_registered_model("fraud-model"))
        assert "carries protected alias 'production'" in error.message
        error = _refused(lambda: store.rename_registered_model("fraud-model", "fraud-model-2"))
        assert "is denied by models[0]" in error.message
        error = _refused(lambda: store.delete_registered_model_alias("fraud-model", "production"))
        assert "deleting protected alias 'production' needs 2 approvals" in error.message
        # Deleting a version no protected alias points to is fine, and closes its requests.
        store.delete_model_version("fraud-model", v2)
    closed = store.approvals.get(pending.id)
    assert (closed.status, closed.closed_reason) == ("cancelled", "version 2 was deleted")

    approved_request(store, "fraud-model", v1, action="delete_alias")
    with as_user("erin"):
        store.delete_registered_model_alias("fraud-model", "production")
        store.delete_registered_model("fraud-model")
    blocked = [e.details["change"] for e in _entries(store, "promotion.blocked")]
    assert blocked == ["delete_version", "delete_model", "rename", "delete_alias"]


def test_credit_rule_denies_alias_deletion_and_allows_renames_within_the_rule(store):
    version = add_version(store, "credit-a")
    with as_user("erin"):
        request = store.approvals.create("credit-a", version, alias="production")
    with as_user("mallory"):
        store.approvals.approve(request.id)  # the rule names no reviewers: anyone but the requester
        store.set_registered_model_alias("credit-a", "production", version)
        store.rename_registered_model("credit-a", "credit-b")
        _refused(lambda: store.rename_registered_model("credit-b", "risk-b"))
        _refused(lambda: store.delete_registered_model_alias("credit-b", "production"))
        with pytest.raises(MlflowException) as err:
            store.approvals.create("credit-b", version, alias="production", action="delete_alias")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and "on_delete_alias: deny" in err.value.message
    assert store.get_model_version_by_alias("credit-b", "production").version in (1, "1")


def test_admin_override_needs_a_listed_admin_and_a_reason(store):
    version = add_version(store)
    with pytest.raises(MlflowException) as err, admin_override("  "):
        pass
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with as_user("mallory"), admin_override("trust me"):
        error = _refused(lambda: store.set_registered_model_alias("fraud-model", "production", version))
    assert "override refused: mallory may not override" in error.message
    assert _entries(store, "promotion.blocked")[-1].details["override_refused"]

    with as_user("root"):
        result = promote(store, "fraud-model", version, alias="production", override_reason="incident 42")
    assert (result.override_reason, result.request_id) == ("incident 42", None)
    assert _alias(store) == version
    [loud] = _entries(store, "promotion.overridden")
    assert (loud.actor, loud.details["reason"]) == ("root", "incident 42")
    assert loud.details["missing"] == ["needs 2 approvals from risk-reviewers, dave; has 0"]
    moved = [e for e in _entries(store, "model_version_alias.created") if e.alias == "production"][-1]
    assert moved.details["governance"]["override"] == {
        "reason": "incident 42", "missing": loud.details["missing"], "entry_seq": loud.seq}
    assert moved.seq == result.audit_seq
    with as_user("root"), admin_override("decommissioned"):
        store.delete_registered_model("fraud-model")


def test_rollback_returns_to_the_previous_version_under_its_own_approval(store):
    v1, v2 = add_version(store), add_version(store)
    for version in (v1, v2):
        approved_request(store, "fraud-model", version)
        with as_user("erin"):
            promote(store, "fraud-model", version, alias="production")
    with as_user("erin"):
        error = _refused(lambda: rollback(store, "fraud-model", "production", reason="drift alarm"))
        assert "Rolling back alias 'production' of fraud-model to version 1 is refused" in error.message
        assert "rollback needs 1 approval from risk-reviewers, dave; has 0" in error.message
        with pytest.raises(MlflowException) as err:
            store.approvals.create("fraud-model", v2, alias="production", action="rollback")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE" and "returns it to version 1" in err.value.message
    request = approved_request(store, "fraud-model", v1, action="rollback", reviewers=("carol",))
    with as_user("erin"):
        result = rollback(store, "fraud-model", "production", reason="drift alarm")
    assert (result.version, result.previous_version, result.request_id) == (v1, v2, request.id)
    assert _alias(store) == v1
    moved = [e for e in _entries(store, "model_version_alias.created") if e.seq == result.audit_seq][0]
    assert moved.details["governance"]["action"] == "rollback"
    assert (moved.before, moved.after) == ({"version": v2}, {"version": v1})
    # Like `cd -`: the next rollback goes back to version 2, and needs a new approval.
    with as_user("erin"):
        _refused(lambda: rollback(store, "fraud-model", "production", reason="drift alarm"))
        with pytest.raises(MlflowException) as err:
            rollback(store, "fraud-model", "champion", reason="drift alarm")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and "not set" in err.value.message
