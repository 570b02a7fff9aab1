"""Approval requests, reviewers' decisions (one row per reviewer), request timelines.

Revision ID: 0004_approvals
Revises: 0003_fairness
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_approvals"
down_revision = "0003_fairness"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gov_approval_requests",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("open_key", sa.String(64), nullable=True),
        sa.Column("requester", sa.String(256), nullable=False),
        sa.Column("version_creator", sa.String(256), nullable=True),
        sa.Column("version_created_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("rule", sa.String(512), nullable=True),
        sa.Column("rule_index", sa.Integer(), nullable=True),
        sa.Column("policy_digest", sa.String(64), nullable=True),
        sa.Column("artifact_digest", sa.String(128), nullable=True),
        sa.Column("from_version", sa.String(32), nullable=True),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("applied_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("applied_by", sa.String(256), nullable=True),
        sa.Column("closed_reason", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_gov_approval_requests"),
        sa.UniqueConstraint("open_key", name="uq_gov_approval_requests_open_key"),
    )
    op.create_index(
        "ix_gov_approval_requests_model_version", "gov_approval_requests", ["model", "version"]
    )
    op.create_index("ix_gov_approval_requests_status", "gov_approval_requests", ["status"])

    op.create_table(
        "gov_approval_decisions",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(256), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("decided_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("artifact_digest", sa.String(128), nullable=True),
        sa.Column("bound_state_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("request_id", "reviewer", name="pk_gov_approval_decisions"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["gov_approval_requests.id"],
            name="fk_gov_approval_decisions_request_id_gov_approval_requests",
        ),
    )

    op.create_table(
        "gov_approval_comments",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_gov_approval_comments"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["gov_approval_requests.id"],
            name="fk_gov_approval_comments_request_id_gov_approval_requests",
        ),
    )
    op.create_index(
        "ix_gov_approval_comments_request_id", "gov_approval_comments", ["request_id"]
    )


def downgrade():
    op.drop_index("ix_gov_approval_comments_request_id", table_name="gov_approval_comments")
    op.drop_table("gov_approval_comments")
    op.drop_table("gov_approval_decisions")
    op.drop_index("ix_gov_approval_requests_status", table_name="gov_approval_requests")
    op.drop_index("ix_gov_approval_requests_model_version", table_name="gov_approval_requests")
    op.drop_table("gov_approval_requests")
