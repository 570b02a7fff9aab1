"""The baseline: what the registry held when the plugin was first installed on it.

A database that already has registered models when the governed store first opens it holds
state no entry describes. :func:`ensure_baseline` records it once, as ``audit.baseline``
entries (one per model; a model with many versions takes several, each body well under the
64 KiB of a MySQL TEXT column), so reconciling covers an existing deployment from day one.

It runs only while the log is empty and no checkpoint was ever signed: a log emptied by an
attacker (which checkpoints held elsewhere expose) is never re-baselined. The check and the
write happen under the chain head's lock, so of several processes starting at once exactly one
writes it; the others find the log no longer empty.

Example:
    >>> ensure_baseline(db, store.inner.engine)    # entries written for what the log lacked
    0
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from mlflow_registry_ext.audit.checkpoint_tables import checkpoints
from mlflow_registry_ext.audit.registry_reader import has_content, has_registry, read_state, workspaces
from mlflow_registry_ext.audit.replay import BASELINE_ACTION
from mlflow_registry_ext.audit.state import RegistryState
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.audit import log as audit
from mlflow_registry_ext.audit.draft import AuditDraft

__all__ = ["ensure_baseline", "baseline_drafts"]

_log = logging.getLogger(__name__)
_PART_BYTES = 40_000


def _log_is_new(conn: Connection) -> bool:
    if conn.execute(select(func.max(audit_log.c.seq))).scalar() is not None:
        return False
    return conn.execute(select(checkpoints.c.size).limit(1)).first() is None


def baseline_drafts(state: RegistryState, workspace: str) -> list[AuditDraft]:
    """The ``audit.baseline`` entries describing ``state``: one per model, in parts when its
    versions would make one body too large (part 1 sets the model, later parts add versions)."""
    drafts = []
    for name in sorted(state):
        model = state[name]
        parts: list[dict] = [{}]
        size = 0
        for version, found in model.versions.items():
            encoded = found.to_dict()
            cost = len(json.dumps(encoded)) + len(version) + 8
            if parts[-1] and size + cost > _PART_BYTES:
                parts.append({})
                size = 0
            parts[-1][version] = encoded
            size += cost
        for index, versions in enumerate(parts, start=1):
            after = model.to_dict() if index == 1 else {}
            after["versions"] = versions
            drafts.append(AuditDraft(
                action=BASELINE_ACTION,
                model=name,
                after=after,
                details={"part": index, "parts": len(parts), "versions": len(model.versions)},
                workspace=workspace,
            ))
    return drafts


def ensure_baseline(db, registry_engine: Engine) -> int:
    """Record the registry's state when the log is new and the registry is not; returns how
    many baseline entries were written (0 almost always)."""
    with db.reading() as engine, engine.connect() as conn:
        if not _log_is_new(conn):
            return 0
    with registry_engine.connect() as conn:
        if not has_registry(conn) or not has_content(conn):
            return 0
    same = db.engine.url.render_as_string(hide_password=False) == registry_engine.url.render_as_string(
        hide_password=False)
    with db.transaction() as conn:
        stmt = select(audit_head.c.seq).where(audit_head.c.id == 1)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        conn.execute(stmt)
        if not _log_is_new(conn):
            return 0
        drafts = _drafts(conn) if same else _drafts_from(registry_engine)
        entries = audit.append(conn, drafts)
    _log.info("Recorded the registry's existing state as %d audit.baseline entries", len(entries))
    return len(entries)


def _drafts(conn: Connection) -> list[AuditDraft]:
    drafts = []
    for workspace in workspaces(conn):
        drafts.extend(baseline_drafts(read_state(conn, workspace), workspace))
    return drafts


def _drafts_from(registry_engine: Engine) -> list[AuditDraft]:
    with registry_engine.connect() as conn:
        return _drafts(conn)
