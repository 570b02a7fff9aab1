"""Checking the audit log's hash chain in the database: every entry against the one before it,
and the chain head row against the last entry.

Long chains are checked in ranges by several processes; :mod:`.held_checkpoints` checks only
the entries after the newest held checkpoint with :func:`_verify_range` and :func:`verify_head`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import multiprocessing
import os
import threading

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlflow_registry_ext.audit.chain import GENESIS_HASH, VerifyResult, verify_rows
from mlflow_registry_ext.audit.merkle import EMPTY_ROOT, UNIT, UnitRoots, roots_at
from mlflow_registry_ext.db.tables import audit_head, audit_log

__all__ = ["verify", "verify_with_tree", "verify_head"]


_VERIFY_SQL = (
    "SELECT seq, timestamp_ms, action, actor, model, version, alias, body, hash "
    "FROM gov_audit_log WHERE seq >= {start} AND seq <= {end} ORDER BY seq"
)
_BATCH = 20000
# Below this many entries one process is faster than starting helpers.
_PARALLEL_THRESHOLD = 100_000


def _verify_range(engine: Engine, start: int, end: int, tree_sizes=None):
    """Check entries ``start..end`` against the stored hash of entry ``start - 1``.

    With ``tree_sizes`` (``start - 1`` a multiple of :data:`~mlflow_registry_ext.audit.merkle.UNIT`)
    the same pass hashes the rows it read into Merkle tree leaves too, and returns
    ``(result, tree part)`` for :func:`~mlflow_registry_ext.audit.merkle.roots_at`.
    """
    tree = None if tree_sizes is None else UnitRoots(start - 1, tree_sizes)

    def done(result):
        return result if tree is None else (result, tree.finish())

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        prev_hash = GENESIS_HASH
        if start > 1:
            cursor.execute(f"SELECT hash FROM gov_audit_log WHERE seq = {int(start) - 1}")
            found = cursor.fetchone()
            if found is None:
                return done(VerifyResult(False, 0, start - 1, f"entry {start - 1} is missing", start - 2,
                                         kind="deleted"))
            prev_hash = found[0]
        result = VerifyResult(True, 0, head_seq=start - 1, head_hash=prev_hash)
        checked = 0
        lo = start
        sha, fromhex = hashlib.sha256, bytes.fromhex
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
                return done(dataclasses.replace(part, checked=checked))
            if tree is not None:
                # Leaf i is SHA-256(0x00 || hash of entry i + 1); the hashes were just checked.
                tree.extend([sha(b"\x00" + fromhex(row[8])).digest() for row in rows])
            result = dataclasses.replace(part, checked=checked)
            lo = hi + 1
        return done(result)
    finally:
        raw.close()


def _verify_range_in_child(url: str, start: int, end: int, tree_sizes=None):
    from mlflow_registry_ext.db.engine import get_engine

    found = _verify_range(get_engine(url, for_reads=True), start, end, tree_sizes)
    if tree_sizes is None:
        return found.to_dict()
    return found[0].to_dict(), found[1]


def verify(engine: Engine, workers: int | None = None) -> VerifyResult:
    """Check the whole chain, and that the head row agrees with its last entry.

    Long chains are checked in ranges by several processes when this process may fork (it runs
    no other threads); each range links to the stored hash before it, so the result is the
    same as one pass.
    """
    return _verify_all(engine, workers, None)[0]


def verify_with_tree(engine: Engine, sizes, workers: int | None = None) -> tuple[VerifyResult, dict[int, bytes]]:
    """:func:`verify`, and in the same read of the rows the RFC 9162 root of the first ``size``
    entries for each of ``sizes`` (sizes beyond the stored entries are left out; no roots when
    the chain is broken)."""
    return _verify_all(engine, workers, sorted(set(sizes)))


def _verify_all(engine: Engine, workers, tree_sizes):
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).first()
        max_seq = conn.execute(select(func.max(audit_log.c.seq))).scalar() or 0
    head_seq, head_hash = head if head is not None else (max_seq, None)
    end = max(head_seq, max_seq)
    workers = workers or _default_workers(end)
    parts: list = []
    if workers > 1:
        result, parts = _verify_parallel(engine, end, workers, tree_sizes)
    elif end:
        found = _verify_range(engine, 1, end, tree_sizes)
        result, parts = (found, []) if tree_sizes is None else (found[0], [found[1]])
    else:
        result = VerifyResult(True, 0)
    if not result.ok:
        return result, {}
    result = _check_head(result, head, max_seq)
    roots = roots_at(tree_sizes, parts) if tree_sizes is not None and result.ok else {}
    if tree_sizes is not None and 0 in tree_sizes:
        roots[0] = EMPTY_ROOT
    return result, roots


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


def _verify_parallel(engine: Engine, end: int, workers: int, tree_sizes=None):
    url = engine.url.render_as_string(hide_password=False)
    step = -(-end // workers)
    if tree_sizes is not None:
        step = -(-step // UNIT) * UNIT  # each range starts at a whole unit of the tree
    ranges = [(lo, min(lo + step - 1, end)) for lo in range(1, end + 1, step)]
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(len(ranges), mp_context=ctx) as pool:
        found = list(pool.map(_verify_range_in_child, [url] * len(ranges), *zip(*ranges),
                              [tree_sizes] * len(ranges)))
    if tree_sizes is None:
        parts, trees = [VerifyResult(**r) for r in found], []
    else:
        parts, trees = [VerifyResult(**r) for r, _ in found], [t for _, t in found]
    checked = 0
    for part in parts:
        checked += part.checked
        if not part.ok:
            return dataclasses.replace(part, checked=checked), []
    return dataclasses.replace(parts[-1], checked=checked), trees


