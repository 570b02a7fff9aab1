"""Tables of approval requests, reviewers' decisions and request timelines (queries use these;
migration ``0004_approvals`` defines the schema).

``open_key`` is a hash of (workspace, model, version, target, action) while a request is open and
``NULL`` once it is closed: its unique constraint lets at most one open request exist per change
in each workspace, on every engine, without partial indexes. The primary key of ``gov_approval_decisions`` is
(request, reviewer), so a reviewer's decision is one row however often they decide.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.db.scope import workspace_column
from mlflow_registry_ext.workspace import DEFAULT_WORKSPACE

__all__ = ["requests_table", "decisions_table", "comments_table", "open_key"]

requests_table = Table(
    "gov_approval_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model", String(256), nullable=False),
    Column("version", String(32), nullable=False),
    Column("target_kind", String(8), nullable=False),
    Column("target", String(256), nullable=False),
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("open_key", String(64), unique=True),
    Column("requester", String(256), nullable=False),
    Column("version_creator", String(256)),
    Column("version_created_ms", BigInteger),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger),
    Column("rule", String(512)),
    Column("rule_index", Integer),
    Column("policy_digest", String(64)),
    Column("artifact_digest", String(128)),
    Column("from_version", String(32)),
    Column("required", Integer, nullable=False),
    Column("approvals", Integer, nullable=False),
    Column("applied_at_ms", BigInteger),
    Column("applied_by", String(256)),
    Column("closed_reason", String(1000)),
    workspace_column(),
    Column("model_created_ms", BigInteger),
    Index("ix_gov_approval_requests_model_version", "model", "version"),
    Index("ix_gov_approval_requests_status", "status"),
    Index("ix_gov_approval_requests_workspace_model", "workspace", "model"),
)

decisions_table = Table(
    "gov_approval_decisions",
    metadata,
    Column("request_id", String(32), ForeignKey("gov_approval_requests.id"), primary_key=True),
    Column("reviewer", String(256), primary_key=True),
    Column("decision", String(8), nullable=False),
    Column("decided_at_ms", BigInteger, nullable=False),
    Column("comment", Text),
    Column("artifact_digest", String(128)),
    Column("bound_state_hash", String(64)),
    workspace_column(),
)

comments_table = Table(
    "gov_approval_comments",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", String(32), ForeignKey("gov_approval_requests.id"), nullable=False),
    Column("author", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    workspace_column(),
    Index("ix_gov_approval_comments_request_id", "request_id"),
)


def open_key(
    model: str, version: str, target_kind: str, target: str, action: str, workspace: str = DEFAULT_WORKSPACE
) -> str:
    """The value of ``open_key`` for an open request of this change in ``workspace``.

    The ``default`` workspace keeps the key of the releases before workspaces, so requests
    that were open when the database was upgraded still block duplicates.

    Example:
        >>> len(open_key("fraud-model", "7", "alias", "production", "promote", "ws2"))
        64
    """
    fields = (model, str(version), target_kind, target, action)
    if workspace != DEFAULT_WORKSPACE:
        fields = (workspace, *fields)
    text = "\x1f".join(fields)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
