"""Webhook subscriptions and their deliveries (admins only)."""

from typing import Any, Literal

from pydantic import Field

from mlflow_registry_ext.api.fields import TIME, Id, Int, Name, QueryInt, Text, TextList, TimeText
from mlflow_registry_ext.api.operation import Answer, Body, NoBody, Operation, Query

_EVENTS = "Event types, '<family>.*' or '*'."
_URL = "Where deliveries are posted (http or https)."
_FILTER = "Deliver only events about models matching this glob."


class Webhook(Answer):
    id: str
    url: str
    events: list[str]
    status: str
    model_filter: str | None = None
    signature_scheme: str | None = None
    description: str | None = None
    created_ms: int | None = None
    updated_ms: int | None = None
    created_by: str | None = None
    disabled_reason: str | None = None
    failing_since_ms: int | None = None
    previous_secret_expires_ms: int | None = None


class WebhookList(Answer):
    webhooks: list[Webhook]


class CreatedWebhook(Answer):
    webhook: Webhook
    secret: str


class TestResult(Answer):
    ok: bool
    webhook_id: str | None = None
    delivery_id: str | None = None
    event_type: str | None = None
    status_code: int | None = None
    error: str | None = None
    latency_ms: int | None = None


class ReplayResult(Answer):
    queued: int
    webhook_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


class Deleted(Answer):
    deleted: str


class Delivery(Answer):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    model: str | None = None
    origin: str | None = None
    attempts: int | None = None
    next_attempt_ms: int | None = None
    created_ms: int | None = None
    last_status_code: int | None = None
    last_error: str | None = None


class DeliveryList(Answer):
    deliveries: list[Delivery]


class AttemptList(Answer):
    attempts: list[dict[str, Any]]


class ListQuery(Query):
    status: Literal["active", "disabled"] | None = Field(None, description="Only these subscriptions.")


class CreateBody(Body):
    url: Text(2048) = Field(description=_URL)
    events: TextList(100) = Field(description=_EVENTS)
    model_filter: Name | None = Field(None, description=_FILTER)
    signature_scheme: Literal["standard", "mlflow"] | None = Field(None, description="Signature headers.")
    description: Text(1000) | None = Field(None, description="Free text.")
    secret: Text(1000) | None = Field(None, description="A whsec_ secret; generated when omitted.")


class UpdateBody(Body):
    url: Text(2048) | None = Field(None, description=_URL)
    events: TextList(100) | None = Field(None, description=_EVENTS)
    model_filter: Name | None = Field(None, description=_FILTER)
    signature_scheme: Literal["standard", "mlflow"] | None = Field(None, description="Signature headers.")
    description: Text(1000) | None = Field(None, description="Free text.")
    active: bool | None = Field(None, description="Resume (true) or pause (false).")


class TestBody(Body):
    event: Name | None = Field(None, description="Event type of the example.")


class RotateBody(Body):
    secret: Text(1000) | None = Field(None, description="The new whsec_ secret; generated when omitted.")
    grace_seconds: Int(0, 365 * 86400) | None = Field(None, description="How long the old secret keeps signing.")


class ReplayBody(Body):
    since: TimeText = Field(description="Start: " + TIME)
    until: TimeText | None = Field(None, description="End (inclusive): " + TIME)


class DeliveriesQuery(Query):
    webhook_id: Id | None = Field(None, description="Only this subscription's deliveries.")
    status: Literal["pending", "sending", "succeeded", "dead"] | None = Field(
        None, description="Only deliveries in this state.")
    event_type: Name | None = Field(None, description="Only this event type.")
    limit: QueryInt(1, 10_000) | None = Field(None, description="Most items to return.")


_ONE = "/webhooks/<webhook_id>"
_DELIVERY = "/deliveries/<delivery_id>"

OPERATIONS = (
    Operation("webhooks_list", "GET", "/webhooks", "Webhook subscriptions (secrets are never shown)", "webhooks",
              "admin", query=ListQuery, response=WebhookList),
    Operation("webhooks_create", "POST", "/webhooks",
              "Subscribe a URL to events; the answer holds the secret, shown once", "webhooks", "admin",
              body=CreateBody, response=CreatedWebhook),
    Operation("webhooks_get", "GET", _ONE, "One subscription", "webhooks", "admin", response=Webhook),
    Operation("webhooks_update", "PATCH", _ONE, "Change a subscription", "webhooks", "admin", body=UpdateBody,
              response=Webhook),
    Operation("webhooks_delete", "DELETE", _ONE, "Delete a subscription and its delivery log", "webhooks", "admin",
              response=Deleted),
    Operation("webhooks_test", "POST", _ONE + "/test", "Send a signed example event now", "webhooks", "admin",
              body=TestBody, response=TestResult),
    Operation("webhooks_rotate_secret", "POST", _ONE + "/rotate-secret",
              "Replace the secret; the answer holds the new one, shown once", "webhooks", "admin", body=RotateBody,
              response=CreatedWebhook),
    Operation("webhooks_replay", "POST", _ONE + "/replay",
              "Queue again every event of a time range the subscription wants", "webhooks", "admin", body=ReplayBody,
              response=ReplayResult),
    Operation("deliveries_list", "GET", "/deliveries", "Deliveries, newest first", "deliveries", "admin",
              query=DeliveriesQuery, response=DeliveryList),
    Operation("deliveries_get", "GET", _DELIVERY, "One delivery", "deliveries", "admin", response=Delivery),
    Operation("deliveries_attempts", "GET", _DELIVERY + "/attempts", "Every attempt of a delivery", "deliveries",
              "admin", response=AttemptList),
    Operation("deliveries_redeliver", "POST", _DELIVERY + "/redeliver",
              "Queue a delivery again (same body and webhook-id)", "deliveries", "admin", body=NoBody,
              response=Delivery),
)
