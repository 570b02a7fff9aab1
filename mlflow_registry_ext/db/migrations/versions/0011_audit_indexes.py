"""The audit log keeps only the indexes its queries use.

Every registry write inserts one audit entry, and every index of the log is one more B-tree the
insert changes (and one more page SQLite journals per write). Every query of the log is scoped to
a workspace and ordered by ``seq`` (``ix_gov_audit_log_workspace_seq``); alias history and a
model's entries use ``ix_gov_audit_log_model_alias_seq`` (its leading column serves a model
alone); time ranges use ``ix_gov_audit_log_timestamp_ms``. Filters by actor or action read the
workspace's entries in order and stop at the page's limit.

Revision ID: 0011_audit_indexes
Revises: 0010_audit_append
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011_audit_indexes"
down_revision = "0010_audit_append"
branch_labels = None
depends_on = None

_DROPPED = (
    ("ix_gov_audit_log_model_seq", ["model", "seq"]),
    ("ix_gov_audit_log_actor", ["actor"]),
    ("ix_gov_audit_log_action", ["action"]),
)


def upgrade():
    for name, _columns in _DROPPED:
        op.drop_index(name, table_name="gov_audit_log")


def downgrade():
    for name, columns in _DROPPED:
        op.create_index(name, "gov_audit_log", columns)
