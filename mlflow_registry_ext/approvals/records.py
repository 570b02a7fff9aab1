"""Rows of the approval tables and the entities they make, inside the caller's transaction.

Example:
    >>> request = store.approvals.create("fraud-model", "1", alias="production")
    >>> with db.transaction() as conn:
    ...     row = lock_request(conn, request.id)          # SELECT ... FOR UPDATE
    ...     upsert_decision(conn, request.id, "bob", "approve", 1769817600000, "LGTM", None, None)
    >>> row["status"]
    'pending'
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from mlflow_registry_ext.db.scope import in_workspace
from mlflow_registry_ext.entities import ApprovalComment, ApprovalRequest, ReviewDecision
from mlflow_registry_ext.errors import NotFound
from mlflow_registry_ext.approvals.tables import comments_table, decisions_table, requests_table

__all__ = [
    "request_from_row",
    "lock_request",
    "load_request",
    "load_decisions",
    "upsert_decision",
    "add_note",
    "open_request_id",
]

_COLUMNS = (
    "id", "model", "version", "target_kind", "target", "action", "status", "requester", "created_at_ms",
    "updated_at_ms", "version_creator", "expires_at_ms", "rule", "policy_digest", "artifact_digest",
    "from_version", "required", "approvals", "applied_at_ms", "applied_by", "closed_reason",
    "version_created_ms", "model_created_ms", "workspace",
)


def request_from_row(
    row: Mapping[str, Any],
    decisions: tuple[ReviewDecision, ...] = (),
    comments: tuple[ApprovalComment, ...] = (),
) -> ApprovalRequest:
    """The entity of a ``gov_approval_requests`` row, with the decisions and timeline given."""
    return ApprovalRequest(**{c: row[c] for c in _COLUMNS}, decisions=decisions, comments=comments)


def _missing(request_id: str) -> NotFound:
    return NotFound(f"No approval request with id {request_id!r}")


def lock_request(conn: Connection, request_id: str) -> Mapping[str, Any]:
    """The request's row, locked until the transaction ends (SQLite: already locked at BEGIN).

    Raises:
        NotFound: No such request in the caller's workspace.
    """
    row = conn.execute(
        select(requests_table)
        .where(requests_table.c.id == request_id, in_workspace(requests_table))
        .with_for_update()
    ).mappings().first()
    if row is None:
        raise _missing(request_id)
    return row


def load_request(conn: Connection, request_id: str) -> ApprovalRequest:
    """The request with its decisions and timeline.

    Raises:
        NotFound: No such request in the caller's workspace (another workspace's requests do
            not exist for it).
    """
    row = conn.execute(
        select(requests_table).where(requests_table.c.id == request_id, in_workspace(requests_table))
    ).mappings().first()
    if row is None:
        raise _missing(request_id)
    c = comments_table
    notes = conn.execute(
        select(c.c.author, c.c.kind, c.c.text, c.c.created_at_ms)
        .where(c.c.request_id == request_id)
        .order_by(c.c.seq)
    ).all()
    decisions = load_decisions(conn, [request_id]).get(request_id, ())
    return request_from_row(row, decisions, tuple(ApprovalComment(*n) for n in notes))


def load_decisions(conn: Connection, ids: list[str]) -> dict[str, tuple[ReviewDecision, ...]]:
    """The standing decisions of each request in ``ids``, oldest first."""
    if not ids:
        return {}
    d = decisions_table
    rows = conn.execute(
        select(d).where(d.c.request_id.in_(ids)).order_by(d.c.decided_at_ms, d.c.reviewer)
    ).mappings()
    found: dict[str, list[ReviewDecision]] = {}
    for r in rows:
        found.setdefault(r["request_id"], []).append(
            ReviewDecision(
                reviewer=r["reviewer"],
                decision=r["decision"],
                decided_at_ms=r["decided_at_ms"],
                comment=r["comment"],
                artifact_digest=r["artifact_digest"],
                bound_state_hash=r["bound_state_hash"],
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def upsert_decision(
    conn: Connection,
    request_id: str,
    reviewer: str,
    decision: str,
    now_ms: int,
    comment: str | None,
    digest: str | None,
    bound: str | None,
) -> None:
    """Record ``reviewer``'s decision, replacing their earlier one on the same request."""
    d = decisions_table
    values = {
        "decision": decision,
        "decided_at_ms": now_ms,
        "comment": comment,
        "artifact_digest": digest,
        "bound_state_hash": bound,
    }
    # The caller holds the request's row lock, so one reviewer's decisions never race here; the
    # primary key (request, reviewer) stays the backstop.
    mine = (d.c.request_id == request_id, d.c.reviewer == reviewer)
    result = conn.execute(update(d).where(*mine).values(**values))
    if result.rowcount == 0:
        conn.execute(d.insert().values(request_id=request_id, reviewer=reviewer, **values))


def add_note(conn: Connection, request_id: str, author: str, kind: str, text: str, now_ms: int) -> None:
    """Append a line to the request's timeline."""
    conn.execute(
        comments_table.insert().values(
            request_id=request_id, author=author, kind=kind, text=text, created_at_ms=now_ms
        )
    )


def open_request_id(conn: Connection, key: str) -> str | None:
    """The id of the open request with ``open_key`` ``key``, if any."""
    t = requests_table
    return conn.execute(select(t.c.id).where(t.c.open_key == key)).scalar()
