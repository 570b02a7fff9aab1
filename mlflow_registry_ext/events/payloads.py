"""The payload of each event family: one frozen dataclass each, with its example. Pure.

Registry payloads keep the field names of MLflow's own webhook payloads (``name``, ``version``,
``source``, ``run_id``, ``tags``, ``description``, ``key``, ``value``, ``alias``) and add what
MLflow leaves out (the previous value of whatever changed). Each class's ``example()`` is its one
example: ``webhooks test`` sends it and docs/webhooks.md shows it (:func:`markdown_table`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

__all__ = [
    "Payload",
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
    "example_payload",
    "markdown_table",
]


class Payload:
    """Shared behaviour of the payload dataclasses."""

    families: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class RegisteredModelPayload(Payload):
    """``registered_model.created|updated|renamed|deleted``.

    Attributes:
        name: The model's name (after a rename: the new name).
        description: Its description (after the change; before it, for a deletion).
        tags: Its tags at creation or deletion.
        previous_description: For ``updated``: the description before.
        previous_name: For ``renamed``: the old name.
        versions: For ``deleted``: the versions deleted with it.
        aliases: For ``deleted``: the aliases it had, alias -> version.
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
class RegisteredModelTagPayload(Payload):
    """``registered_model_tag.set|deleted``.

    Attributes:
        name: The model's name.
        key: The tag key.
        value: The new value (``None`` for a deletion).
        previous_value: The value before (``None`` when the tag is new).
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
class ModelVersionPayload(Payload):
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
class ArtifactsChangedPayload(Payload):
    """``model_version.artifacts_changed``: a pinned version's source no longer matches its
    manifest (what the version serves did not change).

    Attributes:
        name: The model's name.
        version: The version.
        pinned_digest: The manifest's digest (what was reviewed and is served).
        found_digest: The digest its source has now (``unreadable: ...`` if it cannot be read).
        source: The source that changed.
        serving: What the version serves (its snapshot, or its source when nothing was copied).
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
class ModelVersionTagPayload(Payload):
    """``model_version_tag.set|deleted``.

    Attributes:
        name: The model's name.
        version: The version.
        key: The tag key.
        value: The new value (``None`` for a deletion).
        previous_value: The value before (``None`` when the tag is new).
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
class ModelVersionAliasPayload(Payload):
    """``model_version_alias.created|deleted``: an alias set, moved or removed.

    Attributes:
        name: The model's name.
        alias: The alias.
        version: The version it points at now (``None`` after a deletion).
        previous_version: The version it pointed at before (``None`` when it is new).
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
class ApprovalRequestPayload(Payload):
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
class FairnessCheckPayload(Payload):
    """``fairness_check.recorded``.

    Attributes:
        check_id: The fairness record's id.
        name: The model's name.
        version: The version checked.
        passed: Whether every policy threshold held (``None`` when no policy applied).
        details: The metrics, sensitive features and thresholds recorded.
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
class SecurityScanPayload(Payload):
    """``security_scan.recorded``.

    Attributes:
        scan_id: The scan report's id.
        name: The model's name.
        version: The version scanned.
        status: ``clean``, ``findings`` or ``error`` (the scan failed).
        artifact_digest: Digest of the files scanned.
        highest_severity: The highest severity found (``low`` ... ``critical``), if any.
        details: The scanner, its version, counts, and the worst finding.
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
class PromotionBlockedPayload(Payload):
    """``promotion.blocked``: the policy refused an alias, stage or deletion.

    Attributes:
        name: The model's name.
        version: The version someone tried to promote.
        alias: The protected alias, if any.
        stage: The protected stage, if any.
        reason: The refusal message (what is missing).
        details: Everything else recorded (the rule, the missing items).
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
class PromotionRolledBackPayload(Payload):
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
class AuditVerificationFailedPayload(Payload):
    """``audit.verification_failed``: ``audit verify`` found tampering.

    Attributes:
        first_bad_seq: The first entry that does not fit the chain.
        reason: Why it does not fit.
        checked: How many entries were read.
        details: Anything else recorded.
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
class AuditCheckpointPayload(Payload):
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
class AuditDriftPayload(Payload):
    """``audit.drift_detected``: the registry differs from what the audit log says it should be
    (a change made around the governed store).

    Attributes:
        count: How many new differences this entry reports (one entry per model; a difference
            that persists is reported by every ``audit reconcile`` but delivered once).
        differences: Each difference: ``workspace``, ``kind`` (model, version, stage,
            description, source, run_id, tag, alias), ``model``, ``version``, ``key`` (the tag
            key or alias), ``expected`` (from the log) and ``actual`` (in the database); for a
            model or version, ``present`` or ``absent``.
    """

    families: ClassVar[tuple[str, ...]] = ()
    count: int | None
    differences: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @classmethod
    def example(cls) -> AuditDriftPayload:
        return cls(count=1, differences=[{"workspace": "default", "kind": "alias", "model": "fraud-detector",
                                          "version": None, "key": "production", "expected": "3", "actual": "4"}])


@dataclasses.dataclass(frozen=True)
class WebhookSubscriptionPayload(Payload):
    """``webhook.created|updated|deleted|secret_rotated|disabled|redelivered|replayed``.

    Secrets never appear here.

    Attributes:
        webhook_id: The subscription's id.
        url: Its target URL.
        events: Its event patterns.
        status: ``active`` or ``disabled`` after the change.
        reason: Why it was disabled, for ``webhook.disabled``.
        details: Everything else recorded (changed fields, replay range, counts).
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
class GenericPayload(Payload):
    """Any other audited action: its recorded before/after values and details.
    """

    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def example(cls) -> GenericPayload:
        return cls(after={"x": 1})


_FAMILY_EXAMPLES: dict[str, type[Payload]] = {
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


_TYPE_EXAMPLES: dict[str, type[Payload]] = {
    "audit.checkpoint": AuditCheckpointPayload,
    "audit.drift_detected": AuditDriftPayload,
    "model_version.artifacts_changed": ArtifactsChangedPayload,
    "promotion.rolled_back": PromotionRolledBackPayload,
}


def example_payload(event_type: str) -> Payload:
    """The example payload of ``event_type``: its own class's if it has one, else its family's."""
    family = event_type.rsplit(".", 1)[0]
    return _TYPE_EXAMPLES.get(event_type, _FAMILY_EXAMPLES.get(family, GenericPayload)).example()


def markdown_table() -> str:
    """The table of payload examples in docs/webhooks.md, one row per family (and per event type
    with a class of its own, after its family's row)."""
    lines = ["| family or type | `data` example |", "| --- | --- |"]
    for family, cls in _FAMILY_EXAMPLES.items():
        rows = [(family, cls)] + [
            (event_type, own) for event_type, own in _TYPE_EXAMPLES.items()
            if event_type.rsplit(".", 1)[0] == family
        ]
        lines += [
            f"| `{name}` (`{c.__name__}`) | `{json.dumps(c.example().to_dict())}` |" for name, c in rows
        ]
    return "\n".join(lines)
