"""The dispatcher under a burst of registry writes: it claims and records in batches, and never
holds a database transaction open while it sends (so it does not compete with the writes it
reports). Real tables, a real receiver, a real dispatcher thread."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.webhooks.service import WebhookService

pytestmark = pytest.mark.usefixtures("allow_private")

EVENTS = 100
GAP_S = 0.01  # one registry write every 10 ms: faster than a claim interval
CLAIM_INTERVAL = 0.1  # the dispatcher's defaults
RECORD_DELAY = 0.25


class TransactionCounter:
    """Counts the transactions the dispatcher's thread begins, on every engine of the database
    (writes on ``db.engine``; on SQLite the dispatcher's reads go through ``db.read_engine``)."""

    def __init__(self, db, thread_name: str):
        self.thread_name = thread_name
        self.writes = 0
        self.reads = 0
        self._hooks = [(db.engine, self._on_write), (db.read_engine, self._on_read)]
        if db.read_engine is db.engine:
            self._hooks = [(db.engine, self._on_write)]
        for engine, hook in self._hooks:
            event.listen(engine, "begin", hook)

    def _mine(self) -> bool:
        return threading.current_thread().name == self.thread_name

    def _on_write(self, conn) -> None:
        if self._mine():
            self.writes += 1

    def _on_read(self, conn) -> None:
        if self._mine():
            self.reads += 1

    def close(self) -> None:
        for engine, hook in self._hooks:
            event.remove(engine, "begin", hook)


def _write_burst(db, n: int) -> list[str]:
    ids = []
    for i in range(n):
        with db.transaction() as conn:
            (entry,) = audit_log.append(conn, [AuditDraft(action="model_version.created", model="m", version=str(i))])
        ids.append(entry.entry_id)
        time.sleep(GAP_S)
    return ids


def test_a_burst_of_writes_is_claimed_and_recorded_in_batches(gov_db, receiver):
    """Before, each write cost the dispatcher a look, a claim and (the receiver being fast) a
    write transaction of its own: about four transactions per event, as many writes as events."""
    receiver.secrets = [WebhookService(gov_db).create(receiver.url, ["model_version.created"]).secret]
    dispatcher = Dispatcher(gov_db)
    assert (dispatcher.claim_interval, dispatcher.record_delay) == (CLAIM_INTERVAL, RECORD_DELAY)
    counter = TransactionCounter(gov_db, "dispatcher-under-test")
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), name="dispatcher-under-test")
    started = time.monotonic()
    thread.start()
    try:
        ids = _write_burst(gov_db, EVENTS)
        assert receiver.wait_for(lambda r: len(r.event_ids()) >= EVENTS, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(60)
        counter.close()
    assert receiver.event_ids() == set(ids)  # every event delivered, once each here
    assert sorted(d.webhook_id for d in receiver.deliveries) == sorted(ids)
    # Idle polls (every poll interval), a look and a claim per claim interval, a write of the
    # results per record delay; plus a few for the lease and the last flush.
    per_second = 1 / dispatcher.poll_interval + 2 / CLAIM_INTERVAL + 1 / RECORD_DELAY
    total = counter.reads + counter.writes
    assert total <= elapsed * per_second + 10, (total, counter.reads, counter.writes, elapsed)
    assert total < 2 * EVENTS, (total, elapsed)
    # Results of several deliveries share a transaction.
    assert counter.writes <= elapsed / RECORD_DELAY + 2 * elapsed / CLAIM_INTERVAL + 5
    assert counter.writes < EVENTS / 3, (counter.writes, elapsed)


def test_no_transaction_is_held_across_a_send(database, tmp_path, receiver):
    """While a receiver takes 300 ms to answer, no transaction of the dispatcher that began
    before the request arrived is still open (PostgreSQL shows every session's transaction)."""
    if database.kind != "postgresql":
        pytest.skip("pg_stat_activity shows when each open transaction began")
    from mlflow_registry_ext.db.database import GovernanceDatabase

    db = GovernanceDatabase(database.uri).ensure_schema()
    # Autocommit: the probes of concurrent requests hold no transaction themselves.
    probe_engine = sa.create_engine(database.uri, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    held: list[int] = []
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND xact_start < :arrived"
    )

    def answer(delivery) -> int:
        with probe_engine.connect() as conn:
            arrived = conn.execute(sa.text("SELECT clock_timestamp()")).scalar()
            time.sleep(0.3)
            held.append(conn.execute(query, {"arrived": arrived}).scalar())
        return 200

    receiver.responder = answer
    receiver.secrets = [WebhookService(db).create(receiver.url, ["model_version.created"]).secret]
    with db.transaction() as conn:
        audit_log.append(conn, [AuditDraft(action="model_version.created", model="m", version=str(i)) for i in range(8)])
    dispatcher = Dispatcher(db, concurrency=4, per_webhook=2, batch_size=4)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,))
    thread.start()
    try:
        assert receiver.wait_for(lambda r: len(r.event_ids()) >= 8, timeout=60)
    finally:
        stop.set()
        thread.join(60)
        probe_engine.dispose()
    assert len(held) >= 8
    assert held == [0] * len(held)
