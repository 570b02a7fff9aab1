"""The dispatcher: claims due deliveries from the outbox, sends them, records every attempt.

Several dispatchers may run against one database at once (the server's, plus any number of
``webhooks worker`` processes). A delivery is *claimed* before it is sent: on PostgreSQL and
MySQL with ``SELECT ... FOR UPDATE SKIP LOCKED``, on SQLite inside a write transaction (which
SQLite runs one at a time). Claiming sets the row to ``sending`` with a lease: its
``next_attempt_ms`` moves to the end of the lease and a fresh lease token is stored. The result
is only written back while the token still matches, so a dispatcher that stalled past its lease
cannot overwrite the work of the one that took over. A dispatcher killed mid-send leaves rows
whose lease simply runs out, and they are claimed again: delivery is at-least-once, and every
attempt of an event carries the same ``webhook-id``.

Outcomes: a 2xx answer succeeds; a 410 dead-letters the delivery and disables the subscription;
anything else (another status, a timeout, a refused connection, a blocked address) is retried on
the :class:`~.retry.RetryPolicy` schedule until it is dead-lettered. A subscription whose
attempts have all failed for ``disable_after_seconds`` (5 days by default) is disabled, and a
``webhook.disabled`` event says so. Deliveries of a disabled subscription wait, and resume when it
is enabled again.

Example:
    >>> dispatcher = Dispatcher(db)
    >>> dispatcher.run_once()            # one claim-send-record cycle, for scripts and tests
    []
    >>> dispatcher.run(stop_event)       # until stop_event is set   # doctest: +SKIP
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterator, Mapping, Protocol

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from mlflow_registry_ext import identity
from mlflow_registry_ext.entities import fields_from
from mlflow_registry_ext.errors import GovernanceError
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.events.payloads import WebhookSubscriptionPayload
from mlflow_registry_ext.audit import outbox
from mlflow_registry_ext.webhooks import encryption
from mlflow_registry_ext.db.lease import Lease
from mlflow_registry_ext.webhooks.entities import ACTIVE, DEAD, DISABLED, PENDING, SENDING, SUCCEEDED, Attempt
from mlflow_registry_ext.webhooks.retry import RetryPolicy, parse_retry_after
from mlflow_registry_ext.webhooks.service import attempt_record, secrets_for_signing
from mlflow_registry_ext.events.signing import sign_headers
from mlflow_registry_ext.db.webhook_tables import attempts, deliveries, webhooks
from mlflow_registry_ext.webhooks.transport import HttpTransport, Transport, TransportError
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["Clock", "SystemClock", "Dispatcher", "DISPATCHER_ACTOR", "OUTBOX_LEASE"]

_log = logging.getLogger(__name__)

_RELEASE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_token == bindparam("b_token"))
    .values(status=PENDING, next_attempt_ms=bindparam("b_next"), lease_token=None)
)


def _result_values() -> dict[str, Any]:
    """A delivery's new state after an attempt, as parameters of an executemany."""
    return {
        "status": bindparam("b_status"),
        "attempts": bindparam("b_attempts"),
        "next_attempt_ms": bindparam("b_next"),
        "last_attempt_ms": bindparam("b_last_attempt"),
        "last_status_code": bindparam("b_code"),
        "last_error": bindparam("b_error"),
        "finished_ms": bindparam("b_finished"),
    }


_FINISH_UNDER_LEASE = update(deliveries).where(deliveries.c.id == bindparam("b_id")).values(**_result_values())
_FINISH = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), deliveries.c.lease_token == bindparam("b_token"))
    .values(**_result_values(), lease_token=None)
)

#: The lease a dispatcher on SQLite holds while it dispatches.
OUTBOX_LEASE = "sqlite-outbox"
#: The actor of the audit entries a dispatcher writes (``webhook.disabled``).
DISPATCHER_ACTOR = "webhook-dispatcher"
_DUE = (PENDING, SENDING)
# Built once: the dispatcher asks this every poll, and building a statement costs more CPU than
# the query. Empty expanding lists exclude nothing.
_DUE_STMT = (
    select(deliveries.c.id)
    .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
    .where(
        webhooks.c.status == ACTIVE,
        deliveries.c.status.in_(_DUE),
        deliveries.c.next_attempt_ms <= bindparam("d_now"),
        deliveries.c.webhook_id.not_in(bindparam("d_exclude", expanding=True)),
        deliveries.c.id.not_in(bindparam("d_claimed", expanding=True)),
    )
    .limit(1)
)
_HINT_RECHECKS = 3  # quick looks after an in-process enqueue, before falling back to polling


class Clock(Protocol):
    """Milliseconds since the epoch; injectable so tests control time."""

    def now_ms(self) -> int: ...


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        return utc_now_ms()


@dataclasses.dataclass
class _Job:
    delivery_id: str
    webhook_id: str
    event_id: str
    payload: str
    attempts: int
    lease_token: str
    url: str
    scheme: str
    secrets: list[str]
    secret_error: str | None
    lease_expires_ms: int = 0
    workspace: str = "default"


@dataclasses.dataclass
class _Outcome:
    job: _Job
    started_ms: int
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    retry_after: str | None = None
    kind: str = "failed"  # succeeded | failed | gone | blocked | released (not sent)


class _Senders:
    """A thread pool that sends at most ``per_webhook`` requests at once to one subscription,
    holding its other claimed deliveries in a queue of their own (so a slow receiver never
    occupies more than its share of the threads, nor holds up another's deliveries)."""

    def __init__(self, send: Callable[[_Job], _Outcome], concurrency: int, per_webhook: int, done: Callable):
        self._send = send
        self._per_webhook = per_webhook
        self._concurrency = concurrency
        self._done = done
        self._pool = concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="webhook-send")
        self._waiting: dict[str, collections.deque[_Job]] = collections.defaultdict(collections.deque)
        self._sending: collections.Counter[str] = collections.Counter()

    def held(self) -> collections.Counter[str]:
        """Claimed deliveries per subscription: sending or waiting."""
        counts = collections.Counter({w: len(q) for w, q in self._waiting.items() if q})
        counts.update(+self._sending)
        return counts

    def add(self, jobs: list[_Job]) -> None:
        for job in jobs:
            self._waiting[job.webhook_id].append(job)
        self._pump()

    def finished(self, job: _Job) -> None:
        self._sending[job.webhook_id] -= 1
        self._pump()

    def _pump(self) -> None:
        busy = sum(self._sending.values())
        for webhook_id, waiting in self._waiting.items():
            while waiting and busy < self._concurrency and self._sending[webhook_id] < self._per_webhook:
                self._sending[webhook_id] += 1
                busy += 1
                self._pool.submit(self._send, waiting.popleft()).add_done_callback(self._done)

    def close(self) -> list[_Job]:
        """Wait for the requests in flight; returns the deliveries that were never sent."""
        unsent = [job for waiting in self._waiting.values() for job in waiting]
        self._waiting.clear()
        self._pool.shutdown(wait=True)
        return unsent


def default_name() -> str:
    """``host:pid:nonce``: unique per dispatcher, and tells a lease owner's host and process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Sends queued deliveries.

    Args:
        db: The governance database holding the outbox.
        transport: Sends the HTTP requests (default :class:`~.transport.HttpTransport`).
        clock: Supplies the time (default: the wall clock).
        rng: Source of retry jitter.
        retry: The retry schedule.
        name: Identifies this dispatcher in the attempts log.
        concurrency: Requests in flight at once.
        per_webhook: Requests in flight at once to one subscription (so one slow receiver
            cannot occupy every sender).
        batch_size: Most deliveries claimed at once.
        lease_seconds: How long a claim lasts: longer than a request can take (15 s to connect,
            15 s for the answer to start), so a live dispatcher never loses a claim mid-request;
            a claimed delivery that waited so long that less than that is left is handed back
            unsent.
        poll_interval: Seconds between looks at the outbox while idle.
        claim_interval: Least seconds between two looks at the outbox while deliveries keep
            arriving (a look right after the previous one only if it claimed a full batch): a
            burst of registry writes is claimed a batch per interval, not a row per write.
        record_delay: Most seconds an attempt's outcome waits to be written together with
            others (also written once :attr:`record_batch` are waiting).
        disable_after_seconds: Disable a subscription whose attempts all failed for this long.
    """

    def __init__(
        self,
        db: GovernanceDatabase,
        *,
        transport: Transport | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        retry: RetryPolicy | None = None,
        name: str | None = None,
        concurrency: int = 32,
        per_webhook: int = 16,
        batch_size: int = 64,
        lease_seconds: float = 60.0,
        poll_interval: float = 0.05,
        claim_interval: float = 0.1,
        record_delay: float = 0.25,
        disable_after_seconds: float = 5 * 24 * 3600,
        sweep_interval: float = 300.0,
    ):
        if concurrency < 1 or per_webhook < 1 or batch_size < 1:
            raise ValueError("concurrency, per_webhook and batch_size must be at least 1")
        self.db = db
        self.transport = transport or HttpTransport(pool_size=per_webhook)
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.retry = retry or RetryPolicy.from_env()
        self.name = name or default_name()
        self.concurrency = concurrency
        self.per_webhook = per_webhook
        self.batch_size = batch_size
        self.lease_ms = int(lease_seconds * 1000)
        self.poll_interval = poll_interval
        self.disable_after_ms = int(disable_after_seconds * 1000)
        self.sweep_interval = sweep_interval
        self.claim_interval = claim_interval
        self.record_batch = max(1, concurrency)
        self.record_delay = record_delay
        self._skip_locked = db.dialect in ("postgresql", "mysql", "mariadb")
        # SQLite has one writer at a time: rather than a write per claim, one dispatcher at a
        # time holds the outbox lease and claims by reading, tracking its claims in memory.
        self._outbox_lease = (
            None
            if self._skip_locked
            else Lease(db, OUTBOX_LEASE, owner=self.name, ttl_seconds=lease_seconds, clock=self.clock.now_ms)
        )
        self._claimed_ids: set[str] = set()
        # The longest a request can take: connecting, then waiting for the answer to start.
        self._send_budget_ms = int((2 * getattr(self.transport, "timeout", 15.0) + 5) * 1000)
        self._next_sweep = 0.0

    # -- one cycle, synchronously -----------------------------------------------------------

    def run_once(self) -> list[Attempt]:
        """Claim what is due (up to one per sender), send it, record the outcomes; returns the
        attempts made. On SQLite the outbox lease is taken for the cycle and given back."""
        lease = self._outbox_lease
        borrowed = lease is not None and not lease.held()
        try:
            jobs = self.claim(min(self.batch_size, self.concurrency))
            if not jobs:
                return []
            if self.concurrency == 1 or len(jobs) == 1:
                outcomes = [self._send(job) for job in jobs]
            else:
                with concurrent.futures.ThreadPoolExecutor(min(self.concurrency, len(jobs))) as pool:
                    outcomes = list(pool.map(self._send, jobs))
            return self.record(outcomes)
        finally:
            if borrowed and lease.held():
                lease.release()

    # -- the long-running loop ---------------------------------------------------------------

    def run(self, stop: threading.Event, keep_going: Callable[[], bool] | None = None) -> None:
        """Dispatch until ``stop`` is set (or ``keep_going()`` turns false).

        On SQLite, only while holding the outbox lease: a dispatcher without it waits, and takes
        over when the holder stops, dies or stalls past its lease.
        """
        lease = self._outbox_lease
        if lease is None:
            self._run(stop, keep_going)
            return
        still = keep_going or (lambda: True)
        while not stop.is_set() and still():
            if not lease.acquire():
                stop.wait(lease.retry_seconds)
                continue
            try:
                self._run(stop, lambda: still() and lease.held())
            finally:
                lease.release()

    def _run(self, stop: threading.Event, keep_going: Callable[[], bool] | None = None) -> None:
        """Dispatch until ``stop`` is set (or ``keep_going()`` turns false), then finish what is in
        flight (up to the transport's timeout) and return.

        Claims and results are batched: a subscription's deliveries are claimed once a batch of
        them fits its window (two times :attr:`per_webhook`: one sending, one waiting); after a
        claim that found deliveries the next look waits for :attr:`claim_interval` (unless the
        claim was a full batch), so a burst of registry writes is claimed an interval at a
        time; results are written every :attr:`record_batch` outcomes or :attr:`record_delay`
        seconds (on engines whose claims write, also with the next claim), so the database sees
        one transaction per batch, never one per registry write, and none is open while sending.
        Database outages are waited out: the loop backs off and retries.
        """
        done: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
        wake = threading.Event()
        unrecorded: list[_Outcome] = []
        oldest = 0.0
        backlog = False
        backoff = 0.0
        claim_at = max(1, self.concurrency // 4)
        last_look = -1e9  # when the outbox was last read for due deliveries
        last_claim = -1e9  # when a look last found some

        def finished(future: concurrent.futures.Future) -> None:
            done.put(future.result())
            wake.set()

        senders = _Senders(self._send, self.concurrency, self.per_webhook, finished)
        hinted = [0.0, 0]  # when this process last queued rows; rechecks since

        def hint() -> None:
            hinted[0], hinted[1] = time.monotonic(), 0
            wake.set()

        # On SQLite without WAL a reader holds off a writer's commit, and a hint arrives just
        # before the writer commits: looking then would slow the registry. Poll only, there.
        unsubscribe = outbox.on_enqueue(hint) if self._readers_never_block_writers() else (lambda: None)
        try:
            while not stop.is_set() and (keep_going is None or keep_going()):
                wake.clear()
                while True:
                    try:
                        outcome = done.get_nowait()
                    except queue.Empty:
                        break
                    senders.finished(outcome.job)
                    if not unrecorded:
                        oldest = time.monotonic()
                    unrecorded.append(outcome)
                held = senders.held()
                room = {w: 2 * self.per_webhook - n for w, n in held.items() if n > 0}
                # A busy subscription is claimed for a batch at a time, not row by row.
                blocked = [w for w, r in room.items() if r < self.per_webhook]
                room.update({w: 0 for w in blocked})
                free = 2 * self.concurrency - sum(held.values())
                claimed: list[_Job] = []
                now = time.monotonic()
                # While the registry writes a burst, look at most once per claim interval (unless
                # the last claim was a full batch): the events of the interval are claimed, sent
                # and recorded together, rather than a read and a write per registry write.
                paced = not backlog and now - last_claim < self.claim_interval
                try:
                    limit = 0
                    if not paced and (free >= claim_at or (free > 0 and not held)):
                        last_look = now
                        if backlog or self.due(exclude=blocked):
                            limit = min(free, self.batch_size)
                    flush = bool(unrecorded) and (
                        len(unrecorded) >= self.record_batch
                        or now - oldest >= self.record_delay
                        # a claim's transaction writes anyway (not on SQLite, where it reads)
                        or (limit > 0 and self._outbox_lease is None)
                    )
                    if limit or flush:
                        claimed = self._cycle(unrecorded if flush else [], limit, room)
                        if flush:
                            unrecorded = []
                        if limit:
                            backlog = len(claimed) >= limit
                        if claimed:
                            last_claim = now
                    self._maybe_sweep()
                    backoff = 0.0
                except (SQLAlchemyError, GovernanceError) as exc:
                    backoff = min(30.0, max(0.5, backoff * 2))
                    _log.warning("Webhook dispatcher: database error, retrying in %.1f s: %s", backoff, exc)
                    stop.wait(backoff)
                    continue
                senders.add(claimed)
                if backlog:
                    continue
                now = time.monotonic()
                paced_until = last_claim + self.claim_interval
                next_look = max(last_look + self.poll_interval, paced_until)
                if hinted[1] < _HINT_RECHECKS and now - hinted[0] < self.poll_interval:
                    # Rows were queued in this process but may not be committed yet: look again
                    # in a moment (2, 4, 8 ms) rather than at the next poll, but not before the
                    # claim interval since the last claim is over.
                    soon = max(now + 0.002 * 2 ** hinted[1], paced_until)
                    if soon < next_look:
                        next_look = soon
                        hinted[1] += 1
                # No look was due, or no sender was free for one: a finished send wakes us.
                timeout = next_look - now if next_look > now else self.poll_interval
                if unrecorded:
                    timeout = min(timeout, max(0.0, oldest + self.record_delay - now))
                wake.wait(timeout)
        finally:
            unsubscribe()
            unrecorded.extend(_Outcome(job, self.clock.now_ms(), 0, kind="released") for job in senders.close())
            while True:
                try:
                    unrecorded.append(done.get_nowait())
                except queue.Empty:
                    break
            if unrecorded:
                try:
                    self.record(unrecorded)
                except (SQLAlchemyError, GovernanceError) as exc:
                    # Their leases run out and they are sent again: at-least-once, same webhook-id.
                    _log.warning("Webhook dispatcher: could not record %d attempts: %s", len(unrecorded), exc)

    def _readers_never_block_writers(self) -> bool:
        if self.db.dialect != "sqlite":
            return True
        try:
            with self.db.reading() as engine, engine.connect() as conn:
                return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower() == "wal"
        except (SQLAlchemyError, GovernanceError):
            return False

    # -- claiming ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _claim_transaction(self) -> Iterator[Connection]:
        if not self._skip_locked:
            with self.db.transaction() as conn:  # SQLite: BEGIN IMMEDIATE, one writer at a time
                yield conn
            return
        self.db.ensure_schema()
        with self.db.engine.connect() as conn:
            # READ COMMITTED: no gap locks, so claiming never blocks registry writes for long.
            conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                yield conn

    def due(self, exclude: list[str] | tuple[str, ...] = ()) -> bool:
        """Whether any delivery of an active subscription is due (a cheap read, no lock)."""
        params = {"d_now": self.clock.now_ms(), "d_exclude": list(exclude), "d_claimed": sorted(self._claimed_ids)}
        with self.db.reading() as engine, engine.connect() as conn:
            return conn.execute(_DUE_STMT, params).first() is not None

    def claim(self, limit: int, room: Mapping[str, int] | None = None) -> list[_Job]:
        """Claim up to ``limit`` due deliveries of active subscriptions for this dispatcher.

        Args:
            limit: Most deliveries to claim.
            room: How many more deliveries of a subscription may be claimed (subscriptions not
                named get :attr:`per_webhook`).
        """
        if self._outbox_lease is not None:
            if not self._outbox_lease.held() and not self._outbox_lease.acquire():
                return []
            with self.db.reading() as engine, engine.connect() as conn:
                return self._claim(conn, limit, room)
        with self._claim_transaction() as conn:
            return self._claim(conn, limit, room)

    def _claim(self, conn: Connection, limit: int, room: Mapping[str, int] | None) -> list[_Job]:
        now = self.clock.now_ms()
        token = uuid.uuid4().hex
        left = dict(room or {})
        hooks = {h.id: h for h in conn.execute(select(webhooks).where(webhooks.c.status == ACTIVE))}
        allowed = [w for w in hooks if left.get(w, self.per_webhook) > 0]
        if not allowed:
            return []
        # Over-fetch: candidates beyond a subscription's room are locked but left untouched,
        # which releases them at commit.
        stmt = (
            select(
                deliveries.c.id,
                deliveries.c.webhook_id,
                deliveries.c.event_id,
                deliveries.c.payload,
                deliveries.c.attempts,
            )
            .where(
                deliveries.c.status.in_(_DUE),
                deliveries.c.next_attempt_ms <= now,
                deliveries.c.webhook_id.in_(allowed),
            )
            .order_by(deliveries.c.next_attempt_ms)
            .limit(limit * 2)
        )
        if self._skip_locked:
            stmt = stmt.with_for_update(skip_locked=True)
        elif self._claimed_ids:
            stmt = stmt.where(deliveries.c.id.not_in(sorted(self._claimed_ids)))
        rows = []
        for row in conn.execute(stmt).all():
            if len(rows) == limit:
                break
            if left.get(row.webhook_id, self.per_webhook) > 0:
                left[row.webhook_id] = left.get(row.webhook_id, self.per_webhook) - 1
                rows.append(row)
        if not rows:
            return []
        picked = [r.id for r in rows]
        if self._outbox_lease is None:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(picked))
                .values(status=SENDING, lease_token=token, next_attempt_ms=now + self.lease_ms)
            )
        else:
            self._claimed_ids.update(picked)
        signing = {w: self._secrets(hooks[w], now) for w in {r.webhook_id for r in rows}}
        # Under the outbox lease a claim never expires by itself (the lease does).
        expires = now + self.lease_ms if self._outbox_lease is None else 2**62
        return [self._job(r, hooks[r.webhook_id], token, signing[r.webhook_id], expires) for r in rows]

    @staticmethod
    def _secrets(hook: Any, now: int) -> tuple[list[str], str | None]:
        try:
            return secrets_for_signing(hook, now), None
        except encryption.SecretUnreadable as exc:
            return [], str(exc)

    def _job(
        self, row: Any, hook: Any, token: str, signing: tuple[list[str], str | None], expires: int
    ) -> _Job:
        secrets, secret_error = signing
        return fields_from(
            _Job, row, delivery_id=row.id, lease_token=token, url=hook.url,
            scheme=hook.signature_scheme, secrets=secrets, secret_error=secret_error,
            lease_expires_ms=expires, workspace=hook.workspace,
        )

    # -- sending -----------------------------------------------------------------------------

    def _send(self, job: _Job) -> _Outcome:
        started = self.clock.now_ms()
        if started + self._send_budget_ms > job.lease_expires_ms:
            # It waited too long for a free sender: the claim could run out mid-request and the
            # delivery be sent twice. Hand it back unsent instead.
            return _Outcome(job, started, 0, kind="released")
        if job.secret_error:
            return _Outcome(job, started, 0, error=job.secret_error)
        try:
            headers = sign_headers(
                scheme=job.scheme,
                msg_id=job.event_id,
                timestamp=started // 1000,
                body=job.payload,
                secrets=job.secrets,
            )
            response = self.transport.send(job.url, job.payload.encode("utf-8"), headers)
        except TransportError as exc:
            kind = "blocked" if exc.kind == "blocked" else "failed"
            return _Outcome(job, started, exc.latency_ms, error=str(exc) or exc.kind, kind=kind)
        except Exception as exc:  # noqa: BLE001 - a sender thread must always report back
            _log.exception("Webhook delivery %s failed unexpectedly", job.delivery_id)
            return _Outcome(job, started, 0, error=f"{type(exc).__name__}: {exc}")
        if response.ok:
            kind = "succeeded"
        elif response.status_code == 410:
            kind = "gone"
        else:
            kind = "failed"
        return _Outcome(
            job,
            started,
            response.latency_ms,
            status_code=response.status_code,
            error=None if response.ok else f"HTTP {response.status_code}",
            response_excerpt=response.body_excerpt,
            retry_after=response.retry_after,
            kind=kind,
        )

    # -- recording ---------------------------------------------------------------------------

    def record(self, outcomes: list[_Outcome]) -> list[Attempt]:
        """Write the attempts and the deliveries' new states in one transaction."""
        try:
            with self._claim_transaction() as conn:
                return self._record(conn, outcomes)
        finally:
            self._claimed_ids.difference_update(o.job.delivery_id for o in outcomes)

    def _cycle(
        self, outcomes: list[_Outcome], limit: int, room: Mapping[str, int] | None
    ) -> list[_Job]:
        """Record ``outcomes`` and claim up to ``limit`` more, in one transaction (one commit)."""
        if self._outbox_lease is not None:
            if outcomes:
                self.record(outcomes)
            return self.claim(limit, room) if limit else []
        with self._claim_transaction() as conn:
            if outcomes:
                self._record(conn, outcomes)
            return self._claim(conn, limit, room) if limit else []

    def _record(self, conn: Connection, outcomes: list[_Outcome]) -> list[Attempt]:
        now = self.clock.now_ms()
        logged: list[Attempt] = []
        states: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        health: dict[str, _Outcome] = {}
        first_failure: dict[str, int] = {}
        for outcome in outcomes:
            job = outcome.job
            if outcome.kind == "released":
                released.append({"b_id": job.delivery_id, "b_token": job.lease_token, "b_next": now})
                continue
            number = job.attempts + 1
            logged.append(attempt_record(outcome, delivery_id=job.delivery_id, webhook_id=job.webhook_id,
                                         attempt=number, outcome=outcome.kind, dispatcher=self.name,
                                         workspace=job.workspace))
            states.append(self._next_state(outcome, number, now))
            health[job.webhook_id] = outcome
            if outcome.kind != "succeeded":
                first_failure.setdefault(job.webhook_id, outcome.started_ms)
        leased = self._outbox_lease is None
        if released and leased:
            conn.execute(_RELEASE, released)
        if not logged:
            return logged
        conn.execute(attempts.insert(), [a.to_dict() for a in logged])
        # Only while the claim is still ours (its lease token, or the outbox lease): a
        # dispatcher that stalled past its lease must not overwrite its successor's results.
        if leased:
            conn.execute(_FINISH, states)
        elif self._outbox_lease.confirm(conn):
            conn.execute(_FINISH_UNDER_LEASE, states)
        else:
            return logged
        for webhook_id, last in health.items():
            self._update_health(conn, webhook_id, last, first_failure.get(webhook_id), now)
        return logged

    def _next_state(self, outcome: _Outcome, number: int, now: int) -> dict[str, Any]:
        values: dict[str, Any] = {
            "b_id": outcome.job.delivery_id,
            "b_token": outcome.job.lease_token,
            "b_attempts": number,
            "b_last_attempt": outcome.started_ms,
            "b_code": outcome.status_code,
            "b_error": None if outcome.error is None else outcome.error[:1000],
            "b_status": DEAD,
            "b_next": now,
            "b_finished": now,
        }
        if outcome.kind == "succeeded":
            return {**values, "b_status": SUCCEEDED}
        if outcome.kind == "gone":
            return values
        retry_after = parse_retry_after(outcome.retry_after, now / 1000)
        delay = self.retry.delay_ms(number, retry_after, self.rng)
        if delay is None:
            return values
        return {**values, "b_status": PENDING, "b_next": now + delay, "b_finished": None}

    def _update_health(
        self, conn: Connection, webhook_id: str, last: _Outcome, first_failed_ms: int | None, now: int
    ) -> None:
        if last.kind == "succeeded":
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.failing_since_ms.is_not(None))
                .values(failing_since_ms=None)
            )
            return
        if last.kind == "gone":
            self._disable(conn, webhook_id, "the receiver answered 410 Gone", now)
            return
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since_ms.is_(None))
            .values(failing_since_ms=first_failed_ms if first_failed_ms is not None else now)
        )
        since = conn.execute(
            select(webhooks.c.failing_since_ms).where(webhooks.c.id == webhook_id, webhooks.c.status == ACTIVE)
        ).scalar()
        if since is not None and now - since >= self.disable_after_ms:
            days = (now - since) / 86_400_000
            self._disable(conn, webhook_id, f"every delivery attempt failed for {days:.1f} days", now)

    def _disable(self, conn: Connection, webhook_id: str, reason: str, now: int) -> None:
        changed = conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.status == ACTIVE)
            .values(status=DISABLED, disabled_reason=reason, updated_ms=now)
        ).rowcount
        if not changed:
            return
        hook = conn.execute(
            select(webhooks.c.url, webhooks.c.events, webhooks.c.workspace).where(webhooks.c.id == webhook_id)
        ).one()
        _log.warning("Webhook %s disabled: %s", webhook_id, reason)
        with identity.bind_request(identity.RequestIdentity(actor=DISPATCHER_ACTOR, source="os")):
            audit_log.append(
                conn,
                [
                    AuditDraft(
                        action="webhook.disabled",
                        before={"status": ACTIVE},
                        after={"status": DISABLED, "reason": reason},
                        details={"webhook_id": webhook_id, "url": hook.url, "events": json.loads(hook.events)},
                        workspace=hook.workspace,
                        payload=WebhookSubscriptionPayload(webhook_id=webhook_id, url=hook.url,
                                                           events=list(json.loads(hook.events)),
                                                           status=DISABLED, reason=reason),
                    )
                ],
            )

    # -- housekeeping ------------------------------------------------------------------------

    def _maybe_sweep(self) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.sweep_interval
        self.sweep()

    def sweep(self) -> None:
        """Drop queued deliveries whose subscription was deleted while they were being written,
        and forget rotated-out secrets whose grace period is over."""
        now = self.clock.now_ms()
        with self.db.transaction() as conn:
            conn.execute(
                delete(deliveries).where(
                    and_(
                        deliveries.c.status.in_(_DUE),
                        deliveries.c.webhook_id.not_in(select(webhooks.c.id).scalar_subquery()),
                    )
                )
            )
            conn.execute(
                update(webhooks)
                .where(webhooks.c.previous_secret_expires_ms <= now)
                .values(previous_secret=None, previous_secret_expires_ms=None)
            )
