"""The audit log in a real database: tampering, filters, alias history, concurrent writers."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import sqlalchemy as sa
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft, AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.store import GovernedRegistryStore


def _append(db: GovernanceDatabase, n: int, model="m"):
    for i in range(n):
        with db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="test.event", model=model, after={"i": i})])


def test_tampering_in_the_database_is_found(database):
    db = GovernanceDatabase(database.uri).ensure_schema()
    _append(db, 8)
    assert audit_log.verify(db.engine).ok
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE gov_audit_log SET actor = 'mallory' WHERE seq = 3"))
    result = audit_log.verify(db.engine)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE gov_audit_log SET actor = 'tester' WHERE seq = 3"))
        conn.execute(sa.text("DELETE FROM gov_audit_log WHERE seq = 8"))
    result = audit_log.verify(db.engine)
    assert (result.ok, result.first_bad_seq) == (False, 8)
    assert "missing" in result.reason


def test_filters_and_times(sqlite_database):
    db = GovernanceDatabase(sqlite_database.uri).ensure_schema()
    _append(db, 3, model="a")
    _append(db, 2, model="b")
    assert [e.seq for e in audit_log.query(db.engine, AuditQuery(model="b"))] == [4, 5]
    assert len(audit_log.query(db.engine, AuditQuery(actor="tester", limit=2))) == 2
    assert audit_log.query(db.engine, AuditQuery(actor="nobody")) == []
    assert len(audit_log.query(db.engine, AuditQuery(since_ms=audit_log.parse_time("2000-01-01")))) == 5
    assert audit_log.query(db.engine, AuditQuery(until_ms=audit_log.parse_time("2000-01-01"))) == []
    with pytest.raises(MlflowException) as err:
        audit_log.parse_time("last tuesday")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_alias_history_answers_what_pointed_where_and_who_moved_it(sqlite_database, monkeypatch):
    store = GovernedRegistryStore(f"governed+{sqlite_database.uri}")
    store.create_registered_model("m")
    for _ in range(3):
        store.create_model_version("m", "s3://b/x")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    store.set_registered_model_alias("m", "production", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    store.set_registered_model_alias("m", "production", "3")
    store.delete_registered_model_alias("m", "production")
    history = audit_log.alias_history(store.governance_db.engine, "m", "production")
    assert [(h.version, h.actor) for h in history] == [("1", "alice"), ("3", "bob"), (None, "bob")]
    at = audit_log.alias_history(store.governance_db.engine, "m", "production", at_ms=history[1].since_ms)
    assert [(h.version, h.actor) for h in at] == [("3", "bob")]
    assert audit_log.alias_history(store.governance_db.engine, "m", "production", at_ms=0) == []


def _threads_write(uri: str, threads: int, per_thread: int):
    store = GovernedRegistryStore(f"governed+{uri}")
    store.create_registered_model("concurrent")
    errors = []

    def work(i):
        for j in range(per_thread):
            try:
                store.set_registered_model_tag(
                    "concurrent", __import__("mlflow").entities.model_registry.RegisteredModelTag(f"t{i}", str(j))
                )
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return store, errors


def test_concurrent_threads_never_fork_the_chain_or_lose_an_entry(database):
    store, errors = _threads_write(database.uri, threads=6, per_thread=10)
    assert errors == []
    result = audit_log.verify(store.governance_db.engine)
    assert result.ok, result
    tag_sets = audit_log.query(store.governance_db.engine, AuditQuery(action="registered_model_tag.set"))
    assert len(tag_sets) == 60


def _process_worker(uri: str, worker: int, count: int, barrier):
    store = GovernedRegistryStore(f"governed+{uri}")
    from mlflow.entities.model_registry import RegisteredModelTag

    barrier.wait()
    for j in range(count):
        store.set_registered_model_tag("procs", RegisteredModelTag(f"w{worker}", str(j)))


@pytest.mark.slow
def test_concurrent_processes_never_fork_the_chain_or_lose_an_entry(database):
    store = GovernedRegistryStore(f"governed+{database.uri}")
    store.create_registered_model("procs")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_process_worker, args=(database.uri, w, 15, barrier)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    result = audit_log.verify(store.governance_db.engine)
    assert result.ok, result
    assert result.checked == 1 + 4 * 15


def test_parallel_verification_finds_the_same_first_bad_entry(database):
    db = GovernanceDatabase(database.uri).ensure_schema()
    _append(db, 30)
    assert audit_log.verify(db.engine, workers=3).ok
    with db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE gov_audit_log SET body = REPLACE(body, :old, :new) WHERE seq = 22"),
            {"old": '"i":21', "new": '"i":99'},
        )
    sequential = audit_log.verify(db.engine, workers=1)
    parallel = audit_log.verify(db.engine, workers=3)
    assert (sequential.ok, sequential.first_bad_seq) == (False, 22)
    assert (parallel.ok, parallel.first_bad_seq, parallel.reason) == (
        False, 22, sequential.reason
    )
