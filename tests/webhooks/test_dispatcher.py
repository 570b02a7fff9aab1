"""The dispatcher (``webhooks.dispatcher``) with an injected clock and transport, on real tables."""

from __future__ import annotations

import random
import threading
import time

import pytest
import sqlalchemy as sa

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft, AuditQuery
from mlflow_registry_ext.webhooks import verify
from mlflow_registry_ext.webhooks.dispatcher import DISPATCHER_ACTOR, Dispatcher
from mlflow_registry_ext.webhooks.encryption import KEY_ENV
from mlflow_registry_ext.webhooks.retry import RetryPolicy
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.db.webhook_tables import deliveries, webhooks
from mlflow_registry_ext.webhooks.transport import Response, TransportError
from tests.webhooks.doubles import FakeClock, ScriptedTransport, refused

pytestmark = pytest.mark.usefixtures("allow_private")

NO_JITTER = RetryPolicy(jitter=0)


def emit(db, n=1, action="model_version.created", model="m") -> list:
    with db.transaction() as conn:
        return audit_log.append(conn, [AuditDraft(action=action, model=model, version=str(i + 1)) for i in range(n)])


def make(db, transport, clock, **kwargs) -> Dispatcher:
    kwargs.setdefault("retry", NO_JITTER)
    return Dispatcher(db, transport=transport, clock=clock, rng=random.Random(1), **kwargs)


@pytest.fixture
def clock():
    # A little ahead of the wall clock, which stamps new outbox rows: they are due at once.
    return FakeClock(int(time.time() * 1000) + 5000)


@pytest.fixture
def hook(gov_db, clock):
    return WebhookService(gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["model_version.*"])


def test_delivers_signed_bodies_with_the_event_id_as_webhook_id(gov_db, clock, hook):
    entries = emit(gov_db, 3)
    transport = ScriptedTransport(200)
    attempts = make(gov_db, transport, clock).run_once()
    assert sorted(a.outcome for a in attempts) == ["succeeded"] * 3
    assert {h["webhook-id"] for _, _, h in transport.sent} == {e.entry_id for e in entries}
    for url, body, headers in transport.sent:
        assert url == hook.webhook.url
        assert verify(body, headers, hook.secret)["id"] == headers["webhook-id"]
    service = WebhookService(gov_db)
    assert {d.status for d in service.deliveries(webhook_id=hook.webhook.id)} == {"succeeded"}
    assert make(gov_db, transport, clock).run_once() == []


def test_failures_follow_the_retry_schedule_then_dead_letter(gov_db, clock, hook):
    (entry,) = emit(gov_db)
    transport = ScriptedTransport(503)
    dispatcher = make(gov_db, transport, clock)
    service = WebhookService(gov_db)
    waits = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    assert len(dispatcher.run_once()) == 1
    for wait in waits:
        (delivery,) = service.deliveries(webhook_id=hook.webhook.id)
        assert delivery.status == "pending"
        assert delivery.next_attempt_ms == clock.ms + wait * 1000
        clock.advance(wait - 1)
        assert dispatcher.run_once() == []  # not due yet
        clock.advance(1)
        assert len(dispatcher.run_once()) == 1
    (delivery,) = service.deliveries(webhook_id=hook.webhook.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("dead", 10, 503)
    assert len(service.attempts(delivery.id)) == 10
    assert {h["webhook-id"] for _, _, h in transport.sent} == {entry.entry_id}
    assert service.deliveries(status="dead")[0].id == delivery.id


def test_retry_after_is_honoured(sqlite_gov_db, clock):
    hook = WebhookService(sqlite_gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["*"])
    emit(sqlite_gov_db)
    transport = ScriptedTransport(Response(429, "600", "slow down", 1))
    dispatcher = make(sqlite_gov_db, transport, clock)
    dispatcher.run_once()
    (delivery,) = WebhookService(sqlite_gov_db).deliveries(webhook_id=hook.webhook.id, event_type="model_version.created")
    assert delivery.next_attempt_ms == clock.ms + 600_000
    (attempt,) = WebhookService(sqlite_gov_db).attempts(delivery.id)
    assert (attempt.status_code, attempt.response_excerpt, attempt.outcome) == (429, "slow down", "failed")


def test_410_disables_the_subscription_and_says_so(gov_db, clock):
    service = WebhookService(gov_db, clock=clock)
    gone = service.create("http://127.0.0.1:9/gone", ["model_version.*"]).webhook
    watcher = service.create("http://127.0.0.1:9/watch", ["webhook.disabled"]).webhook
    emit(gov_db)
    transport = ScriptedTransport(lambda url, body, headers: 410 if url.endswith("/gone") else 200)
    dispatcher = make(gov_db, transport, clock)
    dispatcher.run_once()
    after = service.get(gone.id)
    assert after.status == "disabled" and "410" in after.disabled_reason
    assert service.deliveries(webhook_id=gone.id)[0].status == "dead"
    with gov_db.reading() as engine:
        (disabled,) = audit_log.query(engine, AuditQuery(action="webhook.disabled"))
    assert disabled.actor == DISPATCHER_ACTOR and disabled.details["webhook_id"] == gone.id
    dispatcher.run_once()
    (notice,) = [b for u, b, h in transport.sent if u.endswith("/watch")]
    assert b'"type":"webhook.disabled"' in notice and gone.id.encode() in notice


def test_a_subscription_failing_for_days_is_disabled(gov_db, clock, hook):
    transport = ScriptedTransport(refused)
    dispatcher = make(gov_db, transport, clock, disable_after_seconds=3 * 86400)
    service = WebhookService(gov_db)
    emit(gov_db)
    dispatcher.run_once()
    started = clock.ms
    assert service.get(hook.webhook.id).failing_since_ms == started
    for _ in range(4):
        clock.advance(86400)
        emit(gov_db)
        dispatcher.run_once()
    after = service.get(hook.webhook.id)
    assert after.status == "disabled" and "failed for" in after.disabled_reason
    # Its queued deliveries wait while it is disabled, and resume when it is enabled again.
    emit(gov_db)
    assert dispatcher.run_once() == []
    transport.answer = 200
    service.update(hook.webhook.id, active=True)
    assert {a.outcome for a in dispatcher.run_once()} == {"succeeded"}
    assert service.get(hook.webhook.id).failing_since_ms is None


def test_a_success_clears_the_failure_streak(sqlite_gov_db, clock):
    service = WebhookService(sqlite_gov_db, clock=clock)
    hook = service.create("http://127.0.0.1:9/hook", ["model_version.*"]).webhook
    transport = ScriptedTransport(500)
    dispatcher = make(sqlite_gov_db, transport, clock, disable_after_seconds=86400)
    emit(sqlite_gov_db)
    dispatcher.run_once()
    assert service.get(hook.id).failing_since_ms is not None
    transport.answer = 200
    clock.advance(5)
    dispatcher.run_once()
    assert service.get(hook.id).failing_since_ms is None
    clock.advance(2 * 86400)
    transport.answer = 500
    emit(sqlite_gov_db)
    dispatcher.run_once()
    assert service.get(hook.id).status == "active"


def test_a_crashed_claim_is_sent_again_after_its_lease_and_the_late_result_is_ignored(gov_db, clock, hook):
    (entry,) = emit(gov_db)
    first = make(gov_db, ScriptedTransport(200), clock, name="first", lease_seconds=60)
    (job,) = first.claim(10)  # ... and then "dies" before recording
    # Claimed by its lease token (PostgreSQL, MySQL) or under the outbox lease (SQLite).
    claimed_status = "pending" if gov_db.dialect == "sqlite" else "sending"
    assert WebhookService(gov_db).deliveries()[0].status == claimed_status
    second_transport = ScriptedTransport(200)
    second = make(gov_db, second_transport, clock, name="second", lease_seconds=60)
    assert second.run_once() == []  # still leased
    clock.advance(61)
    (attempt,) = second.run_once()
    assert attempt.outcome == "succeeded" and attempt.dispatcher == "second"
    # The first dispatcher wakes up and reports a failure: logged, but it cannot undo the success.
    late = first._send(job)
    late.kind, late.status_code, late.error = "failed", 500, "HTTP 500"
    first.record([late])
    (delivery,) = WebhookService(gov_db).deliveries(webhook_id=hook.webhook.id)
    assert delivery.status == "succeeded"
    assert len(WebhookService(gov_db).attempts(delivery.id)) == 2
    assert second_transport.sent[0][2]["webhook-id"] == entry.entry_id


def test_deliveries_of_deleted_subscriptions_are_swept(gov_db, clock, hook):
    emit(gov_db, 2)
    with gov_db.transaction() as conn:  # the race: the subscription vanishes under queued rows
        conn.execute(webhooks.delete().where(webhooks.c.id == hook.webhook.id))
    dispatcher = make(gov_db, ScriptedTransport(200), clock)
    assert dispatcher.run_once() == []
    dispatcher.sweep()
    with gov_db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 0


def test_an_unreadable_secret_is_a_failed_attempt_not_an_unsigned_request(sqlite_gov_db, clock, monkeypatch):
    hook = WebhookService(sqlite_gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["model_version.*"])
    emit(sqlite_gov_db)
    monkeypatch.setenv(KEY_ENV, "x" * 10)
    transport = ScriptedTransport(200)
    (attempt,) = make(sqlite_gov_db, transport, clock).run_once()
    assert attempt.outcome == "failed" and "not a valid Fernet key" in attempt.error
    assert transport.sent == []
    assert WebhookService(sqlite_gov_db).deliveries(webhook_id=hook.webhook.id)[0].status == "pending"


def test_blocked_addresses_are_recorded_as_blocked(sqlite_gov_db, clock):
    WebhookService(sqlite_gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["model_version.*"])
    emit(sqlite_gov_db)
    transport = ScriptedTransport(lambda *a: TransportError("not a public address", kind="blocked"))
    (attempt,) = make(sqlite_gov_db, transport, clock).run_once()
    assert attempt.outcome == "blocked" and "public" in attempt.error


def test_concurrent_dispatchers_never_claim_the_same_delivery(gov_db, hook):
    emit(gov_db, 60)
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def work(n):
        dispatcher = Dispatcher(gov_db, transport=ScriptedTransport(200), name=f"d{n}", batch_size=5)
        barrier.wait()
        while True:
            jobs = dispatcher.claim(5)
            if not jobs:
                if not dispatcher.due():
                    return
                continue
            with lock:
                claimed.extend(j.delivery_id for j in jobs)
            dispatcher.record([dispatcher._send(j) for j in jobs])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(claimed) == 60 and len(set(claimed)) == 60
    assert {d.status for d in WebhookService(gov_db).deliveries(limit=1000)} == {"succeeded"}


def test_run_loop_delivers_promptly_and_stops(gov_db, receiver):
    created = WebhookService(gov_db).create(receiver.url, ["model_version.*"])
    receiver.secrets = [created.secret]
    dispatcher = Dispatcher(gov_db, poll_interval=0.02)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,))
    thread.start()
    try:
        entries = emit(gov_db, 20)
        assert receiver.wait_for(lambda r: len(r.event_ids()) == 20, timeout=30)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert receiver.event_ids() == {e.entry_id for e in entries}
    assert all(d.verified for d in receiver.deliveries)


def test_one_slow_subscription_does_not_hold_up_the_others(sqlite_gov_db, receiver):
    service = WebhookService(sqlite_gov_db)
    service.create(receiver.url + "?slow", ["model_version.*"])
    service.create(receiver.url + "?fast", ["model_version.*"])

    def answer(delivery):
        if "slow" in delivery.path:
            time.sleep(2)
        return 200

    receiver.responder = answer
    dispatcher = Dispatcher(sqlite_gov_db, concurrency=4, per_webhook=2, poll_interval=0.02)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,))
    thread.start()
    try:
        started = time.monotonic()
        emit(sqlite_gov_db, 10)
        fast = lambda r: sum(1 for d in r.deliveries if "fast" in d.path) == 10  # noqa: E731
        assert receiver.wait_for(fast, timeout=30)
        assert time.monotonic() - started < 4
    finally:
        stop.set()
        thread.join(60)


def test_a_claim_too_short_to_finish_a_request_is_handed_back_unsent(gov_db, clock):
    if gov_db.dialect == "sqlite":
        pytest.skip("on SQLite claims live under the outbox lease, not a per-row lease")
    hook = WebhookService(gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["model_version.*"])
    emit(gov_db)
    transport = ScriptedTransport(200)
    transport.timeout = 1.0  # a request takes at most 2 x 1 s (+5 s margin)
    short = make(gov_db, transport, clock, lease_seconds=5)
    assert short.run_once() == [] and transport.sent == []
    (delivery,) = WebhookService(gov_db).deliveries(webhook_id=hook.webhook.id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    roomy = make(gov_db, transport, clock, lease_seconds=10)
    assert [a.outcome for a in roomy.run_once()] == ["succeeded"]


def test_on_sqlite_one_dispatcher_at_a_time_holds_the_outbox(sqlite_gov_db, clock):
    WebhookService(sqlite_gov_db, clock=clock).create("http://127.0.0.1:9/hook", ["model_version.*"])
    emit(sqlite_gov_db, 4)
    first = make(sqlite_gov_db, ScriptedTransport(200), clock, name="first", batch_size=2)
    second = make(sqlite_gov_db, ScriptedTransport(200), clock, name="second")
    jobs = first.claim(2)
    assert len(jobs) == 2
    assert second.claim(10) == [] and second.run_once() == []
    assert len(first.claim(10)) == 2  # the rest, never the two in flight again
    first.record([first._send(j) for j in jobs])
    with sqlite_gov_db.engine.connect() as conn:
        statuses = conn.execute(sa.select(deliveries.c.status)).scalars().all()
    assert sorted(statuses) == ["pending", "pending", "succeeded", "succeeded"]
