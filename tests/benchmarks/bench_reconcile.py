"""Reconcile timing: a registry of 10,000 model versions and the audit log that describes it.

Run: PYTHONPATH=. python tests/benchmarks/bench_reconcile.py [VERSIONS] [DATABASE_URI]
(default 10,000 versions on a new SQLite file). The registry rows are inserted in bulk and the
log gets the entries governed writes would have made (a model, its versions with two tags each,
an alias and a stage per model), so the figure is the reconcile alone: replaying the log,
reading MLflow's tables, comparing, recording the run. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import sqlalchemy as sa
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

from mlflow_registry_ext.audit.reconcile import reconcile
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase

PER_MODEL = 100
TARGET_SECONDS = 5.0


def _rows(engine, name: str, rows: list[dict]) -> None:
    table = sa.Table(name, sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{k: v for k, v in r.items() if k in table.c} for r in rows])


def fill(uri: str, versions: int) -> None:
    SqlAlchemyStore(uri)  # MLflow's own tables
    engine = sa.create_engine(uri)
    db = GovernanceDatabase(uri).ensure_schema()
    models = -(-versions // PER_MODEL)
    rm, mv, mv_tags, aliases = [], [], [], []
    drafts: list[AuditDraft] = []
    for m in range(models):
        name = f"model-{m:04d}"
        rm.append({"name": name, "creation_time": 0, "last_updated_time": 0, "description": f"model {m}",
                   "workspace": "default"})
        drafts.append(AuditDraft("registered_model.created", model=name,
                                 after={"description": f"model {m}", "tags": {}}))
        count = min(PER_MODEL, versions - m * PER_MODEL)
        for v in range(1, count + 1):
            tags = {"owner": "risk", "dataset": f"d{v}"}
            mv.append({"name": name, "version": v, "creation_time": 0, "last_updated_time": 0,
                       "description": None, "user_id": "bench", "current_stage": "Production" if v == count else "None",
                       "source": f"s3://bucket/{name}/{v}", "storage_location": f"s3://bucket/{name}/{v}",
                       "run_id": None, "status": "READY", "workspace": "default"})
            mv_tags += [{"name": name, "version": v, "key": k, "value": val, "workspace": "default"}
                        for k, val in tags.items()]
            drafts.append(AuditDraft("model_version.created", model=name, version=str(v), after={
                "source": f"s3://bucket/{name}/{v}", "run_id": None, "description": None, "status": "READY",
                "user_id": "bench", "tags": tags}))
        aliases.append({"name": name, "alias": "production", "version": count, "workspace": "default"})
        drafts.append(AuditDraft("model_version_alias.created", model=name, alias="production", version=str(count),
                                 after={"version": str(count)}))
        drafts.append(AuditDraft("model_version.stage_transitioned", model=name, version=str(count),
                                 before={"stage": "None"}, after={"stage": "Production"}))
    _rows(engine, "registered_models", rm)
    _rows(engine, "model_versions", mv)
    _rows(engine, "model_version_tags", mv_tags)
    _rows(engine, "registered_model_aliases", aliases)
    for start in range(0, len(drafts), 2000):
        with db.transaction() as conn:
            audit_log.append(conn, drafts[start:start + 2000])


def main(versions: int, uri: str | None) -> None:
    uri = uri or f"sqlite:///{os.path.join(tempfile.mkdtemp(), 'bench.db')}"
    t = time.perf_counter()
    fill(uri, versions)
    print(f"fill {versions} versions: {time.perf_counter() - t:.1f} s")
    db = GovernanceDatabase(uri)
    engine = sa.create_engine(uri)
    t = time.perf_counter()
    result = reconcile(db, engine)
    seconds = time.perf_counter() - t
    assert result.ok, result.differences[:5]
    assert result.versions == versions
    print(f"reconcile of {result.versions} versions ({result.entries} entries replayed): {seconds:.2f} s "
          f"(target under {TARGET_SECONDS:.0f} s: {'met' if seconds < TARGET_SECONDS else 'MISSED'})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, sys.argv[2] if len(sys.argv) > 2 else None)
