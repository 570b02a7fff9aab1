"""Approval requests: their life cycle, who may decide, bad input, expiry and staleness."""

from __future__ import annotations

import pytest
from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from tests.approvals.fixtures import add_version, approved_request, as_user


def _entries(store, action=None):
    return audit_log.query(store.governance_db.engine, AuditQuery(action=action))


def _code(excinfo) -> str:
    return excinfo.value.error_code


def test_a_request_is_approved_once_the_quorum_of_distinct_reviewers_is_reached(store):
    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="production", comment="ship it")
    assert (request.status, request.approvals_text, request.requester, request.version_creator) == (
        "pending", "0/2", "erin", "frank")
    assert request.rule == "models[0] (match 'fraud-*')"
    assert request.expires_at_ms - request.created_at_ms == 7 * 24 * 3600 * 1000

    with as_user("alice"):
        first = store.approvals.approve(request.id, comment="LGTM")
        again = store.approvals.approve(request.id, comment="still LGTM")
    assert (first.status, first.approvals_text) == ("pending", "1/2")
    assert (again.status, again.approvals_text) == ("pending", "1/2")  # the same reviewer counts once
    assert [d.reviewer for d in again.decisions] == ["alice"]
    with as_user("dave"):
        done = store.approvals.approve(request.id)
    assert (done.status, done.approvals_text) == ("approved", "2/2")
    assert [(c.author, c.kind, c.text) for c in store.approvals.get(request.id).comments] == [
        ("erin", "request", "ship it"), ("alice", "approve", "LGTM"), ("alice", "approve", "still LGTM")]

    actions = [e.action for e in _entries(store) if e.action.startswith("approval_request.")]
    assert actions == ["approval_request.created", "approval_request.reviewed", "approval_request.reviewed",
                       "approval_request.reviewed", "approval_request.approved"]
    approved = _entries(store, "approval_request.approved")[0]
    assert approved.actor == "dave" and approved.alias == "production"
    assert approved.details["rule"] == "models[0] (match 'fraud-*')"
    assert approved.details["policy_digest"] == store.policy.digest
    assert approved.details["approvers"] == ["alice", "dave"]
    assert store.get_model_version("fraud-model", version).tags["gov.production"] == "approved"


def test_who_may_decide(store):
    version = add_version(store)
    with as_user("carol"):  # a reviewer asking for her own promotion
        request = store.approvals.create("fraud-model", version, alias="production")
    for user, why in (("carol", "requested this change"), ("mallory", "not an eligible reviewer")):
        with as_user(user), pytest.raises(MlflowException) as err:
            store.approvals.approve(request.id)
        assert _code(err) == "PERMISSION_DENIED" and why in err.value.message
    # The version's creator is a reviewer here, but never approves their own work.
    creators_version = add_version(store, creator="alice")
    with as_user("erin"):
        other = store.approvals.create("fraud-model", creators_version, alias="production")
    with as_user("alice"), pytest.raises(MlflowException) as err:
        store.approvals.approve(other.id)
    assert _code(err) == "PERMISSION_DENIED" and "created this model version" in err.value.message
    # Only the requester (or an admin) cancels; anyone comments.
    with as_user("bob"), pytest.raises(MlflowException) as err:
        store.approvals.cancel(request.id)
    assert _code(err) == "PERMISSION_DENIED" and "Only the requester (carol)" in err.value.message
    with as_user("mallory"):
        assert store.approvals.comment(request.id, "why now?").comments[-1].author == "mallory"
    with as_user("root"):
        assert store.approvals.cancel(other.id).status == "cancelled"
    assert _entries(store, "approval_request.commented")[0].after["comment"] == "why now?"


def test_bad_input_gets_coded_errors(store):
    version = add_version(store)
    cases = [
        (lambda: store.approvals.get("0" * 32), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: store.approvals.approve("nope"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: store.approvals.create("fraud-model", version, alias="bad alias!"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", version, alias="v3"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", version, alias="staging"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", version, stage="Gold"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", version), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", "x", alias="production"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.create("fraud-model", "99", alias="production"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: store.approvals.create("other-model", "1", alias="production"), "INVALID_PARAMETER_VALUE"),
        (lambda: store.approvals.list(status="done"), "INVALID_PARAMETER_VALUE"),
    ]
    for call, code in cases:
        with as_user("erin"), pytest.raises(MlflowException) as err:
            call()
        assert _code(err) == code, (err.value.message, code)

    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="production")
        with pytest.raises(MlflowException) as err:
            store.approvals.create("fraud-model", version, alias="production")
        assert _code(err) == "RESOURCE_ALREADY_EXISTS" and request.id in err.value.message
        with pytest.raises(MlflowException) as err:
            store.approvals.comment(request.id, "   ")
        assert _code(err) == "INVALID_PARAMETER_VALUE"
        store.approvals.cancel(request.id)
    with as_user("alice"), pytest.raises(MlflowException) as err:
        store.approvals.approve(request.id)
    assert _code(err) == "INVALID_PARAMETER_VALUE" and "cancelled" in err.value.message
    # A cancelled request no longer blocks a new one for the same change.
    with as_user("erin"):
        assert store.approvals.create("fraud-model", version, alias="production").status == "pending"


def test_a_rejection_closes_the_request(store):
    version = add_version(store)
    request = approved_request(store, "fraud-model", version, reviewers=("alice",))
    with as_user("bob"):
        rejected = store.approvals.reject(request.id, comment="fails the backtest")
    assert (rejected.status, rejected.closed_reason) == ("rejected", "rejected by bob")
    with as_user("carol"), pytest.raises(MlflowException) as err:
        store.approvals.approve(request.id)
    assert "rejected" in err.value.message
    entry = _entries(store, "approval_request.rejected")[0]
    assert (entry.before, entry.after["status"], entry.details["comment"]) == (
        {"status": "pending"}, "rejected", "fails the backtest")
    assert store.get_model_version("fraud-model", version).tags["gov.production"] == "rejected"
    assert [r.status for r in store.approvals.list(model="fraud-model", status="rejected")] == ["rejected"]


def test_requests_expire_after_the_rules_duration(store):
    version = add_version(store)
    now = [1_800_000_000_000]
    store.approvals.clock = lambda: now[0]
    request = approved_request(store, "fraud-model", version)
    assert request.status == "approved"
    now[0] += 7 * 24 * 3600 * 1000 + 1
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert _code(err) == "PERMISSION_DENIED"
    # The refused promotion noticed the expiry and recorded it.
    assert [e.details["automatic"] for e in _entries(store, "approval_request.expired")] == [True]
    assert store.approvals.get(request.id).status == "expired"
    with as_user("carol"), pytest.raises(MlflowException) as err:
        store.approvals.approve(request.id)
    assert "expired" in err.value.message
    assert store.get_model_version("fraud-model", version).tags["gov.production"] == "expired"


def test_approvals_go_stale_when_a_required_tag_or_the_description_changes(store):
    version = add_version(store)
    request = approved_request(store, "fraud-model", version)
    with as_user("frank"):
        store.set_model_version_tag("fraud-model", version, ModelVersionTag("owner", "someone-else"))
    stale = store.approvals.get(request.id)
    assert (stale.status, stale.approvals_text) == ("pending", "0/2")
    reopened = _entries(store, "approval_request.reopened")[0]
    assert "stale" in reopened.details["reason"]
    tags = store.get_model_version("fraud-model", version).tags
    assert tags["gov.production"] == "pending 0/2"
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert "stale" not in err.value.message and "has 0" in err.value.message

    # Back to the approved state: the approvals count again.
    with as_user("frank"):
        store.set_model_version_tag("fraud-model", version, ModelVersionTag("owner", "risk"))
    assert store.approvals.get(request.id).status == "approved"
    # An unrelated tag changes nothing; the description does.
    with as_user("frank"):
        store.set_model_version_tag("fraud-model", version, ModelVersionTag("notes", "x"))
        assert store.approvals.get(request.id).status == "approved"
        store.update_model_version("fraud-model", version, description="retrained")
    assert store.approvals.get(request.id).status == "pending"
    # Reviewers renew their approvals for the new state.
    for reviewer in ("alice", "bob"):
        with as_user(reviewer):
            renewed = store.approvals.approve(request.id)
    assert renewed.status == "approved"


def test_list_filters_and_newest_first(store):
    first, second = add_version(store), add_version(store)
    with as_user("erin"):
        a = store.approvals.create("fraud-model", first, alias="production")
        b = store.approvals.create("fraud-model", second, stage="production")
    assert b.stage == "Production" and b.target_kind == "stage"
    assert [r.id for r in store.approvals.list()] == [b.id, a.id]
    assert [r.id for r in store.approvals.list(version=first)] == [a.id]
    assert store.approvals.list(model="other") == []
    assert [r.id for r in store.approvals.list(status="pending", limit=1)] == [b.id]
