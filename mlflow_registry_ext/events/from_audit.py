"""Reading the event a stored audit entry announces. Pure.

The one reader of stored entries: webhook replay and redelivery read entries back from the log
with it, and the outbox uses it for an entry whose draft carried no payload of its own (entries
relayed from another database, actions that are no event type). A draft that does carry one
stores every value the payload holds, so this reading of its entry gives the same payload.
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.entities import AuditEntry
from mlflow_registry_ext.events.envelope import Event, entry_event
from mlflow_registry_ext.events.payloads import (
    ApprovalRequestPayload,
    ArtifactsChangedPayload,
    AuditCheckpointPayload,
    AuditDriftPayload,
    AuditVerificationFailedPayload,
    FairnessCheckPayload,
    GenericPayload,
    ModelVersionAliasPayload,
    ModelVersionPayload,
    ModelVersionTagPayload,
    Payload,
    PromotionBlockedPayload,
    PromotionRolledBackPayload,
    RegisteredModelPayload,
    RegisteredModelTagPayload,
    SecurityScanPayload,
    WebhookSubscriptionPayload,
)

__all__ = ["event_from_audit_entry"]


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def _registered_model(e: AuditEntry) -> Payload:
    before, after = e.before, e.after
    if e.action == "registered_model.renamed":
        return RegisteredModelPayload(
            name=_first(after.get("name"), e.model), previous_name=_first(before.get("name"), e.model)
        )
    source = before if e.action.endswith(".deleted") else after
    return RegisteredModelPayload(
        name=e.model,
        description=source.get("description"),
        tags=dict(source.get("tags") or {}),
        previous_description=before.get("description") if e.action.endswith(".updated") else None,
        versions=[str(v) for v in before.get("versions") or []] if e.action.endswith(".deleted") else [],
        aliases=dict(before.get("aliases") or {}) if e.action.endswith(".deleted") else {},
    )


def _registered_model_tag(e: AuditEntry) -> Payload:
    return RegisteredModelTagPayload(
        name=e.model,
        key=_first(e.after.get("key"), e.before.get("key"), e.details.get("key")),
        value=None if e.action.endswith(".deleted") else e.after.get("value"),
        previous_value=e.before.get("value"),
    )


def _model_version(e: AuditEntry) -> Payload:
    before, after = e.before, e.after
    if e.action == "model_version.artifacts_changed":
        return ArtifactsChangedPayload(
            name=e.model,
            version=e.version,
            pinned_digest=e.details.get("pinned_digest"),
            found_digest=e.details.get("found_digest"),
            source=e.details.get("source"),
            serving=e.details.get("serving"),
        )
    if e.action == "model_version.stage_transitioned":
        return ModelVersionPayload(
            name=e.model,
            version=e.version,
            stage=after.get("stage"),
            previous_stage=before.get("stage"),
            archived_versions=list(e.details.get("archived") or []),
        )
    if e.action == "model_version.updated":
        return ModelVersionPayload(
            name=e.model,
            version=e.version,
            description=after.get("description"),
            previous_description=before.get("description"),
        )
    source = before if e.action.endswith(".deleted") else after
    return ModelVersionPayload(
        name=e.model,
        version=e.version,
        source=source.get("source"),
        run_id=source.get("run_id"),
        tags=dict(source.get("tags") or {}),
        description=source.get("description"),
        stage=before.get("stage") if e.action.endswith(".deleted") else None,
        aliases=dict(before.get("aliases") or {}) if e.action.endswith(".deleted") else {},
    )


def _model_version_tag(e: AuditEntry) -> Payload:
    return ModelVersionTagPayload(
        name=e.model,
        version=e.version,
        key=_first(e.after.get("key"), e.before.get("key"), e.details.get("key")),
        value=None if e.action.endswith(".deleted") else e.after.get("value"),
        previous_value=e.before.get("value"),
    )


def _model_version_alias(e: AuditEntry) -> Payload:
    deleted = e.action.endswith(".deleted")
    return ModelVersionAliasPayload(
        name=e.model,
        alias=e.alias,
        version=None if deleted else _s(_first(e.after.get("version"), e.version)),
        previous_version=_s(e.before.get("version")),
    )


def _approval_request(e: AuditEntry) -> Payload:
    merged = {**e.details, **e.before, **e.after}
    return ApprovalRequestPayload(
        request_id=_s(_first(merged.get("request_id"), merged.get("id"))),
        name=e.model,
        version=e.version,
        alias=_first(e.alias, merged.get("alias")),
        stage=merged.get("stage"),
        status=e.after.get("status"),
        previous_status=e.before.get("status"),
        comment=_first(e.after.get("comment"), e.details.get("comment")),
        details=_without(
            {**e.details, **e.after},
            "request_id", "id", "alias", "stage", "status", "comment",
        ),
    )


def _fairness_check(e: AuditEntry) -> Payload:
    merged = {**e.details, **e.after}
    passed = merged.get("passed")
    return FairnessCheckPayload(
        check_id=_s(_first(merged.get("check_id"), merged.get("id"))),
        name=e.model,
        version=e.version,
        passed=None if passed is None else bool(passed),
        details=_without(merged, "check_id", "id", "passed"),
    )


def _security_scan(e: AuditEntry) -> Payload:
    merged = {**e.details, **e.after}
    return SecurityScanPayload(
        scan_id=_s(merged.get("id")),
        name=e.model,
        version=e.version,
        status=merged.get("status"),
        artifact_digest=merged.get("artifact_digest"),
        highest_severity=merged.get("highest_severity"),
        details=_without(merged, "id", "status", "artifact_digest", "highest_severity"),
    )


def _promotion(e: AuditEntry) -> Payload:
    if e.action == "promotion.rolled_back":
        d = e.details
        return PromotionRolledBackPayload(
            name=e.model,
            alias=e.alias,
            version=_s(_first(e.after.get("version"), d.get("to_version"), e.version)),
            previous_version=_s(_first(e.before.get("version"), d.get("from_version"))),
            reason=d.get("reason"),
            mode=d.get("mode"),
            alone=bool(d.get("alone")),
            actor_source=_first(d.get("actor_source"), e.actor_source),
            details=_without(d, "reason", "mode", "alone", "actor_source", "from_version", "to_version"),
        )
    merged = {**e.details, **e.after}
    return PromotionBlockedPayload(
        name=e.model,
        version=e.version,
        alias=_first(e.alias, merged.get("alias")),
        stage=merged.get("stage"),
        reason=_first(merged.get("reason"), merged.get("message")),
        details=_without(merged, "alias", "stage", "reason", "message"),
    )


def _audit(e: AuditEntry) -> Payload:
    merged = {**e.details, **e.after}
    if e.action == "audit.checkpoint":
        return AuditCheckpointPayload(
            origin=merged.get("origin"), size=merged.get("size"), root=merged.get("root"),
            note=merged.get("note"), previous_size=merged.get("previous_size"),
            consistency=list(merged.get("consistency") or []),
        )
    if e.action == "audit.drift_detected":
        return AuditDriftPayload(count=merged.get("count"), differences=list(merged.get("differences") or []))
    if e.action == "audit.baseline":
        # Written only into an empty log (so before any subscription exists); never an event type.
        return GenericPayload(before=dict(e.before), after=dict(e.after), details=dict(e.details))
    return AuditVerificationFailedPayload(
        first_bad_seq=merged.get("first_bad_seq"),
        reason=merged.get("reason"),
        checked=merged.get("checked"),
        details=_without(merged, "first_bad_seq", "reason", "checked"),
    )


def _webhook(e: AuditEntry) -> Payload:
    merged = {**e.before, **e.details, **e.after}
    return WebhookSubscriptionPayload(
        webhook_id=merged.get("webhook_id"),
        url=merged.get("url"),
        events=list(merged.get("events") or []),
        status=merged.get("status"),
        reason=merged.get("reason"),
        details=_without(merged, "webhook_id", "url", "events", "status", "reason"),
    )


_BUILDERS = {
    "registered_model": _registered_model,
    "registered_model_tag": _registered_model_tag,
    "model_version": _model_version,
    "model_version_tag": _model_version_tag,
    "model_version_alias": _model_version_alias,
    "approval_request": _approval_request,
    "fairness_check": _fairness_check,
    "security_scan": _security_scan,
    "promotion": _promotion,
    "audit": _audit,
    "webhook": _webhook,
}


def event_from_audit_entry(entry: AuditEntry) -> Event:
    """The event an audit entry announces; deterministic, so a replay sends the same body.

    Example:
        >>> from mlflow_registry_ext.entities import AuditEntry
        >>> entry = AuditEntry(seq=4, entry_id="e4", timestamp_ms=0, actor="alice",
        ...     action="model_version_alias.created", model="fraud-detector", alias="production",
        ...     version="4", before={"version": "3"}, after={"version": "4"})
        >>> event_from_audit_entry(entry).to_dict()["data"]
        {'name': 'fraud-detector', 'alias': 'production', 'version': '4', 'previous_version': '3'}
    """
    family = entry.action.rsplit(".", 1)[0]
    builder = _BUILDERS.get(family)
    data = (
        builder(entry)
        if builder
        else GenericPayload(before=dict(entry.before), after=dict(entry.after), details=dict(entry.details))
    )
    return entry_event(entry, data)
