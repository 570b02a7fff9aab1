"""The approval request's state machine, pure: its states, the transition table and
:func:`transition`, which also makes the audit draft of each step.

::

    (create) ──▶ pending ◀──── reopen ──── approved
                 │   │ └────── approve ───▶ │  │
                 │   └────────── apply ─────┼──┴──▶ applied ── release ──▶ (back where it was)
                 └── reject / cancel / expire ──▶ rejected, cancelled, expired

``pending`` and ``approved`` are *open*. A reviewer's approval is a ``review``: it stays where the
count of approvals puts it, and when that count reaches the quorum an ``approve`` follows. The
store (:mod:`mlflow_registry_ext.approvals.service`) makes each step happen once with a
conditional update of the request's row; this module says which steps exist and what each
records.

Example:
    >>> from mlflow_registry_ext.entities import ApprovalRequest
    >>> request = ApprovalRequest(id="r1", model="fraud-model", version="2", target_kind="alias",
    ...     target="production", action="promote", status="pending", requester="erin",
    ...     created_at_ms=0, updated_at_ms=0)
    >>> step = transition(request, "cancel", recorded={"rule": "models[0]"}, comment="not needed")
    >>> step.status, step.draft.action, step.draft.before, step.draft.after
    ('cancelled', 'approval_request.cancelled', {'status': 'pending'}, {'status': 'cancelled'})
    >>> transition(dataclasses.replace(request, status="rejected"), "approve", recorded={})
    Traceback (most recent call last):
        ...
    mlflow_registry_ext.errors.InvalidInput: Approval request r1 is rejected; it cannot be approved
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.entities import OPEN_STATUSES, REQUEST_STATUSES, ApprovalRequest
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.events.payloads import ApprovalRequestPayload

__all__ = [
    "PENDING", "APPROVED", "APPLIED", "REJECTED", "CANCELLED", "EXPIRED", "OPEN_STATUSES",
    "Move", "TRANSITIONS", "Step", "transition", "require_open", "status_for_count", "draft_base", "target_fields",
]

PENDING, APPROVED, APPLIED = "pending", "approved", "applied"
REJECTED, CANCELLED, EXPIRED = "rejected", "cancelled", "expired"


@dataclasses.dataclass(frozen=True)
class Move:
    """One row of the transition table.

    Attributes:
        event: What happens to the request.
        sources: The states it may happen in.
        target: The state it leads to; ``None``: where the step says (``review``: where the
            count puts it) or, without one, the state it was in.
        action: The audit action it records; ``None``: the registry change it is part of records
            it (``apply``), or nothing is recorded (``release`` undoes a failed ``apply``).
        wanted: How an error names the step: "it cannot be <wanted>".
        records_before: Whether the entry's ``before`` holds the state it left.
    """

    event: str
    sources: tuple[str, ...]
    target: str | None
    action: str | None
    wanted: str
    records_before: bool = True


TRANSITIONS: dict[str, Move] = {
    move.event: move
    for move in (
        Move("review", OPEN_STATUSES, None, "approval_request.reviewed", "approved"),
        Move("approve", (PENDING,), APPROVED, "approval_request.approved", "approved"),
        Move("reopen", (APPROVED,), PENDING, "approval_request.reopened", "reopened"),
        Move("reject", OPEN_STATUSES, REJECTED, "approval_request.rejected", "rejected"),
        Move("cancel", OPEN_STATUSES, CANCELLED, "approval_request.cancelled", "cancelled"),
        Move("expire", OPEN_STATUSES, EXPIRED, "approval_request.expired", "expired"),
        Move("comment", REQUEST_STATUSES, None, "approval_request.commented", "commented",
             records_before=False),
        Move("apply", OPEN_STATUSES, APPLIED, None, "applied"),
        Move("release", (APPLIED,), None, None, "released"),
    )
}


@dataclasses.dataclass(frozen=True)
class Step:
    """Where a transition leads, and the audit draft recording it (``None`` when it records none)."""

    status: str
    draft: AuditDraft | None


def transition(
    request: ApprovalRequest,
    event: str,
    *,
    recorded: dict[str, Any],
    to: str | None = None,
    after: dict[str, Any] | None = None,
    **details: Any,
) -> Step:
    """Take ``event`` on ``request``.

    Args:
        request: The request as it is now.
        event: A key of :data:`TRANSITIONS`.
        recorded: What every entry about the request records of its rule (``rule``,
            ``policy_digest``, ``request_action``).
        to: Where a step without a fixed target leads (a ``review``: where the count puts it).
        after: What the step changed besides the state (a review's ``decision`` and ``reviewer``).
        details: Anything else the entry records (``comment``, ``reason``, ``approvals``, ...).

    Raises:
        InvalidInput: The request is in a state ``event`` cannot leave from.
    """
    move = TRANSITIONS[event]
    if request.status not in move.sources:
        raise InvalidInput(_refusal(request, request.status, move.wanted))
    status = to or move.target or request.status
    if to is not None and move.target is not None and to != move.target:
        raise ValueError(f"{event} leads to {move.target}, not {to}")
    if move.action is None:
        return Step(status, None)
    before = {"status": request.status} if move.records_before else {}
    return Step(status, _entry(draft_base(request, recorded), move.action, before=before,
                               after={"status": status, **(after or {})}, **details))


def require_open(request: ApprovalRequest, wanted: str, *, now: int | None = None) -> None:
    """Refuse a decision on a request that is closed, or open but past its deadline at ``now``."""
    due = now is not None and request.expires_at_ms is not None and request.expires_at_ms <= now
    if request.is_open and not due:
        return
    raise InvalidInput(_refusal(request, EXPIRED if request.is_open else request.status, wanted))


def status_for_count(counted) -> str:
    """``approved`` once the counted approvals reach a quorum of at least one, else ``pending``."""
    reached = counted.required > 0 and counted.counted >= counted.required
    return APPROVED if reached else PENDING


def _refusal(request: ApprovalRequest, status: str, wanted: str) -> str:
    why = f" ({request.closed_reason})" if request.closed_reason else ""
    return f"Approval request {request.id} is {status}{why}; it cannot be {wanted}"


def target_fields(kind: str, target: str) -> dict[str, str]:
    """How an entry names a request's target: ``{"alias": target}`` or ``{"stage": target}``."""
    return {"alias": target} if kind == "alias" else {"stage": target}


def draft_base(request: ApprovalRequest, recorded: dict[str, Any]) -> AuditDraft:
    """What every entry about ``request`` records; each step adds its own."""
    return AuditDraft(
        action="",
        model=request.model,
        version=request.version,
        alias=request.alias,
        details={"request_id": request.id, **target_fields(request.target_kind, request.target), **recorded},
        payload=ApprovalRequestPayload(
            request_id=request.id,
            name=request.model,
            version=None if request.version is None else str(request.version),
            alias=request.alias,
            stage=request.target if request.target_kind == "stage" else None,
            details=recorded,
        ),
    )


#: Keys of an entry's before/after/details that the payload holds as fields of its own.
_PAYLOAD_FIELDS = ("request_id", "id", "alias", "stage", "status", "comment")


def _entry(base: AuditDraft, action: str, *, before: dict, after: dict, **details: Any) -> AuditDraft:
    comment = after.get("comment") if after.get("comment") is not None else details.get("comment")
    own = {k: v for k, v in {**details, **after}.items() if k not in _PAYLOAD_FIELDS}
    payload = dataclasses.replace(
        base.payload,
        status=after.get("status"),
        previous_status=before.get("status"),
        comment=comment,
        details={**base.payload.details, **own},
    )
    return dataclasses.replace(
        base, action=action, before=before, after=after, details={**base.details, **details}, payload=payload
    )
