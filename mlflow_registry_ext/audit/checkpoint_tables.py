"""Tables of audit checkpoints, stored tree tiles and reconcile runs (queries use these;
migration ``0008_checkpoints`` defines the schema).

Checkpoints and tiles describe the one log of a deployment, across workspaces: the tree covers
every entry, so they carry no workspace. Reconcile runs are per workspace.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from mlflow_registry_ext.db.metadata import metadata

__all__ = ["checkpoints", "tiles", "reconciles"]

checkpoints = Table(
    "gov_audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    # The chain hash of entry ``size``: incremental verification links new entries to it.
    Column("head_hash", String(64), nullable=False),
    # The compact range at ``size`` (hex peaks, comma-separated): the next root costs new leaves only.
    Column("peaks", Text, nullable=False),
    Column("origin", String(256), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("verified_ms", BigInteger),
)

tiles = Table(
    "gov_audit_tiles",
    metadata,
    Column("tile", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
)

reconciles = Table(
    "gov_audit_reconciles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace", String(63), nullable=False, server_default="default"),
    Column("ran_ms", BigInteger, nullable=False),
    Column("differences", Integer, nullable=False),
    Column("report", Text, nullable=False),
    Column("entry_seq", BigInteger),
)
