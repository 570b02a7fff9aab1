"""SQL statements per registry write: plain MLflow ``SqlAlchemyStore`` vs the governed store.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_statements.py [--engines sqlite,postgresql,mysql] [--n 50]``

Statement counts and CPU time do not depend on the machine's load; wall-clock time does (the
load average is printed beside it). Counted: every statement SQLAlchemy sends
(``before_cursor_execute``, which also sees BEGIN on SQLite) plus the statements the audit
chain sends straight to the DBAPI cursor (:mod:`mlflow_registry_ext.audit.chain_sql`).
COMMIT/ROLLBACK are driver calls, not statements, and are the same for both stores.
Target: the governed store adds no more than 3 statements per write.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag  # noqa: E402
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore  # noqa: E402
from sqlalchemy import event  # noqa: E402

from mlflow_registry_ext.audit import chain_sql  # noqa: E402
from mlflow_registry_ext.registry.store import GovernedRegistryStore  # noqa: E402
from tests.support.databases import TempDatabase  # noqa: E402

TARGET_EXTRA = 3


class Counter:
    """Statements seen while ``active``; ``log`` keeps their first words for the report."""

    def __init__(self):
        self.active = False
        self.count = 0
        self.log: list[str] = []

    def see(self, statement: str) -> None:
        if self.active:
            self.count += 1
            self.log.append(" ".join(statement.split()[:4]))


_COUNTER = Counter()


class _CountingCursor:
    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql, *args):
        _COUNTER.see(sql)
        return self._cursor.execute(sql, *args)

    def executemany(self, sql, *args):
        _COUNTER.see(sql)
        return self._cursor.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def _count_raw_chain_statements() -> None:
    original = chain_sql.ChainSQL.cursor

    @contextlib.contextmanager
    def counting(conn):
        with original(conn) as cursor:
            yield _CountingCursor(cursor)

    chain_sql.ChainSQL.cursor = staticmethod(counting)


def _watch(engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        _COUNTER.see(statement)


def _ops(store, n):
    store.create_registered_model("m0")
    for _ in range(3):
        store.create_model_version("m0", "s3://bucket/model")
    for i in range(n):
        store.set_model_version_tag("m0", "3", ModelVersionTag(f"t{i}", "x"))
    return {
        "create_registered_model": lambda i: store.create_registered_model(f"m{i + 1}"),
        "create_model_version": lambda i: store.create_model_version("m0", "s3://bucket/model"),
        "set_model_version_tag": lambda i: store.set_model_version_tag("m0", "1", ModelVersionTag("k", str(i))),
        "set_registered_model_tag": lambda i: store.set_registered_model_tag("m0", RegisteredModelTag("k", str(i))),
        "set_registered_model_alias": lambda i: store.set_registered_model_alias("m0", "prod", str(1 + i % 3)),
        "update_model_version": lambda i: store.update_model_version("m0", "2", f"d{i}"),
        "delete_model_version_tag": lambda i: store.delete_model_version_tag("m0", "3", f"t{i}"),
    }


def _measure(fn, n):
    """(statements per call, median wall ms, CPU ms per call, statements of the last call)."""
    counts, walls = [], []
    cpu0 = time.process_time()
    for i in range(n):
        _COUNTER.count, _COUNTER.log = 0, []
        _COUNTER.active = True
        t0 = time.perf_counter()
        fn(i)
        walls.append(time.perf_counter() - t0)
        _COUNTER.active = False
        counts.append(_COUNTER.count)
    cpu = (time.process_time() - cpu0) / n
    return statistics.median(counts), statistics.median(walls) * 1000, cpu * 1000, list(_COUNTER.log)


def bench(kind: str, n: int, tmp: Path, show: bool) -> None:
    plain_db, gov_db = TempDatabase(kind, tmp), TempDatabase(kind, tmp)
    try:
        plain = SqlAlchemyStore(plain_db.uri)
        governed = GovernedRegistryStore(f"governed+{gov_db.uri}")
        for engine in {id(e): e for e in (plain.engine, governed.engine, governed.governance_db.engine)}.values():
            _watch(engine)
        plain_ops, gov_ops = _ops(plain, n), _ops(governed, n)
        print(f"\n== {kind}: per write, {n} calls each; load {os.getloadavg()} ==")
        print(f"{'operation':<28}{'plain':>6}{'gov':>6}{'extra':>6}  {'cpu ms p/g':>13}  {'wall ms p/g':>13}")
        worst = 0
        for name in plain_ops:
            p = _measure(plain_ops[name], n)
            g = _measure(gov_ops[name], n)
            extra = g[0] - p[0]
            worst = max(worst, extra)
            print(f"{name:<28}{p[0]:>6.0f}{g[0]:>6.0f}{extra:>6.0f}  {p[2]:>6.2f}/{g[2]:<6.2f}  "
                  f"{p[1]:>6.2f}/{g[1]:<6.2f}")
            if show:
                plain_log, gov_log = collections.Counter(p[3]), collections.Counter(g[3])
                print("    governed only:", dict(gov_log - plain_log), " plain only:", dict(plain_log - gov_log))
        flag = "ok" if worst <= TARGET_EXTRA else "OVER"
        print(f"most extra statements per write: {worst:.0f} (target <= {TARGET_EXTRA}) {flag}")
    finally:
        plain_db.drop()
        gov_db.drop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql,mysql")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--show", action="store_true", help="list the statements only one store sends")
    args = parser.parse_args()
    _count_raw_chain_statements()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            bench(kind, args.n, Path(tmp), args.show)


if __name__ == "__main__":
    main()
