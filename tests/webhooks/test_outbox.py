"""The outbox (``mlflow_registry_ext.audit.outbox``): rows written with the audit entry."""

from __future__ import annotations

import sqlalchemy as sa
from mlflow import MlflowClient
from sqlalchemy import event

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.audit.outbox import enqueue, on_enqueue, subscription_matches
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.db.webhook_tables import deliveries

ALIAS_SET = AuditDraft(
    action="model_version_alias.created",
    model="fraud-1",
    version="4",
    alias="production",
    before={"version": "3"},
    after={"version": "4"},
)


def queued(db) -> list:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(deliveries).order_by(deliveries.c.created_ms)).all()


def test_one_row_per_matching_subscription_in_the_same_transaction(gov_db, allow_private):
    service = WebhookService(gov_db)
    every = service.create("http://127.0.0.1:9/a", ["*"]).webhook
    fraud_aliases = service.create("http://127.0.0.1:9/b", ["model_version_alias.*"], model_filter="fraud-*").webhook
    service.create("http://127.0.0.1:9/c", ["model_version_alias.created"], model_filter="credit-*")
    service.create("http://127.0.0.1:9/d", ["model_version.created"])
    paused = service.create("http://127.0.0.1:9/e", ["*"]).webhook
    service.update(paused.id, active=False)
    before = len(queued(gov_db))

    with gov_db.transaction() as conn:
        (entry,) = audit_log.append(conn, [ALIAS_SET])
    rows = [r for r in queued(gov_db)[before:] if r.event_id == entry.entry_id]
    assert sorted(r.webhook_id for r in rows) == sorted([every.id, fraud_aliases.id])
    assert {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}
    assert rows[0].payload == rows[1].payload
    assert '"previous_version":"3"' in rows[0].payload


def test_nothing_is_queued_when_the_change_rolls_back(gov_db, allow_private):
    WebhookService(gov_db).create("http://127.0.0.1:9/a", ["*"])
    before = len(queued(gov_db))

    class Boom(Exception):
        pass

    try:
        with gov_db.transaction() as conn:
            audit_log.append(conn, [ALIAS_SET])
            assert len(conn.execute(sa.select(deliveries)).all()) == before + 1
            raise Boom
    except Boom:
        pass
    assert len(queued(gov_db)) == before


def test_without_subscriptions_enqueue_is_one_query(sqlite_gov_db):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with sqlite_gov_db.transaction() as conn:
        entries = audit_log.append(conn, [ALIAS_SET])
        event.listen(sqlite_gov_db.engine, "before_cursor_execute", count)
        try:
            enqueue(conn, entries)
        finally:
            event.remove(sqlite_gov_db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "gov_webhooks" in statements[0]
    with sqlite_gov_db.engine.connect() as conn:
        plan = " ".join(
            str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statements[0]}", ("active",))
        )
    assert "ix_gov_webhooks_status" in plan
    assert queued(sqlite_gov_db) == []


def test_model_filter_sees_both_names_of_a_rename():
    assert subscription_matches(["registered_model.*"], "fraud-*", "registered_model.renamed", ["old", "fraud-2"])
    assert not subscription_matches(["registered_model.*"], "fraud-*", "registered_model.renamed", ["a", "b"])
    # Events about no model only reach subscriptions without a model filter.
    assert subscription_matches(["*"], None, "audit.verification_failed", [None])
    assert not subscription_matches(["*"], "fraud-*", "audit.verification_failed", [None])


def test_governed_store_writes_queue_deliveries(tmp_path, allow_private):
    uri = f"governed+sqlite:///{tmp_path / 'registry.db'}"
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}", registry_uri=uri)
    service = WebhookService.for_registry_uri(uri)
    hook = service.create("http://127.0.0.1:9/hook", ["model_version.created", "model_version_alias.*"]).webhook
    client.create_registered_model("m")
    for n in range(3):
        client.create_model_version("m", f"s3://bucket/{n}")
    client.set_registered_model_alias("m", "production", "3")
    found = service.deliveries(webhook_id=hook.id)
    assert sorted(d.event_type for d in found) == ["model_version.created"] * 3 + ["model_version_alias.created"]
    assert all(d.status == "pending" for d in found)


def test_listeners_hear_of_queued_rows_until_they_unsubscribe(sqlite_gov_db, allow_private):
    calls = []
    with sqlite_gov_db.transaction() as conn:
        audit_log.append(conn, [ALIAS_SET])
    unsubscribe = on_enqueue(lambda: calls.append(1))
    try:
        with sqlite_gov_db.transaction() as conn:
            audit_log.append(conn, [ALIAS_SET])
        assert calls == []  # no subscription: nothing queued, nobody woken
        WebhookService(sqlite_gov_db).create("http://127.0.0.1:9/a", ["model_version_alias.*"])
        with sqlite_gov_db.transaction() as conn:
            audit_log.append(conn, [ALIAS_SET])
        assert calls == [1]
    finally:
        unsubscribe()
    with sqlite_gov_db.transaction() as conn:
        audit_log.append(conn, [ALIAS_SET])
    assert calls == [1]
