"""The approval state machine on its own: the table, each step's draft, the refusals."""

from __future__ import annotations

import dataclasses

import pytest

from mlflow_registry_ext.approvals.states import (
    APPLIED,
    APPROVED,
    CANCELLED,
    EXPIRED,
    PENDING,
    REJECTED,
    TRANSITIONS,
    require_open,
    status_for_count,
    transition,
)
from mlflow_registry_ext.entities import OPEN_STATUSES, REQUEST_STATUSES, ApprovalRequest
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy import Decision

REQUEST = ApprovalRequest(id="r1", model="fraud-model", version="2", target_kind="alias", target="production",
                          action="promote", status=PENDING, requester="erin", created_at_ms=0, updated_at_ms=0)
RECORDED = {"request_action": "promote", "rule": "models[0] (match 'fraud-*')", "policy_digest": "sha256:ab"}


def at(status: str, **changes) -> ApprovalRequest:
    return dataclasses.replace(REQUEST, status=status, **changes)


def test_the_table_names_only_known_states_and_every_state_is_reachable():
    for move in TRANSITIONS.values():
        assert set(move.sources) <= set(REQUEST_STATUSES)
        assert move.target is None or move.target in REQUEST_STATUSES
    reached, frontier = {PENDING}, [PENDING]
    while frontier:
        status = frontier.pop()
        for move in TRANSITIONS.values():
            if status in move.sources and move.target and move.target not in reached:
                reached.add(move.target)
                frontier.append(move.target)
    assert reached == set(REQUEST_STATUSES)


@pytest.mark.parametrize("event, source, target, action", [
    ("approve", PENDING, APPROVED, "approval_request.approved"),
    ("reopen", APPROVED, PENDING, "approval_request.reopened"),
    ("reject", PENDING, REJECTED, "approval_request.rejected"),
    ("reject", APPROVED, REJECTED, "approval_request.rejected"),
    ("cancel", APPROVED, CANCELLED, "approval_request.cancelled"),
    ("expire", PENDING, EXPIRED, "approval_request.expired"),
])
def test_each_step_leads_where_the_table_says_and_records_it(event, source, target, action):
    step = transition(at(source), event, recorded=RECORDED, reason="why")
    assert step.status == target
    draft = step.draft
    assert (draft.action, draft.before, draft.after) == (action, {"status": source}, {"status": target})
    assert draft.details == {"request_id": "r1", "alias": "production", **RECORDED, "reason": "why"}
    assert (draft.payload.status, draft.payload.previous_status, draft.payload.request_id) == (target, source, "r1")


@pytest.mark.parametrize("status", [APPLIED, REJECTED, CANCELLED, EXPIRED])
@pytest.mark.parametrize("event", ["review", "approve", "reject", "cancel", "expire", "apply"])
def test_a_closed_request_takes_no_step_but_a_comment(status, event):
    with pytest.raises(InvalidInput, match=f"Approval request r1 is {status}; it cannot be"):
        transition(at(status), event, recorded=RECORDED)
    assert transition(at(status), "comment", recorded=RECORDED, after={"comment": "noted"}).status == status


def test_a_review_stays_where_the_count_puts_it_and_only_there():
    step = transition(at(PENDING), "review", recorded=RECORDED, to=PENDING, after={"decision": "approve"})
    assert step.status == PENDING and step.draft.after == {"status": PENDING, "decision": "approve"}
    with pytest.raises(ValueError):
        transition(at(PENDING), "approve", recorded=RECORDED, to=PENDING)


def test_a_comment_records_no_earlier_state_and_apply_records_nothing_itself():
    step = transition(at(APPROVED), "comment", recorded=RECORDED, after={"comment": "ship it"})
    assert step.draft.before == {} and step.draft.after == {"status": APPROVED, "comment": "ship it"}
    assert step.draft.payload.comment == "ship it"
    applied = transition(at(APPROVED), "apply", recorded=RECORDED)
    assert applied.status == APPLIED and applied.draft is None
    assert transition(at(APPLIED), "release", recorded=RECORDED).draft is None


def test_an_open_request_past_its_deadline_is_refused_as_expired():
    require_open(at(PENDING, expires_at_ms=10), "approved", now=9)
    with pytest.raises(InvalidInput, match="is expired; it cannot be approved"):
        require_open(at(PENDING, expires_at_ms=10), "approved", now=10)
    with pytest.raises(InvalidInput, match=r"is rejected \(rejected by bob\); it cannot be cancelled"):
        require_open(at(REJECTED, closed_reason="rejected by bob"), "cancelled")


def test_the_quorum_decides_between_the_open_states():
    assert set(OPEN_STATUSES) == {PENDING, APPROVED}
    assert status_for_count(Decision(allowed=True, required=2, counted=2)) == APPROVED
    assert status_for_count(Decision(allowed=False, required=2, counted=1)) == PENDING
    assert status_for_count(Decision(allowed=True, required=0, counted=0)) == PENDING
