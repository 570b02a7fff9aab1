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

``data`` is one of the payload dataclasses of :mod:`.payloads`, one per event family. The
package's modules: :mod:`.types` (type names, subscription patterns), :mod:`.payloads` (the
payload classes and their examples), :mod:`.envelope` (:class:`Event`) and :mod:`.from_audit`
(the reading of a stored audit entry, for webhook replay and redelivery). Whoever drafts an
audit entry builds its payload (``AuditDraft.payload``), which the outbox sends with the entry's
envelope (:func:`entry_event`).

Example:
    >>> from mlflow_registry_ext.entities import AuditEntry
    >>> entry = AuditEntry(seq=4, entry_id="e4", timestamp_ms=0, actor="alice",
    ...     action="model_version_alias.created", model="fraud-detector", alias="production",
    ...     version="4", before={"version": "3"}, after={"version": "4"})
    >>> event = event_from_audit_entry(entry)
    >>> event.type, event.data.previous_version
    ('model_version_alias.created', '3')
"""

from __future__ import annotations

from mlflow_registry_ext.events.envelope import Event, entry_event, example_event
from mlflow_registry_ext.events.from_audit import event_from_audit_entry
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
    PromotionBlockedPayload,
    PromotionRolledBackPayload,
    RegisteredModelPayload,
    RegisteredModelTagPayload,
    SecurityScanPayload,
    WebhookSubscriptionPayload,
)
from mlflow_registry_ext.events.types import (
    EVENT_TYPES,
    GOVERNANCE_EVENT_TYPES,
    PROMPT_EVENT_TYPES,
    REGISTRY_EVENT_TYPES,
    WEBHOOK_EVENT_TYPES,
    matches_event_type,
    validate_event_patterns,
)

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
    "entry_event",
    "event_from_audit_entry",
    "example_event",
    "matches_event_type",
    "validate_event_patterns",
]
