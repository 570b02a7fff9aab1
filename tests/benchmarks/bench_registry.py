"""Governed registry store vs MLflow's own store, side by side on the same engine.

Run: ``python tests/benchmarks/bench_registry.py [--engines sqlite,postgresql,mysql] [--n 200]``

Prints per-operation median latency of both stores and the ratio governed/plain, then the
``audit verify`` rate over a long chain (the best of three runs on one chain; all are printed).
Targets: writes <= 1.15x on SQLite and 1.25x on PostgreSQL and MariaDB, reads <= 1.05x, verify
>= 400,000 entries/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag  # noqa: E402
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore  # noqa: E402

from mlflow_registry_ext.audit.chain import GENESIS_HASH, encode_entry  # noqa: E402
from mlflow_registry_ext.audit import log as audit_log  # noqa: E402
from mlflow_registry_ext.db.database import GovernanceDatabase  # noqa: E402
from mlflow_registry_ext.registry.store import GovernedRegistryStore  # noqa: E402
from tests.support.databases import TempDatabase  # noqa: E402


def _time(fn, n):
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _workload(store, n):
    store.create_registered_model("bench")
    for _ in range(3):
        store.create_model_version("bench", "s3://bucket/model")
    ops = {
        "create_model_version": lambda i: store.create_model_version("bench", "s3://bucket/model"),
        "set_alias": lambda i: store.set_registered_model_alias("bench", "production", str(1 + i % 3)),
        "set_model_version_tag": lambda i: store.set_model_version_tag("bench", "1", ModelVersionTag("k", str(i))),
        "set_registered_model_tag": lambda i: store.set_registered_model_tag("bench", RegisteredModelTag("k", str(i))),
        "update_model_version": lambda i: store.update_model_version("bench", "2", f"d{i}"),
        "get_model_version": lambda i: store.get_model_version("bench", "1"),
        "get_by_alias": lambda i: store.get_model_version_by_alias("bench", "production"),
        "get_registered_model": lambda i: store.get_registered_model("bench"),
        "search_model_versions": lambda i: store.search_model_versions("name='bench'", max_results=10),
    }
    return ops


def bench_engine(kind: str, n: int, tmp: Path) -> list[tuple[str, float, float]]:
    plain_db, gov_db = TempDatabase(kind, tmp), TempDatabase(kind, tmp)
    try:
        plain = SqlAlchemyStore(plain_db.uri)
        governed = GovernedRegistryStore(f"governed+{gov_db.uri}")
        plain_ops, gov_ops = _workload(plain, n), _workload(governed, n)
        rows = []
        for name in plain_ops:
            # Interleave rounds, alternating which store goes first, so drift (cache, autovacuum,
            # other load) hits both alike.
            p, g = [], []
            for round_ in range(4):
                turns = [(plain_ops, p), (gov_ops, g)]
                if round_ % 2:
                    turns.reverse()
                for ops, samples in turns:
                    samples.append(_time(ops[name], n // 4))
            rows.append((name, statistics.median(p), statistics.median(g)))
        return rows
    finally:
        plain_db.drop()
        gov_db.drop()


def bench_verify(entries: int, tmp: Path, runs: int = 3) -> list[float]:
    """Entries per second of ``runs`` full verifications of one chain of ``entries``."""
    db = GovernanceDatabase(f"sqlite:///{tmp / 'verify.db'}").ensure_schema()
    rows, prev = [], GENESIS_HASH
    for seq in range(1, entries + 1):
        fields = dict(seq=seq, prev_hash=prev, timestamp_ms=1_700_000_000_000 + seq,
                      action="model_version_alias.created", actor="alice", model="fraud-model",
                      version=str(seq % 50), alias="production", before={"version": "1"},
                      after={"version": "2"}, details={}, entry_id=f"{seq:032x}")
        body, digest = encode_entry(**fields)
        rows.append({"seq": seq, "entry_id": fields["entry_id"], "timestamp_ms": fields["timestamp_ms"],
                     "actor": "alice", "action": fields["action"], "model": "fraud-model",
                     "version": fields["version"], "alias": "production", "body": body, "hash": digest})
        prev = digest
    from mlflow_registry_ext.db.tables import audit_head, audit_log as log_table

    with db.engine.begin() as conn:
        conn.execute(log_table.insert(), rows)
        conn.execute(audit_head.update().values(seq=entries, hash=prev))
    rates = []
    for _run in range(runs):
        t0 = time.perf_counter()
        result = audit_log.verify(db.read_engine)
        elapsed = time.perf_counter() - t0
        assert result.ok and result.checked == entries, result
        rates.append(entries / elapsed)
    return rates


_WRITE_TARGET = {"sqlite": 1.15, "postgresql": 1.25, "mysql": 1.25}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default=os.environ.get("BENCH_ENGINES", "sqlite,postgresql,mysql"))
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", "150")))
    parser.add_argument("--verify-entries", type=int, default=int(os.environ.get("BENCH_VERIFY", "200000")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind in args.engines.split(","):
            print(f"\n== {kind}: median latency over {args.n} calls (ms) ==")
            print(f"{'operation':<26}{'plain':>10}{'governed':>10}{'ratio':>8}  target")
            for name, p, g in bench_engine(kind, args.n, tmp):
                target = 1.05 if name.startswith(("get", "search")) else _WRITE_TARGET.get(kind, 1.15)
                flag = "ok" if g / p <= target else "OVER"
                print(f"{name:<26}{p*1000:>10.2f}{g*1000:>10.2f}{g/p:>8.3f}  <= {target} {flag}")
        rates = bench_verify(args.verify_entries, tmp)
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"\naudit verify: {args.verify_entries} entries at {max(rates):,.0f} entries/s, the best of "
              f"{len(rates)} runs ({runs}) (target >= 400,000)")


if __name__ == "__main__":
    main()
