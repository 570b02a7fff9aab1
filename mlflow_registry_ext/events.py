"""Webhook events: their type names, payload shapes, and how an audit entry becomes one. Pure.

Every registry mutation and governance action is chained into the audit log, and the audit
``action`` *is* the event type. :func:`event_from_audit_entry` turns an entry into an
:class:`Event`, whose JSON body is what a subscription receives::

    {
      "id": "6f1c0d2e9b7a4c55a1f3e2d4c6b8a0f1",     stable event id (= webhook-id header)
      "type": "model_version_alias.created",        one of EVENT_TYPES
      "entity": "model_version_alias",              MLflow's native envelope fields ...
      "action": "created",
      "timestamp": "2026-01-31T12:00:00.123Z",      ... when the change was committed
      "actor": "alice",                             who made it (never a client-supplied value)
      "model": "fraud-detector", "version": "4", "alias": "production",
      "seq": 42,                                    position in the audit chain
      "data": {"name": "fraud-detector", "alias": "production", "version": "4",
               "previous_version": "3"}
    }

``data`` is one of the payload dataclasses below, one per event family. Registry payloads keep
the field names of MLflow's own webhook payloads (``name``, ``version``, ``source``, ``run_id``,
``tags``, ``description``, ``key``, ``value``, ``alias``) and add what MLflow leaves out (the
previous value of whatever changed).

Example:
    >>> event = event_from_audit_entry(entry)
    >>> event.type, event.data.previous_version
    ('model_version_alias.created', '3')
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from typing import Any, ClassVar

from mlflow_registry_ext.entities import AuditEntry

__all__ = [
    "EVENT_TYPES",
    "REGISTRY_EVENT_TYPES",
    "GOVERNANCE_EVENT_TYPES",
    "WEBHOOK_EVENT_TYPES",
    "PROMPT_EVENT_TYPES",
    "Event",
    "RegisteredModelPayload",
    "RegisteredModelTagPayload",
    "ModelVersionPayload",
    "ModelVersionTagPayload",
    "ModelVersionAliasPayload",
    "ApprovalRequestPayload",
    "FairnessCheckPayload",
    "SecurityScanPayload",
    "PromotionBlockedPayload",
    "PromotionRolledBackPayload",
    "ArtifactsChangedPayload",
    "AuditVerificationFailedPayload",
    "AuditCheckpointPayload",
    "AuditDriftPayload",
    "WebhookSubscriptionPayload",
    "GenericPayload",
    "event_from_audit_entry",
    "example_event",
    "matches_event_type",
    "validate_event_patterns",
]

REGISTRY_EVENT_TYPES: tuple[str, ...] = (
    "registered_model.created",
    "registered_model.updated",
    "registered_model.renamed",
    "registered_model.deleted",
    "registered_model_tag.set",
    "registered_model_tag.deleted",
    "model_version.created",
    "model_version.updated",
    "model_version.stage_transitioned",
    "model_version.deleted",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
    # MLflow's own webhook registrations (never their secrets)
    "mlflow_webhook.created",
    "mlflow_webhook.updated",
    "mlflow_webhook.deleted",
)

GOVERNANCE_EVENT_TYPES: tuple[str, ...] = (
    "approval_request.created",
    "approval_request.approved",
    "approval_request.rejected",
    "approval_request.cancelled",
    "approval_request.expired",
    "approval_request.commented",
    "approval_request.reviewed",
    "approval_request.reopened",
    "fairness_check.recorded",
    "security_scan.recorded",
    "promotion.blocked",
    "promotion.overridden",
    "promotion.rolled_back",
    "model_version.artifacts_changed",
    "audit.verification_failed",
    "audit.checkpoint",
    "audit.drift_detected",
)

#: Prompts are registered models underneath; their changes are audited under their own names.
PROMPT_EVENT_TYPES: tuple[str, ...] = (
    "prompt.created",
    "prompt.deleted",
    "prompt_tag.set",
    "prompt_tag.deleted",
    "prompt_version.created",
    "prompt_version.deleted",
    "prompt_version_tag.set",
    "prompt_version_tag.deleted",
    "prompt_alias.created",
    "prompt_alias.deleted",
    "prompt_version.linked_to_model",
    "prompt_version.linked_to_run",
    "prompt_version.linked_to_trace",
)

#: Changes to webhook subscriptions themselves (``webhook.disabled`` also when the dispatcher
#: disables a subscription that failed for days or answered 410 Gone).
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "webhook.disabled",
    "webhook.redelivered",
    "webhook.replayed",
)

EVENT_TYPES: tuple[str, ...] = (
    REGISTRY_EVENT_TYPES + PROMPT_EVENT_TYPES + GOVERNANCE_EVENT_TYPES + WEBHOOK_EVENT_TYPES
)


def matches_event_type(pattern: str, event_type: str) -> bool:
    """Whether a subscription pattern (``"*"``, ``"family.*"`` or an exact type) covers a type.

    Example:
        >>> matches_event_type("model_version_alias.*", "model_version_alias.created")
        True
    """
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def validate_event_patterns(patterns: list[str]) -> list[str]:
    """Check subscription patterns; returns them stripped and de-duplicated, in order.

    Raises:
        ValueError: naming the first pattern that covers no known event type.
    """
    cleaned: list[str] = []
    for raw in patterns:
        pattern = str(raw).strip()
        if not pattern:
            continue
        if not any(matches_event_type(pattern, t) for t in EVENT_TYPES):
            raise ValueError(
                f"Unknown event type {pattern!r}; use '*', '<family>.*' or one of: "
                + ", ".join(EVENT_TYPES)
            )
        if pattern not in cleaned:
            cleaned.append(pattern)
    if not cleaned:
        raise ValueError("At least one event type is required")
    return cleaned


def _iso(timestamp_ms: int) -> str:
    moment = _dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


class _Payload:
    """Shared behaviour of the payload dataclasses."""

    families: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class RegisteredModelPayload(_Payload):
    """``registered_model.created|updated|renamed|deleted``.

    Attributes:
        name: The model's name (after a rename: the new name).
        description: Its description (after the change; before it, for a deletion).
        tags: Its tags at creation or deletion.
        previous_description: For ``updated``: the description before.
        previous_name: For ``renamed``: the old name.
        versions: For ``deleted``: the versions deleted with it.
        aliases: For ``deleted``: the aliases it had, alias -> version.

    Example:
        ``{"name": "fraud-detector", "description": "v2 features", "tags": {},
        "previous_description": "first cut", "previous_name": null, "versions": [],
        "aliases": {}}``
    """

    families: ClassVar[tuple[str, ...]] = ("registered_model",)
    name: str | None
    description: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    previous_description: str | None = None
    previous_name: str | None = None
    versions: list[str] = dataclasses.field(default_factory=list)
    aliases: dict[str, str | None] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> RegisteredModelPayload:
        return cls(name="fraud-detector", description="v2 features", previous_description="first cut")


@dataclasses.dataclass(frozen=True)
class RegisteredModelTagPayload(_Payload):
    """``registered_model_tag.set|deleted``.

    Attributes:
        name: The model's name.
        key: The tag key.
        value: The new value (``None`` for a deletion).
        previous_value: The value before (``None`` when the tag is new).

    Example:
        ``{"name": "fraud-detector", "key": "owner", "value": "risk-team",
        "previous_value": "ml-team"}``
    """

    families: ClassVar[tuple[str, ...]] = ("registered_model_tag",)
    name: str | None
    key: str | None
    value: str | None = None
    previous_value: str | None = None

    @classmethod
    def example(cls) -> RegisteredModelTagPayload:
        return cls(name="fraud-detector", key="owner", value="risk-team", previous_value="ml-team")


@dataclasses.dataclass(frozen=True)
class ModelVersionPayload(_Payload):
    """``model_version.created|updated|stage_transitioned|deleted``.

    Attributes:
        name: The model's name.
        version: The version.
        source: Its artifact source URI (creation and deletion).
        run_id: The run that produced it, if any.
        tags: Its tags at creation.
        description: Its description (after the change).
        previous_description: For ``updated``: the description before.
        stage: For ``stage_transitioned``: the new stage; for ``deleted``: the stage it had.
        previous_stage: For ``stage_transitioned``: the stage it left.
        archived_versions: For ``stage_transitioned`` with archiving: the other versions moved
            to ``Archived``, as ``{"version": ..., "from": ...}``.
        aliases: For ``deleted``: the aliases that pointed at it, alias -> version.

    Example:
        ``{"name": "fraud-detector", "version": "4", "source": "runs:/8c1e/model",
        "run_id": "8c1e", "tags": {"owner": "risk-team"}, "description": null, ...}``
    """

    families: ClassVar[tuple[str, ...]] = ("model_version",)
    name: str | None
    version: str | None
    source: str | None = None
    run_id: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str | None = None
    previous_description: str | None = None
    stage: str | None = None
    previous_stage: str | None = None
    archived_versions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    aliases: dict[str, str | None] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> ModelVersionPayload:
        return cls(
            name="fraud-detector",
            version="4",
            source="runs:/8c1e0a1b2c3d4e5f/model",
            run_id="8c1e0a1b2c3d4e5f",
            tags={"owner": "risk-team"},
        )


@dataclasses.dataclass(frozen=True)
class ArtifactsChangedPayload(_Payload):
    """``model_version.artifacts_changed``: a pinned version's source no longer matches its
    manifest (what the version serves did not change).

    Attributes:
        name: The model's name.
        version: The version.
        pinned_digest: The manifest's digest (what was reviewed and is served).
        found_digest: The digest its source has now (``unreadable: ...`` if it cannot be read).
        source: The source that changed.
        serving: What the version serves (its snapshot, or its source when nothing was copied).

    Example:
        ``{"name": "fraud-detector", "version": "4", "pinned_digest": "sha256:5d41...",
        "found_digest": "sha256:9fca...", "source": "runs:/8c1e/model",
        "serving": "mlflow-artifacts:/_pinned/sha256/5d41..."}``
    """

    families: ClassVar[tuple[str, ...]] = ()
    name: str | None
    version: str | None
    pinned_digest: str | None = None
    found_digest: str | None = None
    source: str | None = None
    serving: str | None = None

    @classmethod
    def example(cls) -> ArtifactsChangedPayload:
        return cls(
            name="fraud-detector",
            version="4",
            pinned_digest="sha256:" + "5d41" * 16,
            found_digest="sha256:" + "9fca" * 16,
            source="runs:/8c1e0a1b2c3d4e5f/model",
            serving="mlflow-artifacts:/_pinned/sha256/" + "5d41" * 16,
        )


@dataclasses.dataclass(frozen=True)
class ModelVersionTagPayload(_Payload):
    """``model_version_tag.set|deleted``.

    Attributes:
        name: The model's name.
        version: The version.
        key: The tag key.
        value: The new value (``None`` for a deletion).
        previous_value: The value before (``None`` when the tag is new).

    Example:
        ``{"name": "fraud-detector", "version": "4", "key": "validated", "value": "true",
        "previous_value": null}``
    """

    families: ClassVar[tuple[str, ...]] = ("model_version_tag",)
    name: str | None
    version: str | None
    key: str | None
    value: str | None = None
    previous_value: str | None = None

    @classmethod
    def example(cls) -> ModelVersionTagPayload:
        return cls(name="fraud-detector", version="4", key="validated", value="true")


@dataclasses.dataclass(frozen=True)
class ModelVersionAliasPayload(_Payload):
    """``model_version_alias.created|deleted``: an alias set, moved or removed.

    Attributes:
        name: The model's name.
        alias: The alias.
        version: The version it points at now (``None`` after a deletion).
        previous_version: The version it pointed at before (``None`` when it is new).

    Example:
        ``{"name": "fraud-detector", "alias": "production", "version": "4",
        "previous_version": "3"}``
    """

    families: ClassVar[tuple[str, ...]] = ("model_version_alias",)
    name: str | None
    alias: str | None
    version: str | None = None
    previous_version: str | None = None

    @classmethod
    def example(cls) -> ModelVersionAliasPayload:
        return cls(name="fraud-detector", alias="production", version="4", previous_version="3")


@dataclasses.dataclass(frozen=True)
class ApprovalRequestPayload(_Payload):
    """``approval_request.created|approved|rejected|cancelled|expired|commented``.

    Attributes:
        request_id: The approval request's id.
        name: The model's name.
        version: The version to be promoted.
        alias: The alias it asks for, if any.
        stage: The stage it asks for, if any.
        status: Its status after this action (``pending``, ``approved``, ...).
        previous_status: Its status before.
        comment: The comment given with the action, if any.
        details: Everything else the action recorded (approvals so far, required count, ...).

    Example:
        ``{"request_id": "ar_3f2c", "name": "fraud-detector", "version": "4",
        "alias": "production", "stage": null, "status": "approved",
        "previous_status": "pending", "comment": "LGTM", "details": {"approvals": "2/2"}}``
    """

    families: ClassVar[tuple[str, ...]] = ("approval_request",)
    request_id: str | None
    name: str | None
    version: str | None = None
    alias: str | None = None
    stage: str | None = None
    status: str | None = None
    previous_status: str | None = None
    comment: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> ApprovalRequestPayload:
        return cls(
            request_id="ar_3f2c",
            name="fraud-detector",
            version="4",
            alias="production",
            status="approved",
            previous_status="pending",
            comment="LGTM",
            details={"approvals": "2/2"},
        )


@dataclasses.dataclass(frozen=True)
class FairnessCheckPayload(_Payload):
    """``fairness_check.recorded``.

    Attributes:
        check_id: The fairness record's id.
        name: The model's name.
        version: The version checked.
        passed: Whether every policy threshold held (``None`` when no policy applied).
        details: The metrics, sensitive features and thresholds recorded.

    Example:
        ``{"check_id": "fc_91ab", "name": "fraud-detector", "version": "4", "passed": true,
        "details": {"metrics": {"demographic_parity_difference": {"sex": 0.04}}}}``
    """

    families: ClassVar[tuple[str, ...]] = ("fairness_check",)
    check_id: str | None
    name: str | None
    version: str | None = None
    passed: bool | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> FairnessCheckPayload:
        return cls(
            check_id="fc_91ab",
            name="fraud-detector",
            version="4",
            passed=True,
            details={"metrics": {"demographic_parity_difference": {"sex": 0.04}}},
        )


@dataclasses.dataclass(frozen=True)
class SecurityScanPayload(_Payload):
    """``security_scan.recorded``.

    Attributes:
        scan_id: The scan report's id.
        name: The model's name.
        version: The version scanned.
        status: ``clean``, ``findings`` or ``error`` (the scan failed).
        artifact_digest: Digest of the files scanned.
        highest_severity: The highest severity found (``low`` ... ``critical``), if any.
        details: The scanner, its version, counts, and the worst finding.

    Example:
        ``{"scan_id": "5c0e...", "name": "fraud-detector", "version": "4", "status": "findings",
        "artifact_digest": "sha256:9f86...", "highest_severity": "critical", "details":
        {"scanner": "modelscan", "worst_finding": "critical: Use of unsafe operator 'system' from
        module 'posix' in model.pkl"}}``
    """

    families: ClassVar[tuple[str, ...]] = ("security_scan",)
    scan_id: str | None
    name: str | None
    version: str | None = None
    status: str | None = None
    artifact_digest: str | None = None
    highest_severity: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> SecurityScanPayload:
        return cls(
            scan_id="5c0e1d2a3b4c5d6e7f8091a2b3c4d5e6",
            name="fraud-detector",
            version="4",
            status="findings",
            artifact_digest="sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            highest_severity="critical",
            details={
                "scanner": "modelscan",
                "scanner_version": "0.8.8",
                "findings": 1,
                "worst_finding": "critical: Use of unsafe operator 'system' from module 'posix' in model.pkl",
            },
        )


@dataclasses.dataclass(frozen=True)
class PromotionBlockedPayload(_Payload):
    """``promotion.blocked``: the policy refused an alias, stage or deletion.

    Attributes:
        name: The model's name.
        version: The version someone tried to promote.
        alias: The protected alias, if any.
        stage: The protected stage, if any.
        reason: The refusal message (what is missing).
        details: Everything else recorded (the rule, the missing items).

    Example:
        ``{"name": "fraud-detector", "version": "4", "alias": "production", "stage": null,
        "reason": "needs 2 approvals (has 1)", "details": {"missing": ["approvals"]}}``
    """

    families: ClassVar[tuple[str, ...]] = ("promotion",)
    name: str | None
    version: str | None = None
    alias: str | None = None
    stage: str | None = None
    reason: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> PromotionBlockedPayload:
        return cls(
            name="fraud-detector",
            version="4",
            alias="production",
            reason="needs 2 approvals (has 1)",
            details={"missing": ["approvals"]},
        )


@dataclasses.dataclass(frozen=True)
class PromotionRolledBackPayload(_Payload):
    """``promotion.rolled_back``: an alias was returned to the version it pointed to before.

    Attributes:
        name: The model's name.
        alias: The alias rolled back.
        version: The version it points to now (the one it pointed to before the last change).
        previous_version: The version it pointed to until the rollback.
        reason: Why (every rollback has one).
        mode: How it was allowed: ``alone`` (a user under the rule's ``rollback.allowed``, no
            approval), ``approved`` (an approved rollback request), ``override`` (an admin
            override) or ``unprotected`` (no rule protects the alias).
        alone: Whether it was a rollback without an approval under ``rollback.allowed``.
        actor_source: How the actor (the event's ``actor``) was established, e.g. ``authenticated``.
        details: Everything else recorded (the rule, the policy digest, the request applied,
            ``approved_by_request``: the request that approved the version for the alias).

    Example:
        ``{"name": "fraud-detector", "alias": "production", "version": "3",
        "previous_version": "4", "reason": "incident 42: precision dropped", "mode": "alone",
        "alone": true, "actor_source": "authenticated", "details": {"allowed_by": "rollback.allowed"}}``
    """

    families: ClassVar[tuple[str, ...]] = ()
    name: str | None
    alias: str | None = None
    version: str | None = None
    previous_version: str | None = None
    reason: str | None = None
    mode: str | None = None
    alone: bool = False
    actor_source: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> PromotionRolledBackPayload:
        return cls(
            name="fraud-detector",
            alias="production",
            version="3",
            previous_version="4",
            reason="incident 42: precision dropped",
            mode="alone",
            alone=True,
            actor_source="authenticated",
            details={"allowed_by": "rollback.allowed", "approved_by_request": "9abe382de49a40d9a1d0e5abec447b22",
                     "rule": "models[0] (match 'fraud-*')"},
        )


@dataclasses.dataclass(frozen=True)
class AuditVerificationFailedPayload(_Payload):
    """``audit.verification_failed``: ``audit verify`` found tampering.

    Attributes:
        first_bad_seq: The first entry that does not fit the chain.
        reason: Why it does not fit.
        checked: How many entries were read.
        details: Anything else recorded.

    Example:
        ``{"first_bad_seq": 17, "reason": "entry 17 was modified after it was written",
        "checked": 17, "details": {}}``
    """

    families: ClassVar[tuple[str, ...]] = ("audit",)
    first_bad_seq: int | None
    reason: str | None = None
    checked: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> AuditVerificationFailedPayload:
        return cls(first_bad_seq=17, reason="entry 17 was modified after it was written", checked=17)


@dataclasses.dataclass(frozen=True)
class AuditCheckpointPayload(_Payload):
    """``audit.checkpoint``: the log signed a new tree head (a C2SP checkpoint).

    A subscriber that keeps these holds copies of the log's history the database cannot take
    back; ``mlflow-registry-ext audit witness`` checks each extends the last.

    Attributes:
        origin: The log's origin line.
        size: How many entries the checkpoint covers.
        root: The base64 RFC 9162 root hash.
        note: The signed note itself (text, blank line, signature lines).
        previous_size: The size of the checkpoint before it (0 for the first).
        consistency: The base64 consistency proof from the previous checkpoint to this one, so a
            witness that holds the previous one checks this one extends it with no other call.

    Example:
        ``{"origin": "registry.example/governance", "size": 42, "root": "47DEQpj8...",
        "note": "registry.example/governance\\n42\\n47DEQpj8...\\n\\n\u2014 registry.example/governance ..."}``
    """

    families: ClassVar[tuple[str, ...]] = ()
    origin: str | None
    size: int | None = None
    root: str | None = None
    note: str | None = None
    previous_size: int | None = None
    consistency: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def example(cls) -> AuditCheckpointPayload:
        return cls(origin="registry.example/governance", size=42,
                   root="47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", note=None, previous_size=40,
                   consistency=["fRUkgTyJb4jwnPh5dD1hz6Vd0YI+S01p4PVq7JNPJFI="])


@dataclasses.dataclass(frozen=True)
class AuditDriftPayload(_Payload):
    """``audit.drift_detected``: the registry differs from what the audit log says it should be
    (a change made around the governed store).

    Attributes:
        count: How many new differences this entry reports (one entry per model; a difference
            that persists is reported by every ``audit reconcile`` but delivered once).
        differences: Each difference: ``workspace``, ``kind`` (model, version, stage,
            description, source, run_id, tag, alias), ``model``, ``version``, ``key`` (the tag
            key or alias), ``expected`` (from the log) and ``actual`` (in the database); for a
            model or version, ``present`` or ``absent``.

    Example:
        ``{"count": 1, "differences": [{"kind": "alias", "model": "fraud", "key": "production",
        "expected": "3", "actual": "4", "workspace": "default", "version": null}]}``
    """

    families: ClassVar[tuple[str, ...]] = ()
    count: int | None
    differences: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def example(cls) -> AuditDriftPayload:
        return cls(count=1, differences=[{"workspace": "default", "kind": "alias", "model": "fraud-detector",
                                          "version": None, "key": "production", "expected": "3", "actual": "4"}])


@dataclasses.dataclass(frozen=True)
class WebhookSubscriptionPayload(_Payload):
    """``webhook.created|updated|deleted|secret_rotated|disabled|redelivered|replayed``.

    Secrets never appear here.

    Attributes:
        webhook_id: The subscription's id.
        url: Its target URL.
        events: Its event patterns.
        status: ``active`` or ``disabled`` after the change.
        reason: Why it was disabled, for ``webhook.disabled``.
        details: Everything else recorded (changed fields, replay range, counts).

    Example:
        ``{"webhook_id": "wh_5b0e", "url": "https://ci.example.com/hook",
        "events": ["model_version_alias.*"], "status": "disabled",
        "reason": "every delivery failed for 5 days", "details": {}}``
    """

    families: ClassVar[tuple[str, ...]] = ("webhook",)
    webhook_id: str | None
    url: str | None = None
    events: list[str] = dataclasses.field(default_factory=list)
    status: str | None = None
    reason: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> WebhookSubscriptionPayload:
        return cls(
            webhook_id="wh_5b0e",
            url="https://ci.example.com/hook",
            events=["model_version_alias.*"],
            status="disabled",
            reason="every delivery failed for 5 days",
        )


@dataclasses.dataclass(frozen=True)
class GenericPayload(_Payload):
    """Any other audited action: its recorded before/after values and details.

    Example:
        ``{"before": {}, "after": {"x": 1}, "details": {}}``
    """

    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> GenericPayload:
        return cls(after={"x": 1})


@dataclasses.dataclass(frozen=True)
class Event:
    """One event: the envelope every delivery body carries, with ``data`` its payload.

    Attributes:
        id: Stable event id (the audit entry id); the ``webhook-id`` of every delivery of it.
        type: The event type, e.g. ``model_version.created``.
        timestamp_ms: When the change was committed (ms since the epoch, UTC).
        actor: Who made the change.
        model: The registered model's name, if any.
        version: The model version, if any.
        alias: The alias, if any.
        seq: Position of the change in the audit chain (``None`` for test events).
        data: The payload dataclass of the event's family.
        test: True only for the example ``webhooks test`` sends.
    """

    id: str
    type: str
    timestamp_ms: int
    actor: str
    model: str | None
    version: str | None
    alias: str | None
    seq: int | None
    data: _Payload
    test: bool = False

    @property
    def entity(self) -> str:
        return self.type.rsplit(".", 1)[0]

    @property
    def action(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "type": self.type,
            "entity": self.entity,
            "action": self.action,
            "timestamp": _iso(self.timestamp_ms),
            "actor": self.actor,
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "seq": self.seq,
            "data": self.data.to_dict(),
        }
        if self.test:
            body["test"] = True
        return body

    def to_json(self) -> str:
        """The delivery body: compact, ASCII-only JSON (the exact bytes that are signed)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True, default=str)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def _registered_model(e: AuditEntry) -> _Payload:
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


def _registered_model_tag(e: AuditEntry) -> _Payload:
    return RegisteredModelTagPayload(
        name=e.model,
        key=_first(e.after.get("key"), e.before.get("key"), e.details.get("key")),
        value=None if e.action.endswith(".deleted") else e.after.get("value"),
        previous_value=e.before.get("value"),
    )


def _model_version(e: AuditEntry) -> _Payload:
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


def _model_version_tag(e: AuditEntry) -> _Payload:
    return ModelVersionTagPayload(
        name=e.model,
        version=e.version,
        key=_first(e.after.get("key"), e.before.get("key"), e.details.get("key")),
        value=None if e.action.endswith(".deleted") else e.after.get("value"),
        previous_value=e.before.get("value"),
    )


def _model_version_alias(e: AuditEntry) -> _Payload:
    deleted = e.action.endswith(".deleted")
    return ModelVersionAliasPayload(
        name=e.model,
        alias=e.alias,
        version=None if deleted else _s(_first(e.after.get("version"), e.version)),
        previous_version=_s(e.before.get("version")),
    )


def _approval_request(e: AuditEntry) -> _Payload:
    merged = {**e.details, **e.before, **e.after}
    return ApprovalRequestPayload(
        request_id=_s(_first(merged.get("request_id"), merged.get("approval_request_id"), merged.get("id"))),
        name=e.model,
        version=e.version,
        alias=_first(e.alias, merged.get("alias")),
        stage=merged.get("stage"),
        status=e.after.get("status"),
        previous_status=e.before.get("status"),
        comment=_first(e.after.get("comment"), e.details.get("comment")),
        details=_without(
            {**e.details, **e.after},
            "request_id", "approval_request_id", "id", "alias", "stage", "status", "comment",
        ),
    )


def _fairness_check(e: AuditEntry) -> _Payload:
    merged = {**e.details, **e.after}
    passed = merged.get("passed")
    return FairnessCheckPayload(
        check_id=_s(_first(merged.get("check_id"), merged.get("id"))),
        name=e.model,
        version=e.version,
        passed=None if passed is None else bool(passed),
        details=_without(merged, "check_id", "id", "passed"),
    )


def _security_scan(e: AuditEntry) -> _Payload:
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


def _promotion(e: AuditEntry) -> _Payload:
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


def _audit(e: AuditEntry) -> _Payload:
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


def _webhook(e: AuditEntry) -> _Payload:
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
    return Event(
        id=entry.entry_id,
        type=entry.action,
        timestamp_ms=entry.timestamp_ms,
        actor=entry.actor,
        model=entry.model,
        version=entry.version,
        alias=entry.alias,
        seq=entry.seq,
        data=data,
    )


_EXAMPLES: dict[str, type[_Payload]] = {
    family: cls
    for cls in (
        RegisteredModelPayload,
        RegisteredModelTagPayload,
        ModelVersionPayload,
        ModelVersionTagPayload,
        ModelVersionAliasPayload,
        ApprovalRequestPayload,
        FairnessCheckPayload,
        SecurityScanPayload,
        PromotionBlockedPayload,
        AuditVerificationFailedPayload,
        WebhookSubscriptionPayload,
    )
    for family in cls.families
}


_TYPE_EXAMPLES: dict[str, type[_Payload]] = {
    "audit.checkpoint": AuditCheckpointPayload,
    "audit.drift_detected": AuditDriftPayload,
    "model_version.artifacts_changed": ArtifactsChangedPayload,
    "promotion.rolled_back": PromotionRolledBackPayload,
}


def example_event(event_type: str, *, event_id: str, timestamp_ms: int, actor: str) -> Event:
    """A signed-test example of ``event_type`` (what ``webhooks test`` sends), marked ``test``."""
    family = event_type.rsplit(".", 1)[0]
    data = _TYPE_EXAMPLES.get(event_type, _EXAMPLES.get(family, GenericPayload)).example()
    fields = data.to_dict()
    return Event(
        id=event_id,
        type=event_type,
        timestamp_ms=timestamp_ms,
        actor=actor,
        model=fields.get("name"),
        version=_s(fields.get("version")),
        alias=fields.get("alias"),
        seq=None,
        data=data,
        test=True,
    )
