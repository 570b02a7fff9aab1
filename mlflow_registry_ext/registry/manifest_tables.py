"""Tables of version manifests and detected artifact changes (migration ``0006_manifests``).

A manifest row is keyed by the model's incarnation (workspace, name, creation time) and version,
so a deleted and re-created model of the same name never inherits one. Both tables are
insert-only.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from mlflow_registry_ext.db.metadata import metadata

__all__ = ["manifests_table", "changes_table"]


def _version_key() -> list[Column]:
    """The primary key of a version of one incarnation of a model."""
    return [
        Column("workspace", String(63), primary_key=True, server_default="default"),
        Column("model", String(256), primary_key=True),
        Column("model_created_ms", BigInteger, primary_key=True),
        Column("version", String(32), primary_key=True),
    ]


manifests_table = Table(
    "gov_version_manifests",
    metadata,
    *_version_key(),
    Column("version_created_ms", BigInteger),
    Column("digest", String(128), nullable=False),
    Column("files", Text, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("total_size", BigInteger, nullable=False),
    Column("source", String(1000), nullable=False),
    Column("snapshot", String(1000)),
    Column("method", String(16), nullable=False),
    Column("pinned_at_ms", BigInteger, nullable=False),
    Column("pinned_by", String(256)),
)

changes_table = Table(
    "gov_artifact_changes",
    metadata,
    *_version_key(),
    Column("found_digest", String(128), primary_key=True),
    Column("detected_at_ms", BigInteger, nullable=False),
)
