"""The stored routine that chains an entry in one call (PostgreSQL, MySQL/MariaDB).

It is used only where its definition is exactly the one the package created; a routine dropped
or changed in the database never stops registry writes for longer than the one write that found
it gone (PostgreSQL aborts that transaction), and entries chained either way verify alike.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from mlflow_registry_ext.audit import chain_sql
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db import append_routine
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.store import GovernedRegistryStore


def _dialect(db) -> str:
    name = db.engine.dialect.name
    return "mysql" if name == "mariadb" else name


def _append(db, n: int) -> None:
    for i in range(n):
        with db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="test.event", model="m", after={"i": i})])


def _uses_routine(db) -> bool:
    with db.engine.connect() as conn:
        fast = chain_sql.for_connection(conn)
        return bool(fast and fast.uses_routine)


@pytest.mark.database
def test_the_routine_chains_entries_that_verify(database):
    db = GovernanceDatabase(database.uri).ensure_schema()
    assert _uses_routine(db) == (database.kind != "sqlite")
    store = GovernedRegistryStore(f"governed+{database.uri}")
    store.create_registered_model("m")
    store.create_model_version("m", "s3://bucket/model")
    store.set_registered_model_alias("m", "production", "1")
    _append(db, 3)
    result = audit_log.verify(db.engine)
    assert result.ok and result.checked == 6, result
    actions = [e.action for e in audit_log.query(db.engine, audit_log.AuditQuery())]
    assert actions == ["registered_model.created", "model_version.created",
                       "model_version_alias.created", "test.event", "test.event", "test.event"]


@pytest.mark.database
def test_a_dropped_routine_costs_at_most_one_write(database):
    if database.kind == "sqlite":
        pytest.skip("SQLite has no stored routines")
    db = GovernanceDatabase(database.uri).ensure_schema()
    _append(db, 2)
    assert _uses_routine(db)
    with db.engine.begin() as conn:
        for statement in append_routine.drop_statements(_dialect(db)):
            conn.execute(sa.text(statement))
    if database.kind == "postgresql":
        # The call fails inside the write's transaction, which PostgreSQL then aborts.
        with pytest.raises(sa.exc.DBAPIError):
            _append(db, 1)
    _append(db, 3)
    assert not _uses_routine(db)
    result = audit_log.verify(db.engine)
    assert result.ok and result.checked == 5, result


@pytest.mark.database
def test_a_routine_changed_in_the_database_is_not_used(database, caplog):
    if database.kind == "sqlite":
        pytest.skip("SQLite has no stored routines")
    db = GovernanceDatabase(database.uri).ensure_schema()
    dialect = _dialect(db)
    forged = append_routine.expected_body(dialect).replace(
        "UPDATE gov_audit_head", "UPDATE gov_audit_head SET seq = seq WHERE id = 0; UPDATE gov_audit_head", 1)
    with db.engine.begin() as conn:
        for statement in append_routine.create_statements(dialect):
            body = append_routine.expected_body(dialect)
            conn.execute(sa.text(statement.replace(body, forged)))
    fresh = GovernanceDatabase(database.uri).ensure_schema()  # a new engine checks again
    with caplog.at_level(logging.WARNING, logger="mlflow_registry_ext.audit.chain_sql"):
        assert not _uses_routine(fresh)
    assert "not the one this package created" in caplog.text
    _append(fresh, 2)
    assert audit_log.verify(fresh.engine).ok


def test_the_migration_creates_what_the_check_expects():
    # The body the check compares against is the one the migration writes.
    for dialect in ("postgresql", "mysql"):
        assert any(append_routine.expected_body(dialect) in s for s in append_routine.create_statements(dialect))
    assert append_routine.create_statements("sqlite") == []
