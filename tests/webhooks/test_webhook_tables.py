"""Migration 0002 creates exactly the tables ``webhooks/tables.py`` declares, on every engine."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mlflow_registry_ext.db.metadata import VERSION_TABLE, metadata
from mlflow_registry_ext.db import webhook_tables as tables


def test_migration_matches_the_table_definitions(gov_db):
    ours = {t.name for t in (tables.webhooks, tables.deliveries, tables.attempts, tables.leases)}
    with gov_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
        diffs = compare_metadata(context, metadata)
        assert set(sa.inspect(conn).get_table_names()) >= ours
    relevant = [d for d in diffs if any(name in repr(d) for name in ours)]
    assert relevant == []


def test_delivery_ids_are_unique_and_attempt_ids_autoincrement(gov_db):
    row = dict(
        webhook_id="wh_1", event_id="e", event_type="t", event_ms=0, payload="{}", origin="event",
        status="pending", attempts=0, next_attempt_ms=0, created_ms=0,
    )
    with gov_db.transaction() as conn:
        conn.execute(tables.deliveries.insert(), [{**row, "id": "dlv_1"}, {**row, "id": "dlv_2"}])
        conn.execute(
            tables.attempts.insert(),
            [
                dict(delivery_id="dlv_1", webhook_id="wh_1", attempt=n, started_ms=0, latency_ms=0, outcome="failed")
                for n in (1, 2)
            ],
        )
        ids = conn.execute(sa.select(tables.attempts.c.id).order_by(tables.attempts.c.id)).scalars().all()
    assert len(set(ids)) == 2 and ids[0] < ids[1]
