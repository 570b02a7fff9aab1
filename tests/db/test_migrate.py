"""Migrations: own version table, applied once even when many workers start together."""

from __future__ import annotations

import multiprocessing

import sqlalchemy as sa

from mlflow_registry_ext.db.migrate import current_revision, head_revision, upgrade


def _start_worker(uri: str, barrier) -> None:
    from mlflow_registry_ext.db.database import GovernanceDatabase

    barrier.wait()
    GovernanceDatabase(uri).ensure_schema()


def test_four_workers_initialising_at_once_upgrade_exactly_once(database):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_start_worker, args=(database.uri, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    engine = sa.create_engine(database.uri)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM gov_alembic_version")).scalar() == 1
        assert conn.execute(sa.text("SELECT seq FROM gov_audit_head WHERE id = 1")).scalar() == 0
    engine.dispose()


def test_governance_tables_never_touch_mlflow_names(sqlite_database):
    engine = sa.create_engine(sqlite_database.uri)
    upgrade(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert tables and all(t.startswith("gov_") for t in tables)
    assert "alembic_version" not in tables
    engine.dispose()


def test_upgrade_is_idempotent(sqlite_database):
    engine = sa.create_engine(sqlite_database.uri)
    assert upgrade(engine) == upgrade(engine) == head_revision()
    engine.dispose()
