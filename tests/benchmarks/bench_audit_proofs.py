"""Checkpoint, proof and verify timings on a large audit log (SQLite).

Run: PYTHONPATH=. python tests/benchmarks/bench_audit_proofs.py [ENTRIES]
Timings on a shared, loaded machine are noisy; the figures printed are one run. Beside the
verify rates: the CPU seconds they took (this process and its verify workers) and the load
average. Target: full verify >= 400,000 entries/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlflow_registry_ext.audit import checkpoints, verify_inclusion
from mlflow_registry_ext.audit.chain import GENESIS_HASH, encode_entry
from mlflow_registry_ext.audit.note import Verifier
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.db.database import GovernanceDatabase


def _fill(db, start: int, count: int, prev: str) -> str:
    rows = []
    for seq in range(start, start + count):
        body, digest = encode_entry(seq=seq, prev_hash=prev, timestamp_ms=seq, action="test.event", actor="a",
                                    model="m", version=None, alias=None, before={}, after={"i": seq},
                                    details={}, entry_id=f"e{seq}")
        rows.append({"seq": seq, "entry_id": f"e{seq}", "timestamp_ms": seq, "actor": "a", "action": "test.event",
                     "model": "m", "version": None, "alias": None, "body": body, "hash": digest})
        prev = digest
    from mlflow_registry_ext.db.tables import audit_head, audit_log as log

    with db.engine.begin() as conn:
        conn.execute(log.insert(), rows)
        conn.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=start + count - 1, hash=prev))
    return prev


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(n: int) -> None:
    print(f"load {os.getloadavg()}")
    folder = tempfile.mkdtemp()
    db = GovernanceDatabase(f"sqlite:///{os.path.join(folder, 'bench.db')}").ensure_schema()
    key = Ed25519PrivateKey.generate()
    origin = "bench.example/log"
    t = time.perf_counter()
    prev = GENESIS_HASH
    for lo in range(1, n + 1, 100_000):
        prev = _fill(db, lo, min(100_000, n - lo + 1), prev)
    print(f"fill {n} entries: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    first = checkpoints.create(db, key=key, origin=origin, witnesses=[])
    print(f"first checkpoint over {first.size} entries: {time.perf_counter() - t:.2f} s")
    for i in range(1000):
        with db.transaction() as conn:
            audit_log.append(conn, [audit_log.AuditDraft(action="test.event", model="m", after={"i": i})])
    t = time.perf_counter()
    second = checkpoints.create(db, key=key, origin=origin, witnesses=[])
    print(f"checkpoint after 1,000 new entries (size {second.size}): {(time.perf_counter() - t) * 1000:.1f} ms")
    vkey = Verifier.for_key(origin, key.public_key())
    times = []
    for seq in (1, n // 3, n // 2, n, second.size):
        t = time.perf_counter()
        bundle = checkpoints.inclusion(db, seq)
        times.append((time.perf_counter() - t) * 1000)
        verify_inclusion(bundle, vkey)
    print(f"inclusion proof at {second.size} entries: " + ", ".join(f"{x:.1f}" for x in times) + " ms")
    t, c = time.perf_counter(), _cpu()
    result = audit_log.verify(db.engine)
    dt, dc = time.perf_counter() - t, _cpu() - c
    print(f"chain verify: {result.checked} entries in {dt:.2f} s = {result.checked / dt:,.0f} entries/s "
          f"({dc:.2f} CPU s; load {os.getloadavg()[0]:.2f})")
    notes = [first.note, second.note]
    t, c = time.perf_counter(), _cpu()
    full = audit_log.verify_and_record(db, notes, vkey, full=True)
    dt, dc = time.perf_counter() - t, _cpu() - c
    print(f"full verify against 2 checkpoints: {full.ok} {full.checked} entries in {dt:.2f} s = "
          f"{full.checked / dt:,.0f} entries/s ({dc:.2f} CPU s; load {os.getloadavg()[0]:.2f})")
    for i in range(1000):
        with db.transaction() as conn:
            audit_log.append(conn, [audit_log.AuditDraft(action="test.event", model="m", after={"j": i})])
    third = checkpoints.create(db, key=key, origin=origin, witnesses=[])
    t = time.perf_counter()
    inc = audit_log.verify_and_record(db, notes + [third.note], vkey)
    print(f"incremental verify after 1,000 new entries on {third.size}: {inc.ok}, {inc.checked} read, "
          f"{time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
