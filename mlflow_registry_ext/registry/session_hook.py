"""Write the audit entry of a registry change in the same transaction as the change.

MLflow's SQL store opens every transaction through ``store.ManagedSessionMaker()``, a context
manager that commits when its block ends. We wrap it: while a governed operation runs, the
wrapper records the rows each flush changes and, after MLflow's code and just before MLflow's
commit, appends the audit entry (and its webhook outbox rows) through the same connection. The
change and its entry commit together or not at all, so a process killed at any point never
leaves one without the other. Reads outside an operation pass straight through.
"""

from __future__ import annotations

import contextlib

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from mlflow_registry_ext import identity
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.registry import operation
from mlflow_registry_ext.registry.changes import ChangeCollector
from mlflow_registry_ext.registry.drafts import drafts_for

__all__ = ["install_audit_hook"]


def install_audit_hook(inner_store, relay=None) -> None:
    """Wrap ``inner_store.ManagedSessionMaker`` so governed operations are audited in-transaction.

    With a :class:`~mlflow_registry_ext.audit.pending.PendingRelay` (governance tables in
    another database), the transaction writes an intent instead, which the relay chains after
    the commit.
    """
    original = inner_store.ManagedSessionMaker
    if getattr(original, "_governed", False):
        return

    def managed_session_maker(*args, **kwargs):
        # Every session opened during an operation is watched, even those MLflow marks
        # read-only: an entry must never depend on MLflow labelling its sessions right.
        op = operation.current()
        if op is None:
            return original(*args, **kwargs)
        return _audited(original, op, relay, args, kwargs)

    managed_session_maker._governed = True
    managed_session_maker.__wrapped__ = original
    inner_store.ManagedSessionMaker = managed_session_maker


@contextlib.contextmanager
def _audited(original, op, relay, args, kwargs):
    with original(*args, **kwargs) as session:
        collector = ChangeCollector(session, prepare=_stamp_creator)
        yield session
        if session.new or session.dirty or session.deleted:
            session.flush()
        changes = list(collector.changes)
        if not changes:
            return
        drafts = drafts_for(op, changes) + op.take_follow()
        if relay is None:
            op.entries.extend(audit_log.append(session.connection(), drafts))
        else:
            op.intents.append(relay.stage(session.connection(), drafts))


def _stamp_creator(session: Session) -> None:
    # MLflow leaves user_id empty when the caller gives none; the actor is who created it. Set
    # before the flush, so the version's own INSERT carries it (no UPDATE after it).
    actor = None
    for obj in session.new:
        state = inspect(obj)
        if state.mapper.persist_selectable.name == "model_versions" and not getattr(obj, "user_id", None):
            actor = actor or identity.current_actor()
            obj.user_id = actor
