"""Appending to, reading and checking the audit log (the chain check itself is in :mod:`.verify`).

:func:`append` runs inside the caller's transaction, so an entry is committed together with the
change it records (or not at all). The chain head row serialises writers, so concurrent
transactions on any engine queue there and can never fork the chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from typing import Iterator

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError as SAIntegrityError

from mlflow_registry_ext import identity
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.audit.chain import (
    GENESIS_HASH,
    VerifyResult,
    decode_body,
    encode_entry,
    encode_entry_suffix,
    link_prefix,
)
from mlflow_registry_ext.db.scope import current_workspace, in_workspace
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.audit import chain_sql
from mlflow_registry_ext.audit.verify import verify, verify_with_tree
from mlflow_registry_ext.entities import AliasHistoryItem, AuditEntry
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.events.payloads import AuditVerificationFailedPayload
from mlflow_registry_ext.audit.outbox import enqueue
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "AuditDraft",
    "AuditQuery",
    "append",
    "query",
    "verify",
    "verify_with_tree",
    "verify_and_record",
    "alias_history",
    "parse_time",
]


_SELECT_HEAD = (
    select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
)
_UPDATE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
_INSERT = audit_log.insert()
_ROW_KEYS = ("seq", "entry_id", "timestamp_ms", "actor", "action", "model", "version", "alias",
             "body", "hash", "workspace")


def append(
    conn: Connection,
    drafts: list[AuditDraft],
    *,
    who: identity.RequestIdentity | None = None,
    timestamp_ms: int | None = None,
    entry_ids: list[str] | None = None,
) -> list[AuditEntry]:
    """Chain ``drafts`` onto the log inside the transaction of ``conn``.

    The actor, request id and client address come from :mod:`mlflow_registry_ext.identity`
    unless ``who`` gives them (entries relayed after the fact keep their original actor, time
    and ids).
    The head row is read ``FOR UPDATE`` (PostgreSQL, MySQL), so concurrent writers queue on it
    and each links to the one before. SQLite has no row locks and needs none: the registry change
    (or our ``BEGIN IMMEDIATE``) already holds the database's single write lock.

    Returns the chained entries in the order of ``drafts``; the outbox queues each entry's event
    with its draft's ``payload``.
    """
    if not drafts:
        return []
    who = who or identity.current()
    now = timestamp_ms if timestamp_ms is not None else utc_now_ms()
    fast = chain_sql.for_connection(conn)
    if fast and fast.appends_in_one and len(drafts) == 1:
        appended = _append_one(conn, fast, drafts[0], who, now, entry_ids[0] if entry_ids else None)
        if appended is _FALLBACK:
            fast = chain_sql.for_connection(conn) or fast
        elif appended is not None:
            entries, active_webhooks = appended
            if active_webhooks != 0:
                enqueue(conn, entries, [drafts[0].payload])
            return entries
        # The head row is missing: rebuilt below, then the entry is chained the general way.
    seq, prev_hash, active_webhooks = _read_head(conn, fast)
    rows, entries, seq, prev_hash = _chain(drafts, seq, prev_hash, who, now, entry_ids)
    try:
        _write(conn, fast, rows, seq, prev_hash)
    except SAIntegrityError:
        # A row sits where the head says the next entry goes (written around the chain). SQLite
        # and MySQL undo only the failed statement, so the write goes on above it; verify
        # reports the tampering. PostgreSQL aborts the transaction: the error stands there
        # until ``audit verify`` records the failure, which moves the head past such rows.
        if conn.dialect.name == "postgresql":
            raise
        _repair_head(conn)
        seq, prev_hash, active_webhooks = _read_head(conn, fast)
        rows, entries, seq, prev_hash = _chain(drafts, seq, prev_hash, who, now, entry_ids)
        _write(conn, fast, rows, seq, prev_hash)
    if active_webhooks != 0:
        enqueue(conn, entries, [d.payload for d in drafts])
    return entries


def _read_head(conn: Connection, fast) -> tuple[int, str, int | None]:
    if fast:
        with fast.cursor(conn) as cursor:
            found = fast.head(cursor)
    else:
        row = conn.execute(_SELECT_HEAD).first()
        found = None if row is None else (row[0], row[1], None)
    if found is None:
        # The head row was deleted: rebuild it from the highest entry so writes go on.
        _repair_head(conn)
        return _read_head(conn, fast)
    return found


def _entry_fields(draft: AuditDraft, who, now: int, entry_id: str, caller_workspace: str | None) -> dict:
    """An entry's fields apart from its place in the chain (``seq``, ``prev_hash``)."""
    return dict(
        timestamp_ms=now,
        action=draft.action,
        actor=who.actor,
        model=draft.model,
        version=None if draft.version is None else str(draft.version),
        alias=draft.alias,
        before=draft.before,
        after=draft.after,
        details=draft.details,
        entry_id=entry_id,
        request_id=who.request_id,
        client_addr=who.client_addr,
        actor_source=who.source,
        workspace=draft.workspace or caller_workspace,
    )


_FALLBACK = object()


def _append_one(conn: Connection, fast, draft: AuditDraft, who, now: int, entry_id: str | None):
    """Chain one entry with one call (PostgreSQL, MySQL): ``([entry], active webhook count)``;
    None when the head row is missing; ``_FALLBACK`` when the routine failed and the entry must
    be chained with plain statements."""
    fields = _entry_fields(draft, who, now, entry_id or uuid.uuid4().hex, current_workspace())
    suffix = encode_entry_suffix(**fields)
    row = (fields["entry_id"], now, who.actor, draft.action, draft.model, fields["version"], draft.alias,
           fields["workspace"])
    try:
        with fast.cursor(conn) as cursor:
            found = fast.append_one(cursor, suffix, row)
    except DBAPIError as exc:
        if not isinstance(exc, SAIntegrityError):
            if not fast.uses_routine:
                raise
            # The routine was dropped or changed since it was checked: later writes chain with
            # plain statements.
            chain_sql.routine_failed(conn)
        # (An integrity error: a row sits where the head says the next entry goes; the general
        # path repairs the head.) MySQL undid only the failed call, so this write goes on the
        # general path; PostgreSQL aborted the transaction, so this one write fails.
        if conn.dialect.name == "postgresql":
            raise
        return _FALLBACK
    if found is None:
        return None
    seq, digest, prev_hash, active = found
    expected = hashlib.sha256((link_prefix(prev_hash, seq) + suffix).encode()).hexdigest()
    if digest != expected:
        # Never commit an entry whose stored hash is not the canonical one.
        raise RuntimeError(f"audit entry {seq}: the database hashed it to {digest}, expected {expected}")
    return [AuditEntry(seq=seq, prev_hash=prev_hash, hash=digest, **fields)], active


def _chain(drafts, seq, prev_hash, who, now, entry_ids):
    rows, entries = [], []
    caller_workspace = current_workspace()
    for index, draft in enumerate(drafts):
        seq += 1
        fields = _entry_fields(draft, who, now, entry_ids[index] if entry_ids else uuid.uuid4().hex,
                               caller_workspace)
        fields.update(seq=seq, prev_hash=prev_hash)
        body, digest = encode_entry(**fields)
        rows.append(
            (seq, fields["entry_id"], now, who.actor, draft.action, draft.model, fields["version"], draft.alias,
             body, digest, fields["workspace"])
        )
        entries.append(AuditEntry(hash=digest, **fields))
        prev_hash = digest
    return rows, entries, seq, prev_hash


def _write(conn: Connection, fast, rows, seq: int, prev_hash: str) -> None:
    if fast:
        with fast.cursor(conn) as cursor:
            fast.write(cursor, rows, seq, prev_hash)
    else:
        conn.execute(_INSERT, [dict(zip(_ROW_KEYS, row)) for row in rows])
        conn.execute(_UPDATE_HEAD, {"head_seq": seq, "head_hash": prev_hash})


def _entry_from_body(body: str, digest: str) -> AuditEntry:
    return AuditEntry.from_dict({**decode_body(body), "hash": digest})


def _scoped(rows, workspace: str) -> list[AuditEntry]:
    """Entries of ``rows`` (body, hash) whose hashed body names ``workspace``.

    The column selects the rows; the body decides, so a row whose column was edited to show it
    in another workspace is not shown there (and ``audit verify`` reports the edit).
    """
    entries = (_entry_from_body(body, digest) for body, digest in rows)
    return [e for e in entries if e.workspace == workspace]


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
    #: Default: the caller's workspace (a streamed export fixes it when the stream starts).
    workspace: str | None = None


def query(engine: Engine, q: AuditQuery) -> list[AuditEntry]:
    """Entries of the caller's workspace matching ``q``, oldest first. Content always comes
    from the hashed body."""
    if q.limit is not None and q.limit <= 0:
        raise InvalidInput(f"limit must be positive, got {q.limit}")
    workspace = q.workspace or current_workspace()
    conds = [in_workspace(audit_log, workspace)]
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
    stmt = select(audit_log.c.body, audit_log.c.hash).where(and_(*conds)).order_by(audit_log.c.seq)
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    with engine.connect() as conn:
        return _scoped(conn.execute(stmt), workspace)


def iter_all(engine: Engine, batch: int = 5000) -> Iterator[AuditEntry]:
    """Every entry of the caller's workspace, oldest first, read in batches (for export)."""
    after = 0
    while True:
        page = query(engine, AuditQuery(after_seq=after, limit=batch))
        if not page:
            return
        yield from page
        after = page[-1].seq


def verify_and_record(db, checkpoint_notes: list[str] | None = None, verifier=None,
                      full: bool = False) -> VerifyResult:
    """:func:`verify` the chain of ``db`` (a ``GovernanceDatabase``), and against
    ``checkpoint_notes`` held elsewhere when given; a failure is itself recorded as an
    ``audit.verification_failed`` entry, so webhooks tell someone at once."""
    if checkpoint_notes is not None:
        from mlflow_registry_ext.audit.held_checkpoints import verify_with_checkpoints

        result = verify_with_checkpoints(db, checkpoint_notes, verifier, full=full)
    else:
        with db.reading() as engine:
            result = verify(engine)
    if not result.ok:
        record_failure(db, result)
    return result


def record_failure(db, result: VerifyResult) -> None:
    """Record ``audit.verification_failed`` above whatever rows are there.

    Tampered rows may sit where the head says the next entry goes (a row inserted at head + 1)
    or the head row may be gone; the head is first moved past the highest stored entry, so the
    record never collides with them and registry writes go on after it.
    """
    draft = AuditDraft(
        action="audit.verification_failed",
        details={"first_bad_seq": result.first_bad_seq, "reason": result.reason,
                 "checked": result.checked, "kind": result.kind},
        payload=AuditVerificationFailedPayload(first_bad_seq=result.first_bad_seq, reason=result.reason,
                                               checked=result.checked, details={"kind": result.kind}),
    )
    with db.transaction() as conn:
        _repair_head(conn)
        append(conn, [draft])


def _repair_head(conn: Connection) -> None:
    """Point the head at the highest stored entry when it is missing or below it."""
    head = conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).first()
    top = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, digest = (top.seq, top.hash) if top is not None else (0, GENESIS_HASH)
    if head is None:
        conn.execute(audit_head.insert().values(id=1, seq=seq, hash=digest))
    elif top is not None and top.seq > head.seq:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=digest))


def alias_history(
    engine: Engine,
    model: str,
    alias: str,
    at_ms: int | None = None,
    *,
    incarnation_ms: int | None = None,
) -> list[AliasHistoryItem]:
    """Where ``alias`` of ``model`` pointed over time (or at ``at_ms`` only), and who moved it,
    in the caller's workspace.

    A model renamed later keeps its earlier entries under the old name; entries of the registered
    model's deletion end the alias too. With ``incarnation_ms`` (the live model's
    ``creation_timestamp``) only the history of that incarnation is returned: nothing from
    before the last deletion of a model of this name, nor from before it was created.
    """
    workspace = current_workspace()
    actions = (
        "model_version_alias.created",
        "model_version_alias.deleted",
    )
    conds = [
        in_workspace(audit_log, workspace),
        audit_log.c.model == model,
        audit_log.c.alias == alias,
        audit_log.c.action.in_(actions),
    ]
    with engine.connect() as conn:
        if incarnation_ms is not None:
            ended = conn.execute(
                select(func.max(audit_log.c.seq)).where(
                    in_workspace(audit_log, workspace),
                    audit_log.c.model == model,
                    audit_log.c.action == "registered_model.deleted",
                )
            ).scalar()
            if ended is not None:
                conds.append(audit_log.c.seq > ended)
            conds.append(audit_log.c.timestamp_ms >= incarnation_ms)
        stmt = select(audit_log.c.body, audit_log.c.hash).where(*conds).order_by(audit_log.c.seq)
        entries = _scoped(conn.execute(stmt), workspace)
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
