"""Core table definitions of webhook subscriptions, the outbox, the delivery log and the leases,
with the status values their columns hold.

Queries use these; migration ``0002_webhooks`` defines the schema (a test keeps the two equal).
There are no foreign keys between them on purpose: a registry write adds outbox rows while a
subscription may be deleted at the same moment, and that race must never fail the registry
write. Rows left behind by such a race are swept by the dispatcher.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text
from sqlalchemy.dialects import mysql

from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.db.scope import workspace_column

__all__ = ["webhooks", "deliveries", "attempts", "leases", "LONG_TEXT", "ACTIVE", "DISABLED", "PENDING",
           "SENDING", "SUCCEEDED", "DEAD", "DELIVERY_STATUSES"]

# The values of gov_webhooks.status.
ACTIVE = "active"
DISABLED = "disabled"

# The values of gov_webhook_deliveries.status.
PENDING = "pending"  # waiting for its next attempt (at next_attempt_ms)
SENDING = "sending"  # claimed by a dispatcher; due again when its lease ends
SUCCEEDED = "succeeded"
DEAD = "dead"  # out of attempts, answered 410 Gone, or a failed test: never retried
DELIVERY_STATUSES = (PENDING, SENDING, SUCCEEDED, DEAD)

#: Payloads can outgrow MySQL's 64 KiB TEXT (a model deleted with many versions).
LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

webhooks = Table(
    "gov_webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("events", Text, nullable=False),
    Column("model_filter", String(256)),
    Column("signature_scheme", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", String(1000)),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_expires_ms", BigInteger),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("disabled_reason", String(1000)),
    Column("failing_since_ms", BigInteger),
    workspace_column(),
    Index("ix_gov_webhooks_status", "status"),
    Index("ix_gov_webhooks_workspace", "workspace"),
)

deliveries = Table(
    "gov_webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("webhook_id", String(40), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("model", String(256)),
    Column("event_ms", BigInteger, nullable=False),
    Column("payload", LONG_TEXT, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("source_delivery_id", String(40)),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("lease_token", String(64)),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_attempt_ms", BigInteger),
    Column("last_status_code", Integer),
    Column("last_error", String(1000)),
    Column("finished_ms", BigInteger),
    workspace_column(),
    Index("ix_gov_webhook_deliveries_due", "status", "next_attempt_ms"),
    Index("ix_gov_webhook_deliveries_webhook", "webhook_id", "created_ms"),
    Index("ix_gov_webhook_deliveries_event", "event_id"),
)

attempts = Table(
    "gov_webhook_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False),
    Column("webhook_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", String(1000)),
    Column("response_excerpt", Text),
    Column("outcome", String(16), nullable=False),
    Column("dispatcher", String(128)),
    workspace_column(),
    Index("ix_gov_webhook_attempts_delivery", "delivery_id", "attempt"),
)

leases = Table(
    "gov_webhook_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(256), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
    Column("acquired_ms", BigInteger, nullable=False),
)
