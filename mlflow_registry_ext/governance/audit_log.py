"""Appending to, reading and checking the audit log.

:func:`append` runs inside the caller's transaction, so an entry is committed together with the
change it records (or not at all). The chain head row serialises writers: the first statement
takes its lock (``UPDATE ... SET seq = seq + 1``), so concurrent transactions on any engine queue
there and can never fork the chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from typing import Any, Iterator

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection, Engine

from mlflow_registry_ext import identity
from mlflow_registry_ext.audit.chain import VerifyResult, decode_body, encode_entry, verify_rows
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.entities import AliasHistoryItem, AuditEntry
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.webhooks.outbox import enqueue

__all__ = [
    "AuditDraft",
    "AuditQuery",
    "append",
    "query",
    "verify",
    "alias_history",
    "parse_time",
]


@dataclasses.dataclass(frozen=True)
class AuditDraft:
    """An entry before it is chained: what happened to which target, before and after."""

    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def append(conn: Connection, drafts: list[AuditDraft]) -> list[AuditEntry]:
    """Chain ``drafts`` onto the log inside the transaction of ``conn``.

    The actor, request id and client address come from :mod:`mlflow_registry_ext.identity`.
    """
    if not drafts:
        return []
    who = identity.current()
    now = int(time.time() * 1000)
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq + len(drafts)))
    last_seq, prev_hash = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    ).one()
    seq = last_seq - len(drafts)
    rows, entries = [], []
    for draft in drafts:
        seq += 1
        entry_id = uuid.uuid4().hex
        version = None if draft.version is None else str(draft.version)
        body, digest = encode_entry(
            seq=seq,
            prev_hash=prev_hash,
            timestamp_ms=now,
            action=draft.action,
            actor=who.actor,
            model=draft.model,
            version=version,
            alias=draft.alias,
            before=draft.before,
            after=draft.after,
            details=draft.details,
            entry_id=entry_id,
            request_id=who.request_id,
            client_addr=who.client_addr,
        )
        rows.append(
            {
                "seq": seq,
                "entry_id": entry_id,
                "timestamp_ms": now,
                "actor": who.actor,
                "action": draft.action,
                "model": draft.model,
                "version": version,
                "alias": draft.alias,
                "body": body,
                "hash": digest,
            }
        )
        entries.append(_entry_from_body(body, digest))
        prev_hash = digest
    conn.execute(audit_log.insert(), rows)
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=prev_hash))
    enqueue(conn, entries)
    return entries


def _entry_from_body(body: str, digest: str) -> AuditEntry:
    return AuditEntry.from_dict({**decode_body(body), "hash": digest})


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    """Filters for :func:`query`; every field is optional."""

    model: str | None = None
    version: str | None = None
    alias: str | None = None
    actor: str | None = None
    action: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    after_seq: int | None = None
    limit: int | None = 1000


def query(engine: Engine, q: AuditQuery) -> list[AuditEntry]:
    """Entries matching ``q``, oldest first. Content always comes from the hashed body."""
    if q.limit is not None and q.limit <= 0:
        raise InvalidInput(f"limit must be positive, got {q.limit}")
    conds = []
    for column, value in (
        (audit_log.c.model, q.model),
        (audit_log.c.version, None if q.version is None else str(q.version)),
        (audit_log.c.alias, q.alias),
        (audit_log.c.actor, q.actor),
        (audit_log.c.action, q.action),
    ):
        if value is not None:
            conds.append(column == value)
    if q.since_ms is not None:
        conds.append(audit_log.c.timestamp_ms >= q.since_ms)
    if q.until_ms is not None:
        conds.append(audit_log.c.timestamp_ms <= q.until_ms)
    if q.after_seq is not None:
        conds.append(audit_log.c.seq > q.after_seq)
    stmt = select(audit_log.c.body, audit_log.c.hash).order_by(audit_log.c.seq)
    if conds:
        stmt = stmt.where(and_(*conds))
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    with engine.connect() as conn:
        return [_entry_from_body(body, digest) for body, digest in conn.execute(stmt)]


def iter_all(engine: Engine, batch: int = 5000) -> Iterator[AuditEntry]:
    """Every entry, oldest first, read in batches (for export)."""
    after = 0
    while True:
        page = query(engine, AuditQuery(after_seq=after, limit=batch))
        if not page:
            return
        yield from page
        after = page[-1].seq


def verify(engine: Engine, batch: int = 20000) -> VerifyResult:
    """Check the whole chain, and that the head row agrees with its last entry."""
    cols = [
        audit_log.c.seq,
        audit_log.c.timestamp_ms,
        audit_log.c.action,
        audit_log.c.actor,
        audit_log.c.model,
        audit_log.c.version,
        audit_log.c.alias,
        audit_log.c.body,
        audit_log.c.hash,
    ]
    with engine.connect() as conn:
        head_seq, head_hash = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).one()
        result = VerifyResult(True, 0)
        checked = 0
        last_seq = 0
        # Keyset pagination keeps memory flat on long chains.
        while True:
            rows = conn.execute(
                select(*cols).where(audit_log.c.seq > last_seq).order_by(audit_log.c.seq).limit(batch)
            ).all()
            if not rows:
                break
            part = verify_rows(rows, start_seq=last_seq + 1, prev_hash=result.head_hash)
            checked += part.checked
            result = dataclasses.replace(part, checked=checked)
            if not part.ok:
                return result
            last_seq = rows[-1][0]
    if result.head_seq != head_seq or result.head_hash != head_hash:
        if result.head_seq < head_seq:
            reason = f"entries {result.head_seq + 1}..{head_seq} are missing"
        else:
            reason = f"the chain head (entry {head_seq}) does not match the last entry"
        return dataclasses.replace(
            result, ok=False, first_bad_seq=result.head_seq + 1 if result.head_seq < head_seq else head_seq, reason=reason
        )
    return result


def alias_history(
    engine: Engine, model: str, alias: str, at_ms: int | None = None
) -> list[AliasHistoryItem]:
    """Where ``alias`` of ``model`` pointed over time (or at ``at_ms`` only), and who moved it.

    A model renamed later keeps its earlier entries under the old name; entries of the registered
    model's deletion end the alias too.
    """
    actions = (
        "model_version_alias.created",
        "model_version_alias.deleted",
    )
    stmt = (
        select(audit_log.c.body, audit_log.c.hash)
        .where(
            audit_log.c.model == model,
            audit_log.c.alias == alias,
            audit_log.c.action.in_(actions),
        )
        .order_by(audit_log.c.seq)
    )
    with engine.connect() as conn:
        entries = [_entry_from_body(b, h) for b, h in conn.execute(stmt)]
    items = [
        AliasHistoryItem(
            model=model,
            alias=alias,
            version=e.after.get("version") if e.action.endswith(".created") else None,
            since_ms=e.timestamp_ms,
            actor=e.actor,
            seq=e.seq,
            action=e.action,
        )
        for e in entries
    ]
    if at_ms is None:
        return items
    current = [i for i in items if i.since_ms <= at_ms]
    return current[-1:]


def parse_time(value: str | int | float | dt.datetime | None) -> int | None:
    """Milliseconds since the epoch from an ISO 8601 time, a date, or epoch milliseconds.

    Example:
        >>> parse_time("2026-01-31")
        1769817600000
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, (int, float)):
        return int(value)
    else:
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(
                f"Bad time {value!r}: use ISO 8601 (2026-01-31 or 2026-01-31T12:00:00Z) "
                "or epoch milliseconds"
            ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)
