"""Audit views: list (only what the caller may read), verify, export as JSON Lines, alias history,
reconcile and the drift it found."""

from __future__ import annotations

import dataclasses
import json

from flask import Response, stream_with_context

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.server.views._values import time_ms
from mlflow_registry_ext.workspace import current_workspace
from mlflow_registry_ext.server.views._serves import serves

_EXPORT_PAGE = 2000


def _query(access, model, version, alias, actor, action, since, until, after_seq, limit):
    if model is not None:
        access.require_read(model)
    return audit_log.AuditQuery(
        model=model, version=version, alias=alias, actor=actor, action=action,
        since_ms=time_ms("since", since), until_ms=time_ms("until", until), after_seq=after_seq, limit=limit,
    )


@serves("audit_list")
def audit_list(ctx, access, model, version, alias, actor, action, since, until, after_seq, limit):
    q = _query(access, model, version, alias, actor, action, since, until, after_seq, limit or 1000)
    with ctx.db.reading() as engine:
        scanned = audit_log.query(engine, q)
    entries = [e for e in scanned if access.can_read(e.model)]
    # A full page may have more after it; the cursor is the last entry scanned, shown or not.
    cursor = scanned[-1].seq if scanned and len(scanned) == q.limit else None
    return {"entries": entries, "next_after_seq": cursor}


@serves("audit_verify")
def audit_verify(ctx, access, checkpoints=None, verifier_key=None, full=None):
    if checkpoints is None:
        return audit_log.verify_and_record(ctx.db)
    from mlflow_registry_ext.audit.checkpoints import log_verifier
    from mlflow_registry_ext.audit.note import NoteError, Verifier

    if verifier_key:
        try:
            verifier = Verifier.parse(verifier_key)
        except NoteError as exc:
            raise InvalidInput(f"verifier_key: {exc}") from exc
    else:
        verifier = log_verifier()
    return audit_log.verify_and_record(ctx.db, list(checkpoints), verifier, full=bool(full))


@serves("audit_export")
def audit_export(ctx, access, model, version, alias, actor, action, since, until):
    q = _query(access, model, version, alias, actor, action, since, until, 0, _EXPORT_PAGE)
    # The stream is read after the view returns: fix the workspace of the request now.
    q = dataclasses.replace(q, workspace=current_workspace())

    def lines():
        after = 0
        while True:
            with ctx.db.reading() as engine:
                page = audit_log.query(engine, audit_log.AuditQuery(**{**q.__dict__, "after_seq": after}))
            for entry in page:
                if access.can_read(entry.model):
                    yield json.dumps(entry.to_dict(), sort_keys=True) + "\n"
            if len(page) < _EXPORT_PAGE:
                return
            after = page[-1].seq

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")


@serves("alias_history")
def alias_history(ctx, access, model, alias, at):
    with ctx.db.reading() as engine:
        return {"history": audit_log.alias_history(engine, model, alias, time_ms("at", at))}


def _readable(access, result, model=None):
    """``result`` with only the differences the caller may read (about ``model`` when given)."""
    kept = tuple(d for d in result.differences if (model is None or d.model == model) and access.can_read(d.model))
    return dataclasses.replace(result, differences=kept, ok=not kept)


@serves("audit_reconcile")
def audit_reconcile(ctx, access):
    from mlflow_registry_ext.audit.reconcile import reconcile

    # Every difference of the workspace is recorded; the answer shows those the caller may read.
    result = reconcile(ctx.db, ctx.governed_store().inner.engine)
    return _readable(access, result)


@serves("audit_drift")
def audit_drift(ctx, access, model=None):
    from mlflow_registry_ext.audit.reconcile import ReconcileResult, last_result

    if model is not None:
        access.require_read(model)
    result = last_result(ctx.db)
    if result is None:
        # Never reconciled: nothing found (yet); ran_ms 0 says so.
        result = ReconcileResult(workspace=current_workspace(), ok=True)
    return _readable(access, result, model)
