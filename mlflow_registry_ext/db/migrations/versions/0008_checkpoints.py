"""Audit checkpoints (signed tree heads), stored tree tiles, and reconcile runs.

Revision ID: 0008_checkpoints
Revises: 0007_signatures
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_checkpoints"
down_revision = "0007_signatures"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gov_audit_checkpoints",
        sa.Column("size", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("peaks", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(256), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("verified_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("size", name="pk_gov_audit_checkpoints"),
    )
    op.create_table(
        "gov_audit_tiles",
        sa.Column("tile", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tile", name="pk_gov_audit_tiles"),
    )
    op.create_table(
        "gov_audit_reconciles",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("workspace", sa.String(63), nullable=False, server_default="default"),
        sa.Column("ran_ms", sa.BigInteger(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("entry_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gov_audit_reconciles"),
    )
    op.create_index("ix_gov_audit_reconciles_workspace_ran", "gov_audit_reconciles", ["workspace", "ran_ms"])


def downgrade():
    op.drop_index("ix_gov_audit_reconciles_workspace_ran", table_name="gov_audit_reconciles")
    op.drop_table("gov_audit_reconciles")
    op.drop_table("gov_audit_tiles")
    op.drop_table("gov_audit_checkpoints")
