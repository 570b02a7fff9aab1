"""Fairness check records: immutable, one row per metric and sensitive feature.

Revision ID: 0003_fairness
Revises: 0002_webhooks
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003_fairness"
down_revision = "0002_webhooks"
branch_labels = None
depends_on = None

# Per-group values of an intersection can outgrow MySQL's 64 KiB TEXT.
LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "gov_fairness_checks",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("check_name", sa.String(256), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("sensitive_feature", sa.String(512), nullable=False),
        sa.Column("aggregate", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("threshold_max", sa.Float(precision=53), nullable=True),
        sa.Column("threshold_min", sa.Float(precision=53), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("dataset_name", sa.String(256), nullable=True),
        sa.Column("dataset_digest", sa.String(80), nullable=True),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("body", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_gov_fairness_checks"),
        sa.UniqueConstraint("id", name="uq_gov_fairness_checks_id"),
    )
    op.create_index(
        "ix_gov_fairness_checks_model_version_seq", "gov_fairness_checks", ["model", "version", "seq"]
    )


def downgrade():
    op.drop_index("ix_gov_fairness_checks_model_version_seq", table_name="gov_fairness_checks")
    op.drop_table("gov_fairness_checks")
