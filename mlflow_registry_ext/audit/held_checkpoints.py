"""Verify the log against checkpoints held outside the database (a witness file, S3, a
webhook stream): what the chain alone cannot see.

The chain catches an entry edited, deleted, inserted or reordered in the middle; it cannot see
the last entries deleted with the head reset, everything deleted, or the whole log rewritten
with valid hashes. A signed checkpoint held elsewhere can: its size says how many entries there
were and its root what they were. For each held checkpoint (oldest first) the tree of the first
``size`` database entries must have its root.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select, update

from mlflow_registry_ext.audit.chain import VerifyResult
from mlflow_registry_ext.audit.checkpoint_tables import checkpoints
from mlflow_registry_ext.audit.merkle import CompactRange
from mlflow_registry_ext.audit.note import Checkpoint, NoteError, Verifier, open_checkpoint
from mlflow_registry_ext.audit.tree_store import leaves_of
from mlflow_registry_ext.audit.verify import _verify_range, verify_head, verify_with_tree
from mlflow_registry_ext.db.tables import audit_log
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["open_held", "verify_with_checkpoints"]

_BATCH = 50000


def open_held(notes: list[str], verifier: Verifier) -> tuple[list[tuple[Checkpoint, str]], int]:
    """The checkpoints among ``notes`` signed by ``verifier``, oldest first, and how many notes
    were not (ignored: anyone can write a note, only the log's key makes a checkpoint)."""
    held, rejected = {}, 0
    for note in notes:
        try:
            cp = open_checkpoint(note, verifier)
        except NoteError:
            rejected += 1
            continue
        held.setdefault((cp.size, cp.root), (cp, note))
    return sorted(held.values(), key=lambda item: item[0].size), rejected


def verify_with_checkpoints(db, notes: list[str], verifier: Verifier, *, full: bool = False) -> VerifyResult:
    """The chain check, then every held checkpoint against the database's entries.

    Incremental: the newest held checkpoint that an earlier run verified (and whose stored tree
    state still reproduces its signed root) is the starting point; only entries after it are
    read. ``full`` reads everything.
    """
    held, rejected = open_held(notes, verifier)
    by_size: dict[int, set[bytes]] = {}
    for cp, _ in held:
        by_size.setdefault(cp.size, set()).add(cp.root)
    forks = [size for size, roots in by_size.items() if len(roots) > 1]
    with db.reading() as engine:
        with engine.connect() as conn:
            max_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
            start = None if full else _start(conn, held)
        roots: dict[int, bytes] | None = None
        if start is None:
            # One read of every row: the chain check and the tree roots of the held sizes.
            chain, roots = verify_with_tree(engine, [cp.size for cp, _ in held])
        else:
            chain = _verify_tail(engine, start)
    if not chain.ok:
        return chain
    if forks:
        size = min(forks)
        return dataclasses.replace(chain, ok=False, first_bad_seq=size, kind="forked",
                                   reason=f"two different checkpoints of size {size} are signed by the log's key")
    too_big = [cp for cp, _ in held if cp.size > max_seq]
    if too_big:
        cp = too_big[0]
        return dataclasses.replace(
            chain, ok=False, first_bad_seq=max_seq + 1, kind="truncated",
            reason=f"checkpoint {cp.size} was signed but the log holds {max_seq} entries: "
                   f"entries {max_seq + 1}..{cp.size} were deleted")
    compact = CompactRange() if start is None else CompactRange(start[0], start[1])
    pending = [cp for cp, _ in held if cp.size > compact.size]
    good = compact.size
    with db.reading() as engine, engine.connect() as conn:
        for cp in pending:
            if roots is not None:
                root = roots.get(cp.size)
            else:
                _feed(conn, compact, cp.size)
                root = compact.root()
            if root != cp.root:
                return dataclasses.replace(
                    chain, ok=False, first_bad_seq=good + 1, kind="rewritten",
                    reason=f"the first {cp.size} entries are not those of checkpoint {cp.size} "
                           f"(the log agrees with checkpoints up to {good}): entries after {good} were rewritten")
            good = cp.size
    if pending:
        _mark_verified(db, pending[-1])
    detail = f"; {rejected} note(s) not signed by the log's key were ignored" if rejected else ""
    return dataclasses.replace(chain, reason=(f"checked against {len(held)} held checkpoint(s), newest {good}"
                                              + detail) if held else chain.reason)


def _start(conn, held):
    """``(size, peaks)`` of the newest held checkpoint an earlier run verified, or None."""
    for cp, _ in reversed(held):
        row = conn.execute(select(checkpoints).where(checkpoints.c.size == cp.size)).first()
        if row is None or row.verified_ms is None or row.root != cp.root.hex():
            continue
        peaks = [bytes.fromhex(p) for p in row.peaks.split(",") if p]
        try:
            if CompactRange(cp.size, peaks).root() != cp.root:
                continue
        except ValueError:
            continue
        stored = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == cp.size)).scalar()
        if stored != row.head_hash:
            continue
        return cp.size, peaks
    return None


def _verify_tail(engine, start) -> VerifyResult:
    size = start[0]
    with engine.connect() as conn:
        max_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    result = _verify_range(engine, size + 1, max_seq) if max_seq > size else VerifyResult(True, 0, head_seq=size)
    return verify_head(engine, result) if result.ok else result


def _feed(conn, compact: CompactRange, upto: int) -> None:
    lo = compact.size + 1
    while lo <= upto:
        hi = min(lo + _BATCH - 1, upto)
        hashes = [h for (h,) in conn.execute(
            select(audit_log.c.hash).where(audit_log.c.seq >= lo, audit_log.c.seq <= hi).order_by(audit_log.c.seq))]
        compact.extend(leaves_of(hashes))
        lo = hi + 1


def _mark_verified(db, cp: Checkpoint) -> None:
    with db.transaction() as conn:
        conn.execute(update(checkpoints).where(checkpoints.c.size == cp.size, checkpoints.c.root == cp.root.hex())
                     .values(verified_ms=utc_now_ms()))
