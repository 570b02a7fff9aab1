"""Event type names and subscription patterns. Pure."""

from __future__ import annotations

__all__ = [
    "EVENT_TYPES",
    "REGISTRY_EVENT_TYPES",
    "GOVERNANCE_EVENT_TYPES",
    "WEBHOOK_EVENT_TYPES",
    "PROMPT_EVENT_TYPES",
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
