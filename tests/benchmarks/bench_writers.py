"""Concurrent writer processes: changes written through the governed store vs plain MLflow.

Run: ``PYTHONPATH=. python tests/benchmarks/bench_writers.py --engine postgresql --processes 8 --seconds 20``

Each process loops ``set_model_version_tag`` / ``create_model_version`` on its own model for the
given time, through MLflow's ``SqlAlchemyStore`` and through the governed store, each run on a
fresh database, in the order plain, governed, governed, plain (on a small machine each run writes
less than the one before it, by up to 10%: whichever ran second looked that much worse), and
counts the writes that completed; the ratio compares the sums. Afterwards the governed run's chain must
verify intact, hold exactly one audit entry per completed write, and the registry must hold
every version the processes created (nothing lost). Target: governed >= 0.85x plain.

The machine's load changes the figures: the load average and each run's CPU seconds (all
writer processes together) are printed beside them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.databases import TempDatabase  # noqa: E402

TARGET = 0.85


def _store(uri: str, governed: bool):
    if governed:
        from mlflow_registry_ext.registry.store import GovernedRegistryStore

        return GovernedRegistryStore(f"governed+{uri}")
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(uri)


def _setup(uri: str, governed: bool, processes: int) -> None:
    store = _store(uri, governed)
    for p in range(processes):
        store.create_registered_model(f"w{p}")
        store.create_model_version(f"w{p}", "s3://bucket/model")


def _writer(uri, governed, index, start, seconds, results):
    from mlflow.entities.model_registry import ModelVersionTag

    store = _store(uri, governed)
    name = f"w{index}"
    tags = creates = errors = 0
    start.wait()
    cpu0, deadline = time.process_time(), time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            if i % 2:
                store.set_model_version_tag(name, "1", ModelVersionTag("k", str(i)))
                tags += 1
            else:
                store.create_model_version(name, "s3://bucket/model")
                creates += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, the loop goes on
            errors += 1
            if errors <= 3:
                print(f"writer {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
    results.put((index, tags, creates, errors, time.process_time() - cpu0))


def _run(kind: str, governed: bool, processes: int, seconds: float, tmp: Path) -> dict:
    db = TempDatabase(kind, tmp)
    ctx = multiprocessing.get_context("fork")
    try:
        # Schema and models made in a child, so this process forks the writers with no engines.
        setup = ctx.Process(target=_setup, args=(db.uri, governed, processes))
        setup.start()
        setup.join()
        if setup.exitcode != 0:
            raise SystemExit(f"setup failed ({setup.exitcode})")
        head_before = _audit_head(db.uri) if governed else 0
        start, results = ctx.Event(), ctx.Queue()
        workers = [ctx.Process(target=_writer, args=(db.uri, governed, p, start, seconds, results))
                   for p in range(processes)]
        for w in workers:
            w.start()
        time.sleep(3)  # every writer has built its store and waits at the start line
        start.set()
        rows = [results.get(timeout=seconds + 300) for _ in workers]
        for w in workers:
            w.join()
        tags = sum(r[1] for r in rows)
        creates = sum(r[2] for r in rows)
        out = {
            "writes": tags + creates, "tags": tags, "creates": creates,
            "errors": sum(r[3] for r in rows), "cpu": sum(r[4] for r in rows),
            "versions_ok": _versions(db.uri, processes) == creates + processes,
        }
        if governed:
            out.update(_check_chain(db.uri, head_before, tags + creates))
        return out
    finally:
        db.drop()


def _audit_head(uri: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT seq FROM gov_audit_head WHERE id = 1")).scalar()
    finally:
        engine.dispose()


def _versions(uri: str, processes: int) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM model_versions")).scalar()
    finally:
        engine.dispose()


def _check_chain(uri: str, head_before: int, writes: int) -> dict:
    from mlflow_registry_ext.db.engine import get_engine
    from mlflow_registry_ext.audit import log as audit_log

    engine = get_engine(uri, for_reads=True)
    result = audit_log.verify(engine)
    entries = result.head_seq - head_before
    engine.dispose()
    return {"chain_ok": result.ok, "entries": entries, "entries_ok": result.ok and entries == writes,
            "reason": result.reason}


#: The order of the runs: A-B-B-A, so the drift from one run to the next falls on both sides alike.
_ORDER = (False, True, True, False)


def _print_run(governed: bool, run: dict) -> None:
    label = "governed:" if governed else "plain:   "
    print(f"{label} {run['writes']} writes ({run['tags']} tags, {run['creates']} versions), "
          f"{run['errors']} errors, {run['cpu']:.1f} CPU s in writers, "
          f"versions all there: {run['versions_ok']}; load {os.getloadavg()}")
    if governed:
        print(f"          audit chain intact: {run['chain_ok']} ({run['reason'] or 'ok'}); entries "
              f"written: {run['entries']} for {run['writes']} writes: "
              f"{'ok' if run['entries_ok'] else 'MISMATCH'}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="postgresql")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"{args.processes} writer processes, {args.seconds:g} s each, {args.engine}, "
              f"runs in the order {'-'.join('governed' if g else 'plain' for g in _ORDER)}")
        print(f"load before: {os.getloadavg()}")
        runs = {False: [], True: []}
        for governed in _ORDER:
            run = _run(args.engine, governed, args.processes, args.seconds, tmp)
            _print_run(governed, run)
            runs[governed].append(run)
        plain = {k: sum(r[k] for r in runs[False]) for k in ("writes", "cpu")}
        gov = {k: sum(r[k] for r in runs[True]) for k in ("writes", "cpu")}
        intact = all(r["chain_ok"] and r["entries_ok"] for r in runs[True])
        lost = not all(r["versions_ok"] for rs in runs.values() for r in rs)
        ratio = gov["writes"] / plain["writes"] if plain["writes"] else float("nan")
        per_cpu = (gov["writes"] / gov["cpu"]) / (plain["writes"] / plain["cpu"])
        flag = "ok" if ratio >= TARGET else "UNDER"
        print(f"audit chains intact, one entry per write: {intact}; versions lost: {lost}")
        print(f"ratio governed/plain: {ratio:.3f} (target >= {TARGET}) {flag}; "
              f"writes per writer-CPU-second ratio: {per_cpu:.3f}")


if __name__ == "__main__":
    main()
