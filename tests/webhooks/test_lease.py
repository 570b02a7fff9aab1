"""The lease (``db.lease``) and the background dispatcher runner (``webhooks.runner``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.db.lease import Lease, owner_is_dead_local_process
from mlflow_registry_ext.webhooks.runner import BackgroundDispatcher
from mlflow_registry_ext.webhooks.service import WebhookService
from tests.webhooks.doubles import FakeClock


def test_one_holder_at_a_time_and_takeover_after_expiry(gov_db):
    clock = FakeClock()
    a = Lease(gov_db, "server-dispatcher", owner="host-a:1:x", ttl_seconds=10, clock=clock)
    b = Lease(gov_db, "server-dispatcher", owner="host-b:1:y", ttl_seconds=10, clock=clock)
    assert a.acquire() and not b.acquire()
    clock.advance(4)
    assert a.held()  # renewed: a third of the lease had passed
    clock.advance(9)
    assert not b.acquire()
    clock.advance(2)
    assert b.acquire() and b.held()
    assert not a.acquire() and not a.held()
    b.release()
    assert a.acquire()


def test_simultaneous_first_acquisitions_elect_exactly_one(gov_db):
    leases = [Lease(gov_db, "race", owner=f"host-{n}:1:z", ttl_seconds=30) for n in range(6)]
    results = []
    barrier = threading.Barrier(len(leases))

    def grab(lease):
        barrier.wait()
        results.append(lease.acquire())

    threads = [threading.Thread(target=grab, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [False] * 5 + [True]


def test_a_dead_process_of_this_host_loses_its_lease_at_once(sqlite_gov_db):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead_owner = f"{socket.gethostname()}:{child.pid}:dead"
    assert owner_is_dead_local_process(dead_owner)
    assert not owner_is_dead_local_process(f"another-host:{child.pid}:x")
    assert Lease(sqlite_gov_db, "server-dispatcher", owner=dead_owner, ttl_seconds=3600).acquire()
    assert Lease(sqlite_gov_db, "server-dispatcher", ttl_seconds=3600).acquire()


def test_background_dispatchers_share_one_lease(sqlite_gov_db, receiver, monkeypatch):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    WebhookService(sqlite_gov_db).create(receiver.url, ["model_version.*"])
    runners = [
        BackgroundDispatcher(
            Dispatcher(sqlite_gov_db, name=f"worker-{n}", poll_interval=0.02),
            lease=Lease(sqlite_gov_db, "server-dispatcher", ttl_seconds=2),
        )
        for n in range(3)
    ]
    for runner in runners:
        runner.start()
    try:
        with sqlite_gov_db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="model_version.created", model="m", version=str(i)) for i in range(10)])
        assert receiver.wait_for(lambda r: len(r.event_ids()) == 10, timeout=30)
        service = WebhookService(sqlite_gov_db)
        assert receiver.wait_for(lambda r: {d.status for d in service.deliveries()} == {"succeeded"}, timeout=30)
        senders = {a.dispatcher for d in service.deliveries() for a in service.attempts(d.id)}
        assert len(senders) == 1
        leader = next(r for r in runners if r.dispatcher.name in senders)
        leader.stop()  # releases the lease: another takes over at once
        with sqlite_gov_db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="model_version.created", model="m", version="99")])
        assert receiver.wait_for(lambda r: len(r.event_ids()) == 11, timeout=30)
    finally:
        for runner in runners:
            runner.stop()
    assert len(receiver.deliveries) == 11
    assert not any(r.running for r in runners)
