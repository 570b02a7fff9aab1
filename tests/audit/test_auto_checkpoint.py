"""Automatic checkpoints (``mlflow_registry_ext.audit.auto_checkpoint``): every N entries or T
seconds, only when the log grew, one signer among several processes, a tampered log refused
without killing the thread, and the ``audit.checkpoint`` event reaching every workspace's
subscribers. SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlflow_registry_ext.audit import checkpoints
from mlflow_registry_ext.audit.auto_checkpoint import BackgroundCheckpointer, Schedule, backlog, run_once
from mlflow_registry_ext.audit.checkpoint_tables import checkpoints as checkpoint_rows
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.db.lease import Lease
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.db.webhook_tables import deliveries

ORIGIN = "registry.test/auto"


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_LOG_ORIGIN", ORIGIN)
    monkeypatch.delenv("MLFLOW_GOVERNANCE_AUDIT_WITNESSES", raising=False)
    return Ed25519PrivateKey.generate()


def _append(db, n):
    for i in range(n):
        with db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="test.event", model="m", after={"i": i})])


def _sizes(db) -> list[int]:
    with db.engine.connect() as conn:
        return [s for (s,) in conn.execute(sa.select(checkpoint_rows.c.size).order_by(checkpoint_rows.c.size))]


def test_the_schedule_reads_the_environment_and_refuses_nonsense():
    assert Schedule.from_env({}) == Schedule(100, 300.0)
    assert Schedule.from_env({"MLFLOW_GOVERNANCE_CHECKPOINT_EVERY": "7",
                              "MLFLOW_GOVERNANCE_CHECKPOINT_INTERVAL": "1.5"}) == Schedule(7, 1.5)
    assert not Schedule.from_env({"MLFLOW_GOVERNANCE_CHECKPOINT_EVERY": "0",
                                  "MLFLOW_GOVERNANCE_CHECKPOINT_INTERVAL": "0"}).enabled
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(InvalidInput, match="MLFLOW_GOVERNANCE_CHECKPOINT_EVERY"):
            Schedule.from_env({"MLFLOW_GOVERNANCE_CHECKPOINT_EVERY": bad})
    s = Schedule(every=5, interval_seconds=60)
    assert not s.due(0, 10_000) and not s.due(4, 59) and s.due(5, 0) and s.due(1, 60)
    assert not Schedule(every=0, interval_seconds=0).due(1000, 1e9)


@pytest.mark.database
def test_a_checkpoint_every_n_entries_and_after_t_seconds_only_when_the_log_grew(database, key):
    db = GovernanceDatabase(database.uri).ensure_schema()
    by_count = Schedule(every=5, interval_seconds=0)
    _append(db, 4)
    assert run_once(db, by_count, key, witnesses=[]) is None
    _append(db, 1)
    assert run_once(db, by_count, key, witnesses=[]).size == 5
    # Its own audit.checkpoint entry (6) does not count towards the next one.
    _append(db, 4)
    with db.reading() as engine, engine.connect() as conn:
        assert backlog(conn, int(time.time() * 1000))[0] == 4
    assert run_once(db, by_count, key, witnesses=[]) is None
    _append(db, 1)
    assert run_once(db, by_count, key, witnesses=[]).size == 11

    by_time = Schedule(every=0, interval_seconds=30)
    now = int(time.time() * 1000)
    assert run_once(db, by_time, key, witnesses=[], now_ms=now + 60_000) is None  # nothing new
    _append(db, 1)
    assert run_once(db, by_time, key, witnesses=[], now_ms=now + 10_000) is None  # too soon
    assert run_once(db, by_time, key, witnesses=[], now_ms=now + 60_000).size == 13
    assert _sizes(db) == [5, 11, 13]


@pytest.mark.database
def test_two_processes_with_the_lease_sign_each_checkpoint_once(database, key):
    db = GovernanceDatabase(database.uri).ensure_schema()
    signed = []

    class Counting:
        uri = "memory://"

        def publish(self, note, size, root):
            signed.append(size)

    schedule = Schedule(every=3, interval_seconds=0)
    workers = [BackgroundCheckpointer(db, schedule, key, lease=Lease(db, "server-checkpointer", owner=f"w{i}"),
                                      poll_seconds=0.05, witnesses=[Counting()]) for i in range(2)]
    try:
        for w in workers:
            w.start()
        for _ in range(4):
            _append(db, 3)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (not _sizes(db) or _sizes(db)[-1] < _head(db) - 1):
                time.sleep(0.05)
    finally:
        for w in workers:
            w.stop()
    assert len(_sizes(db)) >= 2 and sorted(signed) == _sizes(db), (signed, _sizes(db))
    with db.engine.connect() as conn:
        owners = conn.execute(sa.text("SELECT owner FROM gov_webhook_leases WHERE name = 'server-checkpointer'")).all()
    assert len(owners) == 1


def _head(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT seq FROM gov_audit_head WHERE id = 1")).scalar() or 0


def test_a_tampered_log_is_refused_and_the_thread_keeps_running(sqlite_database, key, caplog):
    db = GovernanceDatabase(sqlite_database.uri).ensure_schema()
    _append(db, 3)
    checkpoints.create(db, key=key, witnesses=[])
    with db.engine.begin() as conn:   # rewrite entry 3, which the checkpoint covers
        conn.execute(sa.text("UPDATE gov_audit_head SET seq = 2"))
        conn.execute(sa.text("DELETE FROM gov_audit_log WHERE seq >= 3"))
    _append(db, 5)
    worker = BackgroundCheckpointer(db, Schedule(every=1, interval_seconds=0), key, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Automatic audit checkpoint failed" not in caplog.text:
            time.sleep(0.05)
        assert "Automatic audit checkpoint failed" in caplog.text
        assert worker._thread.is_alive()
    finally:
        worker.stop()
    assert _sizes(db) == [3]


@pytest.mark.database
def test_the_checkpoint_event_reaches_subscribers_of_every_workspace(database, key, monkeypatch):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    db = GovernanceDatabase(database.uri).ensure_schema()
    service = WebhookService(db)
    here = service.create("http://127.0.0.1:9/a", ["audit.checkpoint", "registered_model.created"]).webhook
    monkeypatch.setenv("MLFLOW_WORKSPACE", "ws2")
    there = service.create("http://127.0.0.1:9/b", ["*"]).webhook
    monkeypatch.delenv("MLFLOW_WORKSPACE")
    with db.transaction() as conn:
        audit_log.append(conn, [AuditDraft(action="registered_model.created", model="m", after={"name": "m"})])
    record = checkpoints.create(db, key=key, witnesses=[])
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(deliveries.c.webhook_id, deliveries.c.event_type, deliveries.c.workspace,
                                      deliveries.c.payload)).all()
    events = {(r.webhook_id, r.event_type, r.workspace) for r in rows}
    assert (here.id, "audit.checkpoint", "default") in events
    assert (there.id, "audit.checkpoint", "ws2") in events
    assert (here.id, "registered_model.created", "default") in events
    assert (there.id, "registered_model.created", "ws2") not in events   # workspace data stays in its workspace
    payload = next(r.payload for r in rows if r.webhook_id == there.id and r.event_type == "audit.checkpoint")
    assert f'"size":{record.size}' in payload and '"previous_size":0' in payload
