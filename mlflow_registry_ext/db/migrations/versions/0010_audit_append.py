"""The routine that chains one audit entry in one call (PostgreSQL, MySQL/MariaDB).

Revision ID: 0010_audit_append
Revises: 0009_scans
Create Date: 2026-12-02
"""

import contextlib
import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

from mlflow_registry_ext.db import append_routine

_log = logging.getLogger(__name__)

revision = "0010_audit_append"
down_revision = "0009_scans"
branch_labels = None
depends_on = None


def _dialect() -> str:
    name = op.get_bind().dialect.name
    return "mysql" if name == "mariadb" else name


def upgrade():
    statements = append_routine.create_statements(_dialect())
    if not statements:
        return
    bind = op.get_bind()
    # A user without the right to create routines (MySQL's CREATE ROUTINE) still gets a working
    # log: entries are then chained with plain statements. PostgreSQL needs a savepoint to go on
    # after a failed statement; MySQL commits each DDL statement by itself.
    guard = bind.begin_nested() if bind.dialect.name == "postgresql" else contextlib.nullcontext()
    try:
        with guard:
            for statement in statements:
                op.execute(statement)
    except DBAPIError as exc:
        _log.warning("The audit log's routine %s was not created (%s); audit entries are chained "
                     "with plain statements", append_routine.NAME, exc.orig)


def downgrade():
    for statement in append_routine.drop_statements(_dialect()):
        op.execute(statement)
