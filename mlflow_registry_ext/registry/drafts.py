"""Audit drafts for a registry transaction: the operation plus the rows it changed.

Each action names its target and a compact before/after: the alias's previous version, the old
description, the stage it left. Anything an operation touched beyond its primary rows is kept
under ``details.changes`` so nothing goes unrecorded (an updated row with its primary key under
``row``, so :mod:`mlflow_registry_ext.audit.replay` can apply it).

Each draft carries the payload of its webhook event, built from the same row values (an action
with no payload class of its own, such as the prompt and MLflow webhook actions, carries its
before/after/details as a :class:`~mlflow_registry_ext.events.GenericPayload`).
"""

from __future__ import annotations

from typing import Any, Callable

from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.events.payloads import (
    GenericPayload,
    ModelVersionAliasPayload,
    ModelVersionPayload,
    ModelVersionTagPayload,
    Payload,
    RegisteredModelPayload,
    RegisteredModelTagPayload,
)
from mlflow_registry_ext.registry.changes import RowChange
from mlflow_registry_ext.registry.operation import Operation

__all__ = ["drafts_for"]

RM, MV = "registered_models", "model_versions"
RM_TAG, MV_TAG, ALIAS = "registered_model_tags", "model_version_tags", "registered_model_aliases"
_SOFT_DELETED = "Deleted_Internal"


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _rows(changes, table, kind=None):
    return [c for c in changes if c.table == table and (kind is None or c.kind == kind)]


def _rest(changes, used) -> list[dict[str, Any]]:
    ids = {id(c) for c in used}
    return [_described(c) for c in changes if id(c) not in ids]


def _described(change: RowChange) -> dict[str, Any]:
    described = {"table": change.table, "kind": change.kind, "before": change.before, "after": change.after}
    if change.kind == "update":
        # before/after hold only the changed columns: name the row, so the change can be replayed.
        described["row"] = change.identity()
    return described


def _draft(op: Operation, changes, used, *, payload: Payload | None, extra: dict[str, Any] | None = None,
           **fields) -> AuditDraft:
    details = dict(op.details)
    rest = _rest(changes, used)
    if rest:
        details["changes"] = rest
    details.update(extra or {})
    fields.setdefault("model", op.model)
    fields.setdefault("version", op.version)
    fields.setdefault("alias", op.alias)
    if payload is None:
        payload = GenericPayload(before=dict(fields.get("before") or {}), after=dict(fields.get("after") or {}),
                                 details=dict(details))
    return AuditDraft(action=op.action, details=details, payload=payload, **fields)


def _tags(rows: list[RowChange]) -> dict[str, Any]:
    return {r.value("key"): r.value("value") for r in rows}


def _model_created(op, changes):
    rm = _rows(changes, RM, "insert")
    tags = _rows(changes, RM_TAG, "insert")
    after = {"description": rm[0].value("description") if rm else None, "tags": _tags(tags)}
    payload = RegisteredModelPayload(name=op.model, description=after["description"], tags=dict(after["tags"]))
    return [_draft(op, changes, rm + tags, after=after, payload=payload)]


def _field_update(field: str, table: str):
    def describe(op, changes):
        rows = _rows(changes, table, "update")
        before = {k: v for r in rows for k, v in r.before.items() if k == field}
        after = {k: v for r in rows for k, v in r.after.items() if k == field}
        # The one field updated is the description, of a model or of a version.
        payload: Payload = (
            RegisteredModelPayload(name=op.model, description=after.get(field), previous_description=before.get(field))
            if table == RM else
            ModelVersionPayload(name=op.model, version=op.version, description=after.get(field),
                                previous_description=before.get(field))
        )
        return [_draft(op, changes, rows, before=before, after=after, payload=payload)]

    return describe


def _model_renamed(op, changes):
    rows = _rows(changes, RM, "update")
    mv_rows = _rows(changes, MV, "update")
    new_name = op.details.get("new_name")
    op = Operation(op.action, op.model, op.version, op.alias)
    payload = RegisteredModelPayload(name=op.model if new_name is None else new_name, previous_name=op.model)
    return [_draft(op, changes, rows + mv_rows, before={"name": op.model}, after={"name": new_name},
                   payload=payload)]


def _model_deleted(op, changes):
    versions = sorted(
        str(r.value("version"))
        for r in _rows(changes, MV, "delete")
        if r.value("current_stage") != _SOFT_DELETED
    )
    aliases = {r.value("alias"): _str(r.value("version")) for r in _rows(changes, ALIAS, "delete")}
    rm = _rows(changes, RM, "delete")
    before = {
        "description": rm[0].value("description") if rm else None,
        "versions": versions,
        "aliases": aliases,
        "tags": _tags(_rows(changes, RM_TAG, "delete")),
    }
    payload = RegisteredModelPayload(name=op.model, description=before["description"], tags=dict(before["tags"]),
                                     versions=list(versions), aliases=dict(aliases))
    # Cascaded rows are summarised above; keep the operation's entry compact.
    return [_draft(op, [], [], before=before, payload=payload)]


def _version_created(op, changes):
    mv = _rows(changes, MV, "insert")
    tags = _rows(changes, MV_TAG, "insert")
    if not mv:
        return [_draft(op, changes, [], payload=ModelVersionPayload(name=op.model, version=op.version))]
    row = mv[0]
    after = {
        "source": row.value("source"),
        "run_id": row.value("run_id"),
        "description": row.value("description"),
        "status": row.value("status"),
        "user_id": row.value("user_id"),
        "tags": _tags(tags),
    }
    payload = ModelVersionPayload(
        name=row.value("name"),
        version=_str(row.value("version")),
        source=after["source"],
        run_id=after["run_id"],
        tags=dict(after["tags"]),
        description=after["description"],
    )
    return [
        _draft(
            op,
            changes,
            mv + tags + _rows(changes, RM, "update"),
            model=row.value("name"),
            version=_str(row.value("version")),
            after=after,
            payload=payload,
        )
    ]


def _stage_transitioned(op, changes):
    rows = _rows(changes, MV, "update")
    target = [r for r in rows if str(r.value("version")) == str(op.version)]
    others = [r for r in rows if r not in target]
    before = {"stage": target[0].before.get("current_stage")} if target else {}
    after = {"stage": target[0].after.get("current_stage")} if target else {}
    details_archived = [
        {"version": _str(r.value("version")), "from": r.before.get("current_stage")}
        for r in others
    ]
    payload = ModelVersionPayload(name=op.model, version=op.version, stage=after.get("stage"),
                                  previous_stage=before.get("stage"), archived_versions=list(details_archived))
    extra = {"archived": details_archived} if details_archived else None
    return [_draft(op, changes, rows + _rows(changes, RM, "update"), before=before, after=after, extra=extra,
                   payload=payload)]


def _version_deleted(op, changes):
    # MLflow soft-deletes a version: it redacts the row and moves it to a hidden stage.
    mv = _rows(changes, MV, "delete") or [
        r for r in _rows(changes, MV, "update") if r.after.get("current_stage") == _SOFT_DELETED
    ]
    aliases = {r.value("alias"): _str(r.value("version")) for r in _rows(changes, ALIAS, "delete")}
    before = {}
    if mv:
        row = mv[0]
        columns = {"stage": "current_stage", "source": "source", "run_id": "run_id"}
        columns["description"] = "description"
        before = {k: row.before.get(c, row.value(c)) for k, c in columns.items()}
    if aliases:
        before["aliases"] = aliases
    used = mv + _rows(changes, ALIAS, "delete") + _rows(changes, MV_TAG, "delete")
    payload = ModelVersionPayload(
        name=op.model, version=op.version, source=before.get("source"), run_id=before.get("run_id"),
        description=before.get("description"), stage=before.get("stage"), aliases=dict(aliases),
    )
    return [_draft(op, changes, used + _rows(changes, RM, "update"), before=before, payload=payload)]


def _tag_payload(table: str, op: Operation, key, value, previous) -> Payload:
    if table == RM_TAG:
        return RegisteredModelTagPayload(name=op.model, key=key, value=value, previous_value=previous)
    return ModelVersionTagPayload(name=op.model, version=op.version, key=key, value=value, previous_value=previous)


def _tag_set(table: str):
    def describe(op, changes):
        rows = _rows(changes, table)
        key = op.details.get("key")
        before, after = {}, {"key": key, "value": op.details.get("value")}
        for r in rows:
            if r.kind == "update" and "value" in r.before:
                before = {"key": key, "value": r.before["value"]}
        details = {k: v for k, v in op.details.items() if k not in ("key", "value")}
        op_ = Operation(op.action, op.model, op.version, op.alias, details)
        payload = _tag_payload(table, op, key, after["value"], before.get("value"))
        return [_draft(op_, changes, rows + _rows(changes, RM, "update"), before=before, after=after,
                       payload=payload)]

    return describe


def _tag_deleted(table: str):
    def describe(op, changes):
        rows = _rows(changes, table, "delete")
        key = op.details.get("key")
        before = {"key": key, "value": rows[0].value("value")} if rows else {"key": key}
        details = {k: v for k, v in op.details.items() if k != "key"}
        op_ = Operation(op.action, op.model, op.version, op.alias, details)
        payload = _tag_payload(table, op, key, None, before.get("value"))
        return [_draft(op_, changes, rows, before=before, payload=payload)]

    return describe


def _alias_set(op, changes):
    rows = _rows(changes, ALIAS)
    before = {}
    for r in rows:
        if r.kind == "update" and "version" in r.before:
            before = {"version": _str(r.before["version"])}
    after = {"version": _str(op.version)}
    payload = ModelVersionAliasPayload(name=op.model, alias=op.alias, version=after["version"],
                                       previous_version=before.get("version"))
    return [_draft(op, changes, rows + _rows(changes, RM, "update"), before=before, after=after, payload=payload)]


def _alias_deleted(op, changes):
    rows = _rows(changes, ALIAS, "delete")
    before = {"version": _str(rows[0].value("version"))} if rows else {}
    version = before.get("version")
    payload = ModelVersionAliasPayload(name=op.model, alias=op.alias, previous_version=version)
    return [_draft(op, changes, rows + _rows(changes, RM, "update"), version=version, before=before,
                   payload=payload)]


def _generic(op, changes):
    # The prompt and MLflow webhook actions: no payload class of their own.
    return [_draft(op, changes, [], payload=None)]


_DESCRIBERS: dict[str, Callable[[Operation, list[RowChange]], list[AuditDraft]]] = {
    "registered_model.created": _model_created,
    "registered_model.updated": _field_update("description", RM),
    "registered_model.renamed": _model_renamed,
    "registered_model.deleted": _model_deleted,
    "registered_model_tag.set": _tag_set(RM_TAG),
    "registered_model_tag.deleted": _tag_deleted(RM_TAG),
    "model_version.created": _version_created,
    "model_version.updated": _field_update("description", MV),
    "model_version.stage_transitioned": _stage_transitioned,
    "model_version.deleted": _version_deleted,
    "model_version_tag.set": _tag_set(MV_TAG),
    "model_version_tag.deleted": _tag_deleted(MV_TAG),
    "model_version_alias.created": _alias_set,
    "model_version_alias.deleted": _alias_deleted,
}


def drafts_for(op: Operation, changes: list[RowChange]) -> list[AuditDraft]:
    """The audit drafts of one transaction of ``op`` that changed ``changes``."""
    return _DESCRIBERS.get(op.action, _generic)(op, changes)
