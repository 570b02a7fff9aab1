"""Core table definitions of the audit log (queries use these; migrations define the schema)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.db.scope import workspace_column

audit_log = Table(
    "gov_audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_id", String(36), nullable=False, unique=True),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(128), nullable=False),
    Column("model", String(256)),
    Column("version", String(32)),
    Column("alias", String(256)),
    Column("body", Text, nullable=False),
    Column("hash", String(64), nullable=False),
    workspace_column(),
)

audit_head = Table(
    "gov_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
