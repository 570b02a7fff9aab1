"""Every governance row carries its MLflow workspace; rows about a model carry its incarnation.

Existing rows move to the ``default`` workspace (the server default fills them). Rows about a
registered model also get ``model_created_ms``, the model's ``creation_timestamp``: with the
workspace and the name it identifies one incarnation of the model, so the records of a deleted
model never apply to a new model of the same name. Older rows have none (``NULL``).

Revision ID: 0005_workspaces
Revises: 0004_approvals
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_workspaces"
down_revision = "0004_approvals"
branch_labels = None
depends_on = None

_WORKSPACE_TABLES = (
    "gov_audit_log",
    "gov_approval_requests",
    "gov_approval_decisions",
    "gov_approval_comments",
    "gov_fairness_checks",
    "gov_webhooks",
    "gov_webhook_deliveries",
    "gov_webhook_attempts",
)
_INCARNATION_TABLES = ("gov_approval_requests", "gov_fairness_checks")
_INDEXES = (
    ("ix_gov_audit_log_workspace_seq", "gov_audit_log", ["workspace", "seq"]),
    ("ix_gov_approval_requests_workspace_model", "gov_approval_requests", ["workspace", "model"]),
    ("ix_gov_webhooks_workspace", "gov_webhooks", ["workspace"]),
)


def upgrade():
    for table in _WORKSPACE_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("workspace", sa.String(63), nullable=False, server_default="default")
            )
            if table in _INCARNATION_TABLES:
                batch.add_column(sa.Column("model_created_ms", sa.BigInteger(), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
    for table in _WORKSPACE_TABLES:
        with op.batch_alter_table(table) as batch:
            if table in _INCARNATION_TABLES:
                batch.drop_column("model_created_ms")
            batch.drop_column("workspace")
