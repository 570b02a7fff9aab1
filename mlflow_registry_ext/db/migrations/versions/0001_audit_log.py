"""Audit log: hash-chained entries and the chain head.

Revision ID: 0001_audit_log
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_audit_log"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade():
    op.create_table(
        "gov_audit_log",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("model", sa.String(256), nullable=True),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("alias", sa.String(256), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_gov_audit_log"),
        sa.UniqueConstraint("entry_id", name="uq_gov_audit_log_entry_id"),
    )
    op.create_index("ix_gov_audit_log_model_seq", "gov_audit_log", ["model", "seq"])
    op.create_index("ix_gov_audit_log_actor", "gov_audit_log", ["actor"])
    op.create_index("ix_gov_audit_log_action", "gov_audit_log", ["action"])
    op.create_index("ix_gov_audit_log_timestamp_ms", "gov_audit_log", ["timestamp_ms"])
    op.create_index("ix_gov_audit_log_model_alias_seq", "gov_audit_log", ["model", "alias", "seq"])
    head = op.create_table(
        "gov_audit_head",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gov_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade():
    op.drop_table("gov_audit_head")
    op.drop_index("ix_gov_audit_log_model_alias_seq", table_name="gov_audit_log")
    op.drop_index("ix_gov_audit_log_timestamp_ms", table_name="gov_audit_log")
    op.drop_index("ix_gov_audit_log_action", table_name="gov_audit_log")
    op.drop_index("ix_gov_audit_log_actor", table_name="gov_audit_log")
    op.drop_index("ix_gov_audit_log_model_seq", table_name="gov_audit_log")
    op.drop_table("gov_audit_log")
