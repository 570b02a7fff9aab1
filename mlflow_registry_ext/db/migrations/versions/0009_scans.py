"""Security scan reports: immutable, one row per scan of a model version's files.

Revision ID: 0009_scans
Revises: 0008_checkpoints
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009_scans"
down_revision = "0008_checkpoints"
branch_labels = None
depends_on = None

# Per-file findings of a large model can outgrow MySQL's 64 KiB TEXT.
LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "gov_security_scans",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(63), nullable=False, server_default="default"),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("model_created_ms", sa.BigInteger(), nullable=True),
        sa.Column("artifact_digest", sa.String(80), nullable=True),
        sa.Column("scanner", sa.String(64), nullable=False),
        sa.Column("scanner_version", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("highest_severity", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("body", LONG_TEXT, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_gov_security_scans"),
        sa.UniqueConstraint("id", name="uq_gov_security_scans_id"),
    )
    op.create_index(
        "ix_gov_security_scans_ws_model_version_seq",
        "gov_security_scans",
        ["workspace", "model", "version", "seq"],
    )


def downgrade():
    op.drop_index("ix_gov_security_scans_ws_model_version_seq", table_name="gov_security_scans")
    op.drop_table("gov_security_scans")
