"""Webhook operations: one method per thing a user can do (the CLI, REST API and
``GovernanceClient`` are thin faces over these).

Every change to a subscription is a governance action: it is chained into the audit log (as
``webhook.created``, ``webhook.updated``, ...) in the same transaction as the change, so other
subscriptions can hear about it. Secrets are write-only: returned once by :meth:`create` and
:meth:`rotate_secret`, stored encrypted, never logged, never in an audit entry or event.

Example:
    >>> service = WebhookService.for_registry_uri(registry_uri)
    >>> created = service.create("https://93.184.215.14/hook", ["model_version_alias.*"],
    ...                          model_filter="fraud-*")  # a host name must resolve to a public address
    >>> created.secret          # shown this once
    'whsec_...'
    >>> service.deliveries(webhook_id=created.webhook.id, status="dead")
    []
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.scope import current_workspace, in_workspace
from mlflow_registry_ext.entities import fields_from, values_of
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext.events import (
    EVENT_TYPES,
    event_from_audit_entry,
    example_event,
    validate_event_patterns,
)
from mlflow_registry_ext.events.payloads import WebhookSubscriptionPayload
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.webhooks import encryption, ssrf
from mlflow_registry_ext.webhooks.entities import (
    ACTIVE,
    DEAD,
    DELIVERY_STATUSES,
    DISABLED,
    SUCCEEDED,
    Attempt,
    CreatedWebhook,
    Delivery,
    ReplayResult,
    TestResult,
    Webhook,
)
from mlflow_registry_ext.audit.outbox import (
    delivery_row,
    entry_delivery_row,
    event_model_names,
    new_delivery_id,
    subscription_matches,
)
from mlflow_registry_ext.events.signing import (
    SECRET_PREFIX,
    SignatureScheme,
    generate_secret,
    sign_headers,
    validate_secret,
)
from mlflow_registry_ext.db.webhook_tables import attempts, deliveries, webhooks
from mlflow_registry_ext.webhooks.transport import HttpTransport, Transport, TransportError
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["WebhookService", "DEFAULT_GRACE_SECONDS", "attempt_record", "secrets_for_signing"]

DEFAULT_GRACE_SECONDS = 24 * 3600
_MAX_LIST = 10_000
_EXCERPT_CHARS = 1000


_now_ms = utc_now_ms


def secrets_for_signing(row: Any, now_ms: int) -> list[str]:
    """The decrypted secrets that sign a delivery now: the current one, then the rotated-out one
    while its grace period lasts.

    Raises:
        encryption.SecretUnreadable: when a secret cannot be decrypted.
    """
    found = [encryption.decrypt(row.secret)]
    expires = row.previous_secret_expires_ms
    if row.previous_secret and expires is not None and expires > now_ms:
        found.append(encryption.decrypt(row.previous_secret))
    return found


def attempt_record(source: Any = None, **values: Any) -> Attempt:
    """A record of the attempts log from ``values`` and the attributes of ``source`` that share
    its field names (see :func:`~mlflow_registry_ext.entities.fields_from`), in its delivery's
    workspace; the error and the response excerpt are cut to what is kept."""
    attempt = fields_from(Attempt, source, **values)
    return dataclasses.replace(
        attempt,
        latency_ms=max(0, int(attempt.latency_ms)),
        error=None if attempt.error is None else attempt.error[:1000],
        response_excerpt=None if attempt.response_excerpt is None else attempt.response_excerpt[:_EXCERPT_CHARS],
    )


def _webhook(row: Any) -> Webhook:
    return fields_from(Webhook, row, events=list(json.loads(row.events)))


_DELIVERY_COLUMNS = [c for c in deliveries.c if c.name not in ("payload", "lease_token")]


def _delivery(row: Any) -> Delivery:
    return fields_from(Delivery, row)


def _attempt(row: Any) -> Attempt:
    return fields_from(Attempt, row)


def _public(webhook: Webhook) -> dict[str, Any]:
    """What an audit entry may say about a subscription (never its secret)."""
    return {"webhook_id": webhook.id,
            **values_of(webhook, "url", "events", "model_filter", "signature_scheme", "status", "description")}


def _payload(webhook: Webhook, **details: Any) -> WebhookSubscriptionPayload:
    """The event payload of a change to ``webhook``: the subscription as :func:`_public` records
    it, with ``details`` (what else the entry records)."""
    return WebhookSubscriptionPayload(
        webhook_id=webhook.id,
        url=webhook.url,
        events=list(webhook.events),
        status=webhook.status,
        details={"model_filter": webhook.model_filter, "signature_scheme": webhook.signature_scheme,
                 "description": webhook.description, **details},
    )


class WebhookService:
    """Subscriptions, deliveries, tests, redelivery and replay over one governance database.

    Args:
        db: The governance database.
        transport: What ``test`` sends through (default: the real HTTP transport).
        clock: Milliseconds since the epoch (injectable for tests).
    """

    def __init__(
        self,
        db: GovernanceDatabase,
        *,
        transport: Transport | None = None,
        clock: Callable[[], int] | None = None,
    ):
        self.db = db
        self._transport = transport
        self._now = clock or _now_ms

    @classmethod
    def for_registry_uri(cls, registry_uri: str | None, **kwargs: Any) -> WebhookService:
        """The service over the governance database of a (``governed+``) registry URI."""
        return cls(GovernanceDatabase.for_registry_uri(registry_uri), **kwargs)

    # -- subscriptions -------------------------------------------------------------------

    def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        model_filter: str | None = None,
        secret: str | None = None,
        signature_scheme: str = "standard",
        description: str | None = None,
    ) -> CreatedWebhook:
        """Subscribe ``url`` to ``events``; returns the subscription and its secret (shown once).

        Args:
            url: An http(s) URL on a public address (unless private targets are allowed).
            events: Event types, ``<family>.*`` or ``*``.
            model_filter: Deliver only events about models whose name matches this glob.
            secret: A ``whsec_`` secret; generated when omitted.
            signature_scheme: ``standard`` (Standard Webhooks headers) or ``mlflow``.
            description: Free text.

        Raises:
            InvalidInput: a bad URL, event type, secret, or no encryption key to store it.
        """
        scheme = _scheme(signature_scheme)
        checked_url = _url(url)
        patterns = _patterns(events)
        the_secret = _secret(secret, scheme) if secret is not None else generate_secret()
        now = self._now()
        row = {
            "id": "wh_" + uuid.uuid4().hex,
            "url": checked_url,
            "events": json.dumps(patterns),
            "model_filter": _filter(model_filter),
            "signature_scheme": scheme.value,
            "status": ACTIVE,
            "description": _description(description),
            "secret": encryption.encrypt(the_secret),
            "previous_secret": None,
            "previous_secret_expires_ms": None,
            "created_ms": now,
            "updated_ms": now,
            "created_by": identity.current_actor(),
            "disabled_reason": None,
            "failing_since_ms": None,
            "workspace": current_workspace(),
        }
        with self.db.transaction() as conn:
            conn.execute(webhooks.insert(), row)
            created = self._load(conn, row["id"])
            audit_log.append(conn, [AuditDraft(action="webhook.created", after=_public(created),
                                               payload=_payload(created))])
        return CreatedWebhook(webhook=created, secret=the_secret)

    def get(self, webhook_id: str) -> Webhook:
        """One subscription (without its secret). Raises ``NotFound``."""
        with self.db.reading() as engine, engine.connect() as conn:
            return self._load(conn, webhook_id)

    def list(self, *, status: str | None = None) -> list[Webhook]:
        """Every subscription of the caller's workspace, oldest first, optionally only ``active``
        or ``disabled`` ones."""
        stmt = select(webhooks).where(in_workspace(webhooks)).order_by(webhooks.c.created_ms, webhooks.c.id)
        if status is not None:
            if status not in (ACTIVE, DISABLED):
                raise InvalidInput(f"status must be 'active' or 'disabled', got {status!r}")
            stmt = stmt.where(webhooks.c.status == status)
        with self.db.reading() as engine, engine.connect() as conn:
            return [_webhook(r) for r in conn.execute(stmt)]

    def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        model_filter: str | None = None,
        signature_scheme: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> Webhook:
        """Change a subscription; ``None`` leaves a field as it is, ``""`` clears the model filter
        or description. ``active=True`` re-enables a disabled subscription (its pending
        deliveries resume), ``active=False`` pauses it.

        Raises:
            NotFound: no such subscription.
            InvalidInput: a bad value, or switching to ``standard`` while the secret is not a
                ``whsec_`` secret (rotate it at the same time).
        """
        values: dict[str, Any] = {}
        if url is not None:
            values["url"] = _url(url)
        if events is not None:
            values["events"] = json.dumps(_patterns(events))
        if model_filter is not None:
            values["model_filter"] = _filter(model_filter)
        if description is not None:
            values["description"] = _description(description)
        if signature_scheme is not None:
            values["signature_scheme"] = _scheme(signature_scheme).value
        if active is not None:
            values["status"] = ACTIVE if active else DISABLED
            values["disabled_reason"] = None if active else f"disabled by {identity.current_actor()}"
            if active:
                values["failing_since_ms"] = None
        with self.db.transaction() as conn:
            before = self._load(conn, webhook_id, lock=True)
            if values.get("signature_scheme") == SignatureScheme.STANDARD.value:
                self._check_secret_fits_standard(conn, webhook_id)
            if values:
                values["updated_ms"] = self._now()
                conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))
            after = self._load(conn, webhook_id)
            changed_before, changed_after = _changes(_public(before), _public(after))
            if changed_after:
                audit_log.append(
                    conn,
                    [
                        AuditDraft(
                            action="webhook.updated",
                            before=changed_before,
                            after=changed_after,
                            details={"webhook_id": webhook_id, "url": after.url, "events": after.events},
                            payload=WebhookSubscriptionPayload(
                                webhook_id=webhook_id,
                                url=after.url,
                                events=list(after.events),
                                # Only a change of status is recorded, and so announced.
                                status=changed_after.get("status"),
                                details={k: v for k, v in {**changed_before, **changed_after}.items()
                                         if k not in ("webhook_id", "url", "events", "status", "reason")},
                            ),
                        )
                    ],
                )
        return after

    def rotate_secret(
        self, webhook_id: str, *, secret: str | None = None, grace_seconds: int = DEFAULT_GRACE_SECONDS
    ) -> CreatedWebhook:
        """Replace the secret; the old one keeps signing alongside it for ``grace_seconds``.

        Returns the subscription and the new secret (shown once).
        """
        if grace_seconds < 0:
            raise InvalidInput("grace_seconds must not be negative")
        with self.db.transaction() as conn:
            current = self._load(conn, webhook_id, lock=True)
            new_secret = (
                _secret(secret, _scheme(current.signature_scheme)) if secret is not None else generate_secret()
            )
            now = self._now()
            old_token = conn.execute(select(webhooks.c.secret).where(webhooks.c.id == webhook_id)).scalar_one()
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id)
                .values(
                    secret=encryption.encrypt(new_secret),
                    previous_secret=old_token if grace_seconds else None,
                    previous_secret_expires_ms=now + grace_seconds * 1000 if grace_seconds else None,
                    updated_ms=now,
                )
            )
            rotated = self._load(conn, webhook_id)
            audit_log.append(
                conn,
                [
                    AuditDraft(
                        action="webhook.secret_rotated",
                        details={**_public(rotated), "grace_seconds": grace_seconds},
                        payload=_payload(rotated, grace_seconds=grace_seconds),
                    )
                ],
            )
        return CreatedWebhook(webhook=rotated, secret=new_secret)

    def delete(self, webhook_id: str) -> None:
        """Delete a subscription with its queued deliveries and delivery log."""
        with self.db.transaction() as conn:
            gone = self._load(conn, webhook_id, lock=True)
            conn.execute(attempts.delete().where(attempts.c.webhook_id == webhook_id))
            conn.execute(deliveries.delete().where(deliveries.c.webhook_id == webhook_id))
            conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
            audit_log.append(conn, [AuditDraft(action="webhook.deleted", before=_public(gone), payload=_payload(gone))])

    # -- sending a test ---------------------------------------------------------------------

    def test(self, webhook_id: str, *, event_type: str | None = None) -> TestResult:
        """Send a signed example event now (marked ``"test": true``) and report the answer.

        The attempt is recorded in the delivery log as a delivery of origin ``test``; it is not
        retried.
        """
        with self.db.reading() as engine, engine.connect() as conn:
            row = conn.execute(
                select(webhooks).where(webhooks.c.id == webhook_id, in_workspace(webhooks))
            ).first()
        if row is None:
            raise NotFound(f"Webhook {webhook_id!r} does not exist")
        patterns = json.loads(row.events)
        if event_type is None:
            event_type = next(t for t in EVENT_TYPES if subscription_matches(patterns, None, t, [None]))
        elif event_type not in EVENT_TYPES:
            raise InvalidInput(f"Unknown event type {event_type!r}")
        now = self._now()
        event = example_event(
            event_type, event_id="evt_test_" + uuid.uuid4().hex, timestamp_ms=now, actor=identity.current_actor()
        )
        body = event.to_json()
        try:
            secrets = secrets_for_signing(row, now)
        except encryption.SecretUnreadable as exc:
            raise InvalidInput(str(exc)) from None
        headers = sign_headers(
            scheme=row.signature_scheme, msg_id=event.id, timestamp=now // 1000, body=body, secrets=secrets
        )
        status_code = error = excerpt = None
        try:
            response = self._sender().send(row.url, body.encode("utf-8"), headers)
        except TransportError as exc:
            ok, error, latency, outcome = False, str(exc), exc.latency_ms, "blocked" if exc.kind == "blocked" else "failed"
        else:
            ok, status_code, latency = response.ok, response.status_code, response.latency_ms
            excerpt = response.body_excerpt
            outcome = "succeeded" if ok else ("gone" if status_code == 410 else "failed")
            if not ok:
                error = f"HTTP {status_code}"
        delivery_id = new_delivery_id()
        finished = self._now()
        record = delivery_row(
            webhook_id=webhook_id,
            event_id=event.id,
            event_type=event_type,
            model=event.model,
            event_ms=now,
            payload=body,
            origin="test",
            now_ms=now,
            workspace=row.workspace,
        )
        record.update(
            id=delivery_id,
            status=SUCCEEDED if ok else DEAD,
            attempts=1,
            last_attempt_ms=now,
            last_status_code=status_code,
            last_error=error,
            finished_ms=finished,
        )
        result = TestResult(
            webhook_id=webhook_id,
            delivery_id=delivery_id,
            event_type=event_type,
            ok=ok,
            status_code=status_code,
            error=error,
            latency_ms=latency,
            response_excerpt=excerpt,
        )
        attempt = attempt_record(result, attempt=1, started_ms=now, outcome=outcome, dispatcher="test",
                                 workspace=row.workspace)
        with self.db.transaction() as conn:
            conn.execute(deliveries.insert(), record)
            conn.execute(attempts.insert(), attempt.to_dict())
        return result

    def _sender(self) -> Transport:
        if self._transport is None:
            self._transport = HttpTransport(pool_size=1)
        return self._transport

    # -- the delivery log -------------------------------------------------------------------

    def deliveries(
        self,
        *,
        webhook_id: str | None = None,
        status: str | None = None,
        event_type: str | None = None,
        event_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries of the caller's workspace, newest first, filtered by subscription, status,
        event type or event."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(DELIVERY_STATUSES)}, got {status!r}")
        if not 1 <= limit <= _MAX_LIST:
            raise InvalidInput(f"limit must be between 1 and {_MAX_LIST}, got {limit}")
        stmt = (
            select(*_DELIVERY_COLUMNS)
            .where(in_workspace(deliveries))
            .order_by(deliveries.c.created_ms.desc(), deliveries.c.id)
            .limit(limit)
        )
        for column, value in (
            (deliveries.c.webhook_id, webhook_id),
            (deliveries.c.status, status),
            (deliveries.c.event_type, event_type),
            (deliveries.c.event_id, event_id),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        with self.db.reading() as engine, engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt)]

    def get_delivery(self, delivery_id: str) -> Delivery:
        """One delivery. Raises ``NotFound``."""
        with self.db.reading() as engine, engine.connect() as conn:
            row = conn.execute(
                select(*_DELIVERY_COLUMNS).where(deliveries.c.id == delivery_id, in_workspace(deliveries))
            ).first()
        if row is None:
            raise NotFound(f"Delivery {delivery_id!r} does not exist")
        return _delivery(row)

    def attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of a delivery, first to last."""
        self.get_delivery(delivery_id)
        stmt = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.attempt, attempts.c.id)
        with self.db.reading() as engine, engine.connect() as conn:
            return [_attempt(r) for r in conn.execute(stmt)]

    def redeliver(self, delivery_id: str) -> Delivery:
        """Queue the same event (same body and ``webhook-id``) again for the same subscription.

        Returns the new delivery, due at once; a running dispatcher sends it.
        """
        with self.db.transaction() as conn:
            source = conn.execute(
                select(deliveries).where(deliveries.c.id == delivery_id, in_workspace(deliveries))
            ).first()
            if source is None:
                raise NotFound(f"Delivery {delivery_id!r} does not exist")
            hook = self._load(conn, source.webhook_id)
            _require_active(hook)
            event = values_of(source, "event_id", "event_type", "model", "event_ms", "payload")
            row = delivery_row(**event, webhook_id=source.webhook_id, workspace=source.workspace, origin="redeliver",
                               now_ms=self._now(), source_delivery_id=source.id)
            conn.execute(deliveries.insert(), row)
            audit_log.append(
                conn,
                [
                    AuditDraft(
                        action="webhook.redelivered",
                        details={
                            "webhook_id": hook.id,
                            "url": hook.url,
                            "events": hook.events,
                            "delivery_id": delivery_id,
                            "new_delivery_id": row["id"],
                            "event_id": source.event_id,
                        },
                        payload=WebhookSubscriptionPayload(
                            webhook_id=hook.id, url=hook.url, events=list(hook.events),
                            details={"delivery_id": delivery_id, "new_delivery_id": row["id"],
                                     "event_id": source.event_id},
                        ),
                    )
                ],
            )
            created = conn.execute(select(*_DELIVERY_COLUMNS).where(deliveries.c.id == row["id"])).one()
        return _delivery(created)

    def replay(self, webhook_id: str, *, since: Any, until: Any = None) -> ReplayResult:
        """Queue every event of ``[since, until]`` the subscription wants, as it was recorded.

        Args:
            webhook_id: The subscription.
            since: Start of the range: ISO 8601 time, date, epoch ms or datetime.
            until: End of the range (inclusive); default now.
        """
        since_ms = audit_log.parse_time(since)
        until_ms = audit_log.parse_time(until)
        if since_ms is None:
            raise InvalidInput("replay needs a start time (since)")
        if until_ms is not None and until_ms < since_ms:
            raise InvalidInput("until is before since")
        hook = self.get(webhook_id)
        _require_active(hook)
        now = self._now()
        rows: list[dict[str, Any]] = []
        with self.db.reading() as engine:
            after = 0
            while True:
                page = audit_log.query(
                    engine, AuditQuery(since_ms=since_ms, until_ms=until_ms, after_seq=after, limit=2000)
                )
                if not page:
                    break
                for entry in page:
                    if subscription_matches(hook.events, hook.model_filter, entry.action, event_model_names(entry)):
                        payload = event_from_audit_entry(entry).to_json()
                        rows.append(
                            entry_delivery_row(webhook_id, entry, payload=payload, origin="replay", now_ms=now)
                        )
                after = page[-1].seq
        with self.db.transaction() as conn:
            self._load(conn, webhook_id)
            for start in range(0, len(rows), 500):
                conn.execute(deliveries.insert(), rows[start : start + 500])
            audit_log.append(
                conn,
                [
                    AuditDraft(
                        action="webhook.replayed",
                        details={
                            "webhook_id": webhook_id,
                            "url": hook.url,
                            "events": hook.events,
                            "since_ms": since_ms,
                            "until_ms": until_ms,
                            "queued": len(rows),
                        },
                        payload=WebhookSubscriptionPayload(
                            webhook_id=webhook_id, url=hook.url, events=list(hook.events),
                            details={"since_ms": since_ms, "until_ms": until_ms, "queued": len(rows)},
                        ),
                    )
                ],
            )
        return ReplayResult(webhook_id=webhook_id, since_ms=since_ms, until_ms=until_ms, queued=len(rows))

    # -- helpers ----------------------------------------------------------------------------

    def _load(self, conn: Connection, webhook_id: str, *, lock: bool = False) -> Webhook:
        stmt = select(webhooks).where(webhooks.c.id == webhook_id, in_workspace(webhooks))
        if lock and conn.dialect.name in ("postgresql", "mysql", "mariadb"):
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"Webhook {webhook_id!r} does not exist")
        return _webhook(row)

    def _check_secret_fits_standard(self, conn: Connection, webhook_id: str) -> None:
        token = conn.execute(select(webhooks.c.secret).where(webhooks.c.id == webhook_id)).scalar_one()
        try:
            current = encryption.decrypt(token)
        except encryption.SecretUnreadable as exc:
            raise InvalidInput(str(exc)) from None
        if not current.startswith(SECRET_PREFIX):
            raise InvalidInput(
                "The current secret is not a whsec_ secret, which the standard scheme needs: "
                "rotate the secret (without --secret to generate one) before switching"
            )


def _require_active(hook: Webhook) -> None:
    if hook.status != ACTIVE:
        raise InvalidInput(
            f"Webhook {hook.id} is disabled ({hook.disabled_reason or 'no reason recorded'}); "
            f"enable it first (webhooks update {hook.id} --enable)"
        )


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _scheme(value: str) -> SignatureScheme:
    try:
        return SignatureScheme.parse(value)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _url(url: str) -> str:
    try:
        return ssrf.check_url(url)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _patterns(events: Sequence[str] | str) -> list[str]:
    if isinstance(events, str):
        events = events.split(",")
    try:
        return validate_event_patterns(list(events))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _secret(secret: str, scheme: SignatureScheme) -> str:
    try:
        return validate_secret(secret, scheme)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _filter(model_filter: str | None) -> str | None:
    value = (model_filter or "").strip()
    if len(value) > 256:
        raise InvalidInput("model filter is longer than 256 characters")
    return value or None


def _description(description: str | None) -> str | None:
    value = (description or "").strip()
    if len(value) > 1000:
        raise InvalidInput("description is longer than 1000 characters")
    return value or None
