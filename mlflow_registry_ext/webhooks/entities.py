"""Plain, frozen records of the webhook service. No database or web code here.

A :class:`Webhook` never carries its secret: the secret is write-only, shown once in the
:class:`CreatedWebhook` that creating or rotating returns.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# The status values of the subscription and delivery tables, declared beside them.
from mlflow_registry_ext.db.webhook_tables import (
    ACTIVE,
    DEAD,
    DELIVERY_STATUSES,
    DISABLED,
    PENDING,
    SENDING,
    SUCCEEDED,
)

__all__ = [
    "ACTIVE",
    "DISABLED",
    "PENDING",
    "SENDING",
    "SUCCEEDED",
    "DEAD",
    "DELIVERY_STATUSES",
    "Webhook",
    "CreatedWebhook",
    "Delivery",
    "Attempt",
    "TestResult",
    "ReplayResult",
]



class _Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class Webhook(_Record):
    """A subscription.

    Attributes:
        id: ``wh_...``.
        url: Where deliveries are posted.
        events: Event patterns: exact types, ``<family>.*`` or ``*``.
        model_filter: A glob on the registered model's name; events about other models (and
            events about no model) are not delivered. ``None`` delivers everything.
        signature_scheme: ``standard`` or ``mlflow``.
        status: ``active`` or ``disabled``.
        description: Free text.
        created_ms: When it was created.
        updated_ms: When it last changed.
        created_by: Who created it.
        disabled_reason: Why it is disabled (by a user, a 410, or days of failures).
        failing_since_ms: Start of the current run of failed attempts (``None`` when the last
            attempt succeeded).
        previous_secret_expires_ms: While a rotated-out secret still signs: when it stops.
        workspace: The MLflow workspace it belongs to; it hears only that workspace's events.
    """

    id: str
    url: str
    events: list[str]
    model_filter: str | None
    signature_scheme: str
    status: str
    description: str | None
    created_ms: int
    updated_ms: int
    created_by: str
    disabled_reason: str | None = None
    failing_since_ms: int | None = None
    previous_secret_expires_ms: int | None = None
    workspace: str = "default"


@dataclasses.dataclass(frozen=True)
class CreatedWebhook(_Record):
    """A new subscription or rotated secret, with the secret: the only time it is shown."""

    webhook: Webhook
    secret: str


@dataclasses.dataclass(frozen=True)
class Delivery(_Record):
    """One event queued for one subscription, and where its delivery stands.

    Attributes:
        id: ``dlv_...``.
        webhook_id: The subscription.
        event_id: The event (= the ``webhook-id`` header of every attempt).
        event_type: The event type.
        model: The registered model the event is about, if any.
        event_ms: When the event happened.
        origin: ``event`` (written with the change), ``redeliver``, ``replay`` or ``test``.
        source_delivery_id: For a redelivery, the delivery it repeats.
        status: ``pending``, ``sending``, ``succeeded`` or ``dead``.
        attempts: Attempts made.
        next_attempt_ms: When it is due (for ``sending``: when its lease ends).
        created_ms: When it was queued.
        last_attempt_ms: When it was last tried.
        last_status_code: The HTTP status of the last attempt, if it got one.
        last_error: Why the last attempt failed, if it did.
        finished_ms: When it succeeded or was dead-lettered.
        workspace: The MLflow workspace of its subscription.
    """

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    model: str | None
    event_ms: int
    origin: str
    source_delivery_id: str | None
    status: str
    attempts: int
    next_attempt_ms: int
    created_ms: int
    last_attempt_ms: int | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    finished_ms: int | None = None
    workspace: str = "default"


@dataclasses.dataclass(frozen=True)
class Attempt(_Record):
    """One HTTP attempt of a delivery.

    Attributes:
        delivery_id: The delivery.
        webhook_id: Its subscription.
        attempt: 1 for the first attempt, and so on.
        started_ms: When it was sent.
        latency_ms: How long until the answer was read (or the failure).
        status_code: The HTTP status, if there was an answer.
        error: Why it failed without an answer (timeout, refused, blocked address, ...).
        response_excerpt: The start of the response body.
        outcome: ``succeeded``, ``failed``, ``gone`` (410) or ``blocked`` (SSRF guard).
        dispatcher: Which dispatcher sent it.
        workspace: The MLflow workspace of its subscription.
    """

    delivery_id: str
    webhook_id: str
    attempt: int
    started_ms: int
    latency_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    outcome: str
    dispatcher: str | None = None
    workspace: str = "default"


@dataclasses.dataclass(frozen=True)
class TestResult(_Record):
    """What ``webhooks test`` got back from the receiver."""

    __test__ = False  # not a pytest test class

    webhook_id: str
    delivery_id: str
    event_type: str
    ok: bool
    status_code: int | None
    error: str | None
    latency_ms: int
    response_excerpt: str | None


@dataclasses.dataclass(frozen=True)
class ReplayResult(_Record):
    """What a replay queued: how many events of the range matched the subscription."""

    webhook_id: str
    since_ms: int
    until_ms: int | None
    queued: int
