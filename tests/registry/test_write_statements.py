"""The audit log adds a fixed, small number of SQL statements to each registry write (SQLite).

Every statement SQLite runs is counted (``sqlite3.Connection.set_trace_callback``), so the ones
the chain sends straight to the DBAPI cursor are counted too. Per write, the governed store adds
exactly these three, in the registry change's own transaction:

1. ``SELECT seq, hash, (SELECT COUNT(*) FROM gov_webhooks ...) FROM gov_audit_head`` - the chain
   head (row-locked on PostgreSQL and MySQL) and whether any webhook is active;
2. ``INSERT INTO gov_audit_log ...`` - the entry;
3. ``UPDATE gov_audit_head ...`` - the new head.

With an active webhook subscription the outbox adds its own query and insert; none here. Nothing
else may join them unnoticed: a new read of the changed row, a second flush, an UPDATE after the
INSERT of a new version (the creator is stamped before the INSERT).

Nor may a write leave more objects in reference cycles than MLflow's own (they cost a share of a
garbage collection later, on every write).
"""

from __future__ import annotations

import gc

from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore
from sqlalchemy import event

from mlflow_registry_ext.registry.store import GovernedRegistryStore

#: The most statements the governed store may add to one write (see the module docstring).
EXTRA_STATEMENTS_PER_WRITE = 3


class _Trace:
    def __init__(self):
        self.active = False
        self.statements: list[str] = []

    def __call__(self, sql: str) -> None:
        if self.active:
            self.statements.append(sql)


def _traced(engines, trace: _Trace) -> None:
    for engine in engines:
        event.listen(engine, "connect", lambda dbapi_conn, _record: dbapi_conn.set_trace_callback(trace))
        engine.dispose()  # pooled connections reconnect, traced


def _operations(store):
    store.create_registered_model("m")
    for _ in range(2):
        store.create_model_version("m", "s3://bucket/model")
    store.set_model_version_tag("m", "1", ModelVersionTag("gone", "x"))
    return [
        ("create_registered_model", lambda: store.create_registered_model("other")),
        ("create_model_version", lambda: store.create_model_version("m", "s3://bucket/model")),
        ("set_model_version_tag", lambda: store.set_model_version_tag("m", "1", ModelVersionTag("k", "v"))),
        ("delete_model_version_tag", lambda: store.delete_model_version_tag("m", "1", "gone")),
        ("set_registered_model_tag", lambda: store.set_registered_model_tag("m", RegisteredModelTag("k", "v"))),
        ("set_registered_model_alias", lambda: store.set_registered_model_alias("m", "prod", "1")),
        ("update_model_version", lambda: store.update_model_version("m", "2", "described")),
        ("transition_model_version_stage",
         lambda: store.transition_model_version_stage("m", "2", "Staging", False)),
        ("delete_registered_model_alias", lambda: store.delete_registered_model_alias("m", "prod")),
    ]


def _count(trace: _Trace, fn) -> list[str]:
    trace.statements = []
    trace.active = True
    try:
        fn()
    finally:
        trace.active = False
    return trace.statements


def test_governed_writes_add_at_most_three_statements(tmp_path):
    plain = SqlAlchemyStore(f"sqlite:///{tmp_path / 'plain.db'}")
    governed = GovernedRegistryStore(f"governed+sqlite:///{tmp_path / 'governed.db'}")
    plain_trace, governed_trace = _Trace(), _Trace()
    _traced([plain.engine], plain_trace)
    _traced({id(e): e for e in (governed.engine, governed.governance_db.engine)}.values(), governed_trace)
    plain_ops, governed_ops = _operations(plain), _operations(governed)
    for (name, plain_op), (_, governed_op) in zip(plain_ops, governed_ops):
        plain_sql = _count(plain_trace, plain_op)
        governed_sql = _count(governed_trace, governed_op)
        extra = len(governed_sql) - len(plain_sql)
        audit_sql = [s for s in governed_sql if "gov_audit" in s]
        assert extra <= EXTRA_STATEMENTS_PER_WRITE, (name, plain_sql, governed_sql)
        assert len(audit_sql) == 3, (name, governed_sql)


def test_every_write_here_is_audited(tmp_path):
    # The count above is only meaningful if each of those calls wrote an entry.
    from mlflow_registry_ext.audit import log as audit_log

    governed = GovernedRegistryStore(f"governed+sqlite:///{tmp_path / 'governed.db'}")
    ops = _operations(governed)
    before = audit_log.verify(governed.governance_db.engine).checked
    for _, op in ops:
        op()
    after = audit_log.verify(governed.governance_db.engine)
    assert after.ok and after.checked - before >= len(ops)


def _cyclic_garbage(fn) -> int:
    """How many objects ``fn`` leaves that only the garbage collector can free."""
    gc.collect()
    gc.disable()
    try:
        fn()
        return gc.collect()
    finally:
        gc.enable()


def test_governed_writes_leave_no_more_reference_cycles_than_mlflow(tmp_path):
    # Objects in reference cycles cost each write a share of a garbage collection later; reading
    # what a flush changed must not add any (``state.attrs`` did, 16 objects per update).
    plain = SqlAlchemyStore(f"sqlite:///{tmp_path / 'plain.db'}")
    governed = GovernedRegistryStore(f"governed+sqlite:///{tmp_path / 'governed.db'}")
    for (name, plain_op), (_, governed_op) in zip(_operations(plain), _operations(governed)):
        plain_garbage, governed_garbage = _cyclic_garbage(plain_op), _cyclic_garbage(governed_op)
        assert governed_garbage <= plain_garbage, (name, plain_garbage, governed_garbage)
