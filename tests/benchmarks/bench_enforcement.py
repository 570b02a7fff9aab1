"""What the policy gate costs on the registry's hot path, against plain MLflow in the same run.

Run: ``python tests/benchmarks/bench_enforcement.py [--engines sqlite,postgresql] [--n 150]``

Four stores on the same engine do the same writes: plain MLflow; the governed store without a
policy; the governed store under a policy whose rules do not cover the model; and the governed
store on a covered model whose writes touch nothing protected (tags the rule does not require,
an unprotected alias). Prints median latencies, the ratio of each governed store to plain MLflow,
and the SQL statements each call issues (a measure that machine load cannot blur). Target:
governed writes <= 1.15x plain; the policy itself adds no statement for models it does not cover.
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

from mlflow.entities.model_registry import ModelVersionTag  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore  # noqa: E402

from mlflow_registry_ext.registry.store import GovernedRegistryStore  # noqa: E402
from tests.support.databases import TempDatabase  # noqa: E402

POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
models:
  - match: "fraud-*"
    protected_aliases: [production, champion]
    protected_stages: [Production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
    require:
      tags: [owner]
  - match: "credit-*"
    protected_aliases: [production]
  - match: "*"
    protected_aliases: []
"""


def _ops(store, model: str):
    store.create_registered_model(model)
    for _ in range(3):
        store.create_model_version(model, "s3://bucket/model")
    return {
        "create_model_version": lambda i: store.create_model_version(model, "s3://bucket/model"),
        "set_alias (unprotected)": lambda i: store.set_registered_model_alias(model, "staging", str(1 + i % 3)),
        "set_model_version_tag": lambda i: store.set_model_version_tag(model, "1", ModelVersionTag("k", str(i))),
        "update_model_version": lambda i: store.update_model_version(model, "2", f"d{i}"),
        "transition (unprotected)": lambda i: store.transition_model_version_stage(
            model, str(1 + i % 3), "Staging" if i % 2 else "None", False),
    }


_statements = [0]


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args):
    _statements[0] += 1


def _statements_per_call(fn, n: int = 20) -> float:
    before = _statements[0]
    for i in range(n):
        fn(10_000 + i)
    return (_statements[0] - before) / n


def _median(fn, n: int) -> float:
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _store(kind: str, tmp: Path, policy: str | None, created: list):
    db = TempDatabase(kind, tmp)
    created.append(db)
    if policy is None:
        os.environ.pop("MLFLOW_GOVERNANCE_POLICY", None)
    else:
        path = tmp / f"policy-{len(created)}.yaml"
        path.write_text(policy)
        os.environ["MLFLOW_GOVERNANCE_POLICY"] = str(path)
    return GovernedRegistryStore(f"governed+{db.uri}")


def bench_engine(kind: str, n: int, tmp: Path):
    created: list[TempDatabase] = []
    try:
        plain_db = TempDatabase(kind, tmp)
        created.append(plain_db)
        variants = {
            "plain": _ops(SqlAlchemyStore(plain_db.uri), "fraud-model"),
            "no policy": _ops(_store(kind, tmp, None, created), "fraud-model"),
            "not covered": _ops(_store(kind, tmp, POLICY, created), "other-model"),
            "covered": _ops(_store(kind, tmp, POLICY, created), "fraud-model"),
        }
        rows = []
        for op in variants["plain"]:
            times = {name: [] for name in variants}
            # Interleaved rounds, so drift (caches, autovacuum, other load) hits every variant alike.
            for _round in range(3):
                for name, ops in variants.items():
                    times[name].append(_median(ops[op], max(1, n // 3)))
            statements = {name: _statements_per_call(ops[op]) for name, ops in variants.items()}
            rows.append((op, {name: statistics.median(t) for name, t in times.items()}, statements))
        return rows
    finally:
        for db in created:
            db.drop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default=os.environ.get("BENCH_ENGINES", "sqlite,postgresql"))
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", "150")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            print(f"\n== {kind}: median latency over {args.n} calls (ms); ratio to plain MLflow ==")
            names = ("plain", "no policy", "not covered", "covered")
            print(f"{'operation':<26}{'plain':>8}{'no policy':>18}{'not covered':>18}{'covered':>18}"
                  "   SQL statements per call (same order)")
            for op, t, statements in bench_engine(kind, args.n, Path(tmp)):
                cells = "".join(
                    f"{t[name] * 1000:>9.2f} ({t[name] / t['plain']:.2f}x)" for name in names[1:]
                )
                counts = " / ".join(f"{statements[name]:g}" for name in names)
                print(f"{op:<26}{t['plain'] * 1000:>8.2f}{cells}   {counts}")
    print("\ntarget: governed writes <= 1.15x plain")


if __name__ == "__main__":
    main()
