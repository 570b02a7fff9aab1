"""Appending to, reading and checking the audit log.

:func:`append` runs inside the caller's transaction, so an entry is committed together with the
change it records (or not at all). The chain head row serialises writers, so concurrent
transactions on any engine queue there and can never fork the chain.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import multiprocessing
import os
import threading
import uuid
from typing import Any, Iterator

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from mlflow_registry_ext import identity
from mlflow_registry_ext.audit.chain import (
    GENESIS_HASH,
    VerifyResult,
    decode_body,
    encode_entry,
    verify_rows,
)
from mlflow_registry_ext.db.scope import current_workspace, in_workspace
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.governance import chain_sql
from mlflow_registry_ext.entities import AliasHistoryItem, AuditEntry
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.webhooks.outbox import enqueue
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "AuditDraft",
    "AuditQuery",
    "append",
    "query",
    "verify",
    "verify_and_record",
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
    #: The workspace the entry belongs to; ``None``: the workspace of the call appending it.
    workspace: str | None = None


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
    """
    if not drafts:
        return []
    who = who or identity.current()
    now = timestamp_ms if timestamp_ms is not None else utc_now_ms()
    fast = chain_sql.for_connection(conn)
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
        enqueue(conn, entries)
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


def _chain(drafts, seq, prev_hash, who, now, entry_ids):
    rows, entries = [], []
    caller_workspace = current_workspace()
    for index, draft in enumerate(drafts):
        seq += 1
        entry_id = entry_ids[index] if entry_ids else uuid.uuid4().hex
        version = None if draft.version is None else str(draft.version)
        fields = dict(
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
            actor_source=who.source,
            workspace=draft.workspace or caller_workspace,
        )
        body, digest = encode_entry(**fields)
        rows.append(
            (seq, entry_id, now, who.actor, draft.action, draft.model, version, draft.alias,
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


_VERIFY_SQL = (
    "SELECT seq, timestamp_ms, action, actor, model, version, alias, body, hash "
    "FROM gov_audit_log WHERE seq >= {start} AND seq <= {end} ORDER BY seq"
)
_BATCH = 20000
# Below this many entries one process is faster than starting helpers.
_PARALLEL_THRESHOLD = 100_000


def _verify_range(engine: Engine, start: int, end: int) -> VerifyResult:
    """Check entries ``start..end`` against the stored hash of entry ``start - 1``."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        prev_hash = GENESIS_HASH
        if start > 1:
            cursor.execute(f"SELECT hash FROM gov_audit_log WHERE seq = {int(start) - 1}")
            found = cursor.fetchone()
            if found is None:
                return VerifyResult(False, 0, start - 1, f"entry {start - 1} is missing", start - 2,
                                    kind="deleted")
            prev_hash = found[0]
        result = VerifyResult(True, 0, head_seq=start - 1, head_hash=prev_hash)
        checked = 0
        lo = start
        # Integers only are formatted into the SQL; batches keep memory flat on long chains.
        while lo <= end:
            hi = min(lo + _BATCH - 1, end)
            cursor.execute(_VERIFY_SQL.format(start=int(lo), end=int(hi)))
            rows = cursor.fetchall()
            part = verify_rows(rows, start_seq=lo, prev_hash=result.head_hash)
            checked += part.checked
            if not part.ok or part.head_seq != hi:
                if part.ok:
                    part = VerifyResult(
                        False, part.checked, part.head_seq + 1,
                        f"entries {part.head_seq + 1}..{hi} are missing", part.head_seq,
                        part.head_hash, "deleted",
                    )
                return dataclasses.replace(part, checked=checked)
            result = dataclasses.replace(part, checked=checked)
            lo = hi + 1
        return result
    finally:
        raw.close()


def _verify_range_in_child(url: str, start: int, end: int) -> dict:
    from mlflow_registry_ext.db.engine import get_engine

    return _verify_range(get_engine(url, for_reads=True), start, end).to_dict()


def verify(engine: Engine, workers: int | None = None) -> VerifyResult:
    """Check the whole chain, and that the head row agrees with its last entry.

    Long chains are checked in ranges by several processes when this process may fork (it runs
    no other threads); each range links to the stored hash before it, so the result is the
    same as one pass.
    """
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).first()
        max_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    head_seq, head_hash = head if head is not None else (max_seq, None)
    end = max(head_seq, max_seq)
    workers = workers or _default_workers(end)
    if workers > 1:
        result = _verify_parallel(engine, end, workers)
    else:
        result = _verify_range(engine, 1, end) if end else VerifyResult(True, 0)
    if not result.ok:
        return result
    return _check_head(result, head, max_seq)


def verify_head(engine: Engine, result: VerifyResult) -> VerifyResult:
    """``result`` (an intact check up to the last entry) failed when the head row disagrees."""
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).first()
        max_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    return _check_head(result, head, max_seq)


def _check_head(result: VerifyResult, head, max_seq: int) -> VerifyResult:
    if head is None:
        return dataclasses.replace(
            result, ok=False, first_bad_seq=max_seq, kind="deleted",
            reason="the chain head row was deleted",
        )
    head_seq, head_hash = head
    if max_seq > head_seq:
        return dataclasses.replace(
            result, ok=False, first_bad_seq=head_seq + 1, kind="inserted",
            reason=f"entries after {head_seq} were added outside the chain head",
        )
    if result.head_hash != head_hash:
        return dataclasses.replace(
            result, ok=False, first_bad_seq=head_seq, kind="edited",
            reason=f"the chain head does not match entry {head_seq}",
        )
    return result


def _default_workers(entries: int) -> int:
    if entries < _PARALLEL_THRESHOLD or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _verify_parallel(engine: Engine, end: int, workers: int) -> VerifyResult:
    url = engine.url.render_as_string(hide_password=False)
    step = -(-end // workers)
    ranges = [(lo, min(lo + step - 1, end)) for lo in range(1, end + 1, step)]
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(len(ranges), mp_context=ctx) as pool:
        parts = [VerifyResult(**r) for r in pool.map(_verify_range_in_child, [url] * len(ranges),
                                                     *zip(*ranges))]
    checked = 0
    for part in parts:
        checked += part.checked
        if not part.ok:
            return dataclasses.replace(part, checked=checked)
    return dataclasses.replace(parts[-1], checked=checked)


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
