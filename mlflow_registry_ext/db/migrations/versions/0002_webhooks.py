"""Webhooks: subscriptions (secrets encrypted), the outbox of deliveries, attempts, leases.

Revision ID: 0002_webhooks
Revises: 0001_audit_log
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_webhooks"
down_revision = "0001_audit_log"
branch_labels = None
depends_on = None

LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "gov_webhooks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("model_filter", sa.String(256), nullable=True),
        sa.Column("signature_scheme", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("disabled_reason", sa.String(1000), nullable=True),
        sa.Column("failing_since_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gov_webhooks"),
    )
    op.create_index("ix_gov_webhooks_status", "gov_webhooks", ["status"])

    op.create_table(
        "gov_webhook_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("model", sa.String(256), nullable=True),
        sa.Column("event_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload", LONG_TEXT, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("source_delivery_id", sa.String(40), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_attempt_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("finished_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gov_webhook_deliveries"),
    )
    op.create_index(
        "ix_gov_webhook_deliveries_due", "gov_webhook_deliveries", ["status", "next_attempt_ms"]
    )
    op.create_index(
        "ix_gov_webhook_deliveries_webhook", "gov_webhook_deliveries", ["webhook_id", "created_ms"]
    )
    op.create_index("ix_gov_webhook_deliveries_event", "gov_webhook_deliveries", ["event_id"])

    op.create_table(
        "gov_webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("dispatcher", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gov_webhook_attempts"),
    )
    op.create_index(
        "ix_gov_webhook_attempts_delivery", "gov_webhook_attempts", ["delivery_id", "attempt"]
    )

    op.create_table(
        "gov_webhook_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("acquired_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_gov_webhook_leases"),
    )


def downgrade():
    op.drop_table("gov_webhook_leases")
    op.drop_index("ix_gov_webhook_attempts_delivery", table_name="gov_webhook_attempts")
    op.drop_table("gov_webhook_attempts")
    op.drop_index("ix_gov_webhook_deliveries_event", table_name="gov_webhook_deliveries")
    op.drop_index("ix_gov_webhook_deliveries_webhook", table_name="gov_webhook_deliveries")
    op.drop_index("ix_gov_webhook_deliveries_due", table_name="gov_webhook_deliveries")
    op.drop_table("gov_webhook_deliveries")
    op.drop_index("ix_gov_webhooks_status", table_name="gov_webhooks")
    op.drop_table("gov_webhooks")
