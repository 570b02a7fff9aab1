"""The table of model signatures and approval attestations (migration ``0007_signatures``).

One row per applied approval request (``request_id`` is unique): the OpenSSF Model Signing bundle
over the version's files and the DSSE-enveloped approval attestation, both signed with the key
``key_id`` names. Rows are only ever inserted; both documents are signed, so a row edited in the
database no longer verifies.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.workspace import DEFAULT_WORKSPACE, WORKSPACE_COLUMN_LENGTH

__all__ = ["signatures_table"]

signatures_table = Table(
    "gov_model_signatures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workspace", String(WORKSPACE_COLUMN_LENGTH), nullable=False, server_default=DEFAULT_WORKSPACE),
    Column("model", String(256), nullable=False),
    Column("version", String(32), nullable=False),
    Column("model_created_ms", BigInteger),
    Column("version_created_ms", BigInteger),
    Column("digest", String(128), nullable=False),
    Column("request_id", String(32), nullable=False, unique=True),
    Column("target_kind", String(8), nullable=False),
    Column("target", String(256), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature_bundle", Text, nullable=False),
    Column("attestation", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_gov_model_signatures_workspace", "workspace", "model", "version"),
)
