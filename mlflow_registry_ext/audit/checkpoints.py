"""Signed checkpoints of the audit log: making them, listing them, and proofs against them.

:func:`create` signs the tree head of the log as it is (a C2SP checkpoint, Ed25519 key of
``MLFLOW_GOVERNANCE_LOG_KEY``), stores it with the compact range at its size (so the next one
costs only the entries since), records it as the entry ``audit.checkpoint`` (so webhook
subscribers get it, with the consistency proof from the previous checkpoint) and hands it to
every witness of ``MLFLOW_GOVERNANCE_AUDIT_WITNESSES``. It refuses to sign a log that no longer
extends its previous checkpoint: signing a rewritten history would launder it.

Example:
    >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    >>> record = create(db, key=Ed25519PrivateKey.generate(), origin="registry.example/log")
    >>> proof = inclusion(db, 1)
    >>> record.size, sorted(proof)       # the example log holds 4 entries
    (4, ['body', 'checkpoint', 'entry_hash', 'proof', 'seq', 'size'])
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import Any, Callable

from sqlalchemy import desc, select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from mlflow_registry_ext import keys
from mlflow_registry_ext.audit.chain import GENESIS_HASH, VERIFY_COLUMNS, verify_rows
from mlflow_registry_ext.audit.checkpoint_tables import checkpoints
from mlflow_registry_ext.audit.merkle import TILE, CompactRange
from mlflow_registry_ext.audit.note import (
    Checkpoint,
    NoteError,
    Verifier,
    format_checkpoint,
    open_checkpoint,
    sign_note,
)
from mlflow_registry_ext.audit.tree_store import StoredTree, leaves_of, store_tiles
from mlflow_registry_ext.audit.witnesses import witnesses_from_env
from mlflow_registry_ext.db.scope import current_workspace
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound
from mlflow_registry_ext.events.payloads import AuditCheckpointPayload
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["CheckpointRecord", "create", "latest", "list_checkpoints", "inclusion", "consistency",
           "log_verifier"]

_log = logging.getLogger(__name__)
_BATCH = 20000


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclasses.dataclass(frozen=True)
class CheckpointRecord:
    """A stored checkpoint.

    Attributes:
        size: Entries covered.
        root: Base64 root hash.
        note: The signed note.
        origin: The log's origin line.
        created_ms: When it was made.
        witnessed: URIs of witnesses that took it (when just made).
        created: False when nothing new was there to sign (this is the last one).
    """

    size: int
    root: str
    note: str
    origin: str
    created_ms: int
    witnessed: tuple[str, ...] = ()
    created: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def log_verifier(origin: str | None = None, public_key=None) -> Verifier:
    """The verifier of this log's checkpoints: ``public_key`` or the public half of
    ``MLFLOW_GOVERNANCE_LOG_KEY``, named by the origin."""
    if public_key is None:
        private = keys.load_log_key()
        if private is None:
            raise InvalidInput(
                f"{keys.LOG_KEY_ENV} is not set: checkpoints need the Ed25519 log key "
                "(mlflow-registry-ext keygen DIR makes one)"
            )
        public_key = private.public_key()
    return Verifier.for_key(origin or keys.log_origin(), public_key)


def _row_record(row, created: bool = False) -> CheckpointRecord:
    return CheckpointRecord(row.size, _b64(bytes.fromhex(row.root)), row.note, row.origin, row.created_ms,
                            created=created)


def latest(conn):
    return conn.execute(select(checkpoints).order_by(desc(checkpoints.c.size)).limit(1)).first()


def list_checkpoints(db, limit: int = 100, before_size: int | None = None) -> list[CheckpointRecord]:
    """The newest ``limit`` checkpoints, newest first (only those smaller than ``before_size``,
    the cursor of the next page, when given)."""
    stmt = select(checkpoints).order_by(desc(checkpoints.c.size)).limit(limit)
    if before_size is not None:
        stmt = stmt.where(checkpoints.c.size < before_size)
    with db.reading() as engine, engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [_row_record(r) for r in rows]


def create(db, *, key=None, origin: str | None = None, witnesses=None,
           now_ms: int | None = None) -> CheckpointRecord:
    """Sign and store a checkpoint of the log as it is now, and send it to the witnesses.

    Returns the previous checkpoint (``created=False``) when no entry was added since, other
    than the previous checkpoint's own entry.

    Raises:
        IntegrityError: The log no longer extends the previous checkpoint (tampered with).
        InvalidInput: No log key.
    """
    from mlflow_registry_ext.audit.draft import AuditDraft
    from mlflow_registry_ext.audit.log import append

    key = key if key is not None else keys.load_log_key()
    if key is None:
        raise InvalidInput(f"{keys.LOG_KEY_ENV} is not set: run mlflow-registry-ext keygen DIR and set it")
    origin = origin or keys.log_origin()
    verifier = Verifier.for_key(origin, key.public_key())
    now_ms = now_ms if now_ms is not None else utc_now_ms()
    try:
        with db.transaction() as conn:
            head_seq = conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar() or 0
            last = latest(conn)
            m = last.size if last else 0
            if last is not None:
                _check_previous(conn, last, verifier)
                if head_seq < m:
                    raise IntegrityError(
                        f"The audit log has {head_seq} entries but checkpoint {m} was signed: "
                        "entries were deleted; run mlflow-registry-ext audit verify")
                if head_seq == m or (head_seq == m + 1 and _action(conn, head_seq) == "audit.checkpoint"):
                    return _row_record(last)
                compact = CompactRange(m, [bytes.fromhex(p) for p in last.peaks.split(",") if p])
                prev_hash = last.head_hash
            else:
                compact, prev_hash = CompactRange(), GENESIS_HASH
            prev_hash = _extend(conn, compact, m, head_seq, prev_hash)
            root = compact.root()
            note = sign_note(format_checkpoint(Checkpoint(origin, head_seq, root)), origin, key)
            proof = StoredTree(conn, head_seq).consistency(m) if m else []
            conn.execute(checkpoints.insert().values(
                size=head_seq, root=root.hex(), head_hash=prev_hash,
                peaks=",".join(p.hex() for p in compact.peaks), origin=origin, note=note,
                created_ms=now_ms, verified_ms=None,
            ))
            payload = AuditCheckpointPayload(origin=origin, size=head_seq, root=_b64(root), note=note,
                                             previous_size=m, consistency=[_b64(p) for p in proof])
            details = {"origin": payload.origin, "size": payload.size, "root": payload.root, "note": payload.note,
                       "previous_size": payload.previous_size, "consistency": list(payload.consistency)}
            append(conn, [AuditDraft(action="audit.checkpoint", details=details, payload=payload)],
                   timestamp_ms=now_ms)
    except SQLIntegrityError:
        # Another process signed the same size first: theirs is as good.
        with db.reading() as engine, engine.connect() as conn:
            return _row_record(latest(conn))
    witnessed = _publish(note, head_seq, root, witnesses)
    return CheckpointRecord(head_seq, _b64(root), note, origin, now_ms, tuple(witnessed))


def _action(conn, seq: int) -> str | None:
    return conn.execute(select(audit_log.c.action).where(audit_log.c.seq == seq)).scalar()


def _check_previous(conn, last, verifier: Verifier) -> None:
    try:
        cp = open_checkpoint(last.note, verifier)
    except NoteError as exc:
        raise IntegrityError(f"Checkpoint {last.size} in the database is not signed by this log's key: {exc}") from exc
    peaks = [bytes.fromhex(p) for p in last.peaks.split(",") if p]
    try:
        rebuilt = CompactRange(last.size, peaks).root()
    except ValueError as exc:
        raise IntegrityError(f"Checkpoint {last.size}: its stored tree state is damaged") from exc
    if cp.size != last.size or cp.root.hex() != last.root or rebuilt != cp.root:
        raise IntegrityError(f"Checkpoint {last.size}: the stored row does not match its signed note")
    stored = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == last.size)).scalar()
    if stored != last.head_hash:
        raise IntegrityError(
            f"Entry {last.size} is not the one checkpoint {last.size} signed: the log was rewritten; "
            "run mlflow-registry-ext audit verify")


def _extend(conn, compact: CompactRange, m: int, n: int, prev_hash: str) -> str:
    """Feed entries ``m+1..n`` (chain-checked) into ``compact`` and store their complete tiles."""
    cols = [audit_log.c[c] for c in VERIFY_COLUMNS]
    lo = (m // TILE) * TILE + 1
    pending: dict[int, list[bytes]] = {}
    while lo <= n:
        hi = min(lo + _BATCH - 1, n)
        rows = conn.execute(select(*cols).where(audit_log.c.seq >= lo, audit_log.c.seq <= hi)
                            .order_by(audit_log.c.seq)).all()
        if [r[0] for r in rows] != list(range(lo, hi + 1)):
            raise IntegrityError(f"Entries between {lo} and {hi} are missing: run mlflow-registry-ext audit verify")
        new = [r for r in rows if r[0] > m]
        if new:
            result = verify_rows([tuple(r) for r in new], start_seq=new[0][0], prev_hash=prev_hash)
            if not result.ok:
                raise IntegrityError(f"Not signing a broken log: {result.reason}")
            prev_hash = result.head_hash
        leaves = leaves_of(r[-1] for r in rows)
        for (seq, *_), leaf in zip(rows, leaves):
            pending.setdefault((seq - 1) // TILE, []).append(leaf)
            if seq > m:
                compact.append(leaf)
        store_tiles(conn, n, pending)
        pending = {t: v for t, v in pending.items() if len(v) < TILE}
        lo = hi + 1
    return prev_hash


def _publish(note: str, size: int, root: bytes, witnesses) -> list[str]:
    done = []
    for witness in witnesses if witnesses is not None else witnesses_from_env():
        try:
            witness.publish(note, size, root)
            done.append(witness.uri)
        except Exception as exc:  # a witness that is down must not undo the checkpoint
            _log.warning("Witness %s did not take checkpoint %d: %s", witness.uri, size, exc)
    return done


def _checkpoint_at(conn, size: int | None):
    stmt = select(checkpoints)
    stmt = stmt.where(checkpoints.c.size == size) if size is not None else stmt.order_by(desc(checkpoints.c.size)).limit(1)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"No checkpoint of size {size}" if size is not None else
                       "No checkpoint yet: run mlflow-registry-ext audit checkpoint")
    return row


def inclusion(db, seq: int, size: int | None = None, *, workspace: str | None = None,
              may_read: Callable[[str | None], bool] | None = None) -> dict[str, Any]:
    """The inclusion proof of entry ``seq`` against the checkpoint of ``size`` (default latest),
    as a self-contained bundle :func:`mlflow_registry_ext.audit.verify_inclusion` checks.

    The tree covers every workspace's entries, but a proof carries its entry's body: only an
    entry of ``workspace`` (default: the caller's) is proven, and only if ``may_read`` allows its
    model; any other is "not in the audit log", as if it did not exist.
    """
    workspace = workspace or current_workspace()
    with db.reading() as engine, engine.connect() as conn:
        row = _checkpoint_at(conn, size)
        entry = conn.execute(select(audit_log.c.body, audit_log.c.hash, audit_log.c.model, audit_log.c.workspace)
                             .where(audit_log.c.seq == seq)).first()
        if entry is None or entry.workspace != workspace or (may_read is not None and not may_read(entry.model)):
            raise NotFound(f"Entry {seq} is not in the audit log")
        if not 1 <= seq <= row.size:
            raise InvalidInput(f"Entry {seq} is not covered by checkpoint {row.size}: make a checkpoint first "
                               "(mlflow-registry-ext audit checkpoint)")
        proof = StoredTree(conn, row.size).inclusion(seq)
    return {"seq": seq, "size": row.size, "entry_hash": entry.hash, "body": entry.body,
            "proof": [_b64(p) for p in proof], "checkpoint": row.note}


def consistency(db, old: int, new: int | None = None) -> dict[str, Any]:
    """The consistency proof between the checkpoints of sizes ``old`` and ``new`` (default latest)."""
    with db.reading() as engine, engine.connect() as conn:
        old_row = _checkpoint_at(conn, old)
        new_row = _checkpoint_at(conn, new)
        if old_row.size > new_row.size:
            raise InvalidInput(f"Checkpoint {old} is newer than {new_row.size}")
        proof = StoredTree(conn, new_row.size).consistency(old_row.size)
    return {"old": old_row.note, "new": new_row.note, "proof": [_b64(p) for p in proof]}
