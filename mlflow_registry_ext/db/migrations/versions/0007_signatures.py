"""Model signatures and approval attestations made when an approval request is applied.

Revision ID: 0007_signatures
Revises: 0006_manifests
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_signatures"
down_revision = "0006_manifests"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "gov_model_signatures",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(63), nullable=False, server_default="default"),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("model_created_ms", sa.BigInteger(), nullable=True),
        sa.Column("version_created_ms", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature_bundle", sa.Text(), nullable=False),
        sa.Column("attestation", sa.Text(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gov_model_signatures"),
        sa.UniqueConstraint("request_id", name="uq_gov_model_signatures_request_id"),
    )
    op.create_index(
        "ix_gov_model_signatures_workspace",
        "gov_model_signatures",
        ["workspace", "model", "version"],
    )


def downgrade():
    op.drop_index("ix_gov_model_signatures_workspace", table_name="gov_model_signatures")
    op.drop_table("gov_model_signatures")
