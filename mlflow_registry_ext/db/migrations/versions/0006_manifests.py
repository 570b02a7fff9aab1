"""Manifests of pinned model versions and the changes later found in their sources.

Both tables are insert-only: a manifest is what reviewers see and approve, so it is never
updated; a detected change is a fact with a time.

Revision ID: 0006_manifests
Revises: 0005_workspaces
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_manifests"
down_revision = "0005_workspaces"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gov_version_manifests",
        sa.Column("workspace", sa.String(63), nullable=False, server_default="default"),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("model_created_ms", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("version_created_ms", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("snapshot", sa.String(1000), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("pinned_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("pinned_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint(
            "workspace", "model", "model_created_ms", "version", name="pk_gov_version_manifests"
        ),
    )
    op.create_table(
        "gov_artifact_changes",
        sa.Column("workspace", sa.String(63), nullable=False, server_default="default"),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("model_created_ms", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("found_digest", sa.String(128), nullable=False),
        sa.Column("detected_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace", "model", "model_created_ms", "version", "found_digest",
            name="pk_gov_artifact_changes",
        ),
    )


def downgrade():
    op.drop_table("gov_artifact_changes")
    op.drop_table("gov_version_manifests")
