"""Checking the audit log's hash chain in the database: every entry against the one before it,
and the chain head row against the last entry.

Long chains are checked in ranges by several processes; :mod:`.held_checkpoints` checks only
the entries after the newest held checkpoint with :func:`_verify_range` and :func:`verify_head`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import threading

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlflow_registry_ext.audit.chain import GENESIS_HASH, VerifyResult, verify_rows
from mlflow_registry_ext.db.tables import audit_head, audit_log

__all__ = ["verify", "verify_head"]


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
