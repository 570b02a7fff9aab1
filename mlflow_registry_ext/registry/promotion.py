"""Promote, roll back, override, and the dry run of a promotion: one library call each.

Each goes through the governed registry store, so it passes the same gate as a plain
``MlflowClient`` call or the stock UI; what they add is the choice of request, the rollback's
target (from the audit log), an admin's reason, and a :class:`~mlflow_registry_ext.entities.
PromotionResult` that says what happened and which audit entry records it.

Example:
    >>> with as_user("erin"):
    ...     request = store.approvals.create("fraud-model", "2", alias="production")
    >>> for reviewer in ("alice", "bob"):
    ...     with as_user(reviewer):
    ...         request = store.approvals.approve(request.id)
    >>> promote(store, "fraud-model", "2", alias="production").request_id == request.id
    True
    >>> store.get_registered_model("fraud-model").aliases
    {'production': 2}
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from mlflow_registry_ext.entities import PromotionCheck, PromotionResult
from mlflow_registry_ext.errors import InvalidInput, missing_as_not_found
from mlflow_registry_ext.approvals.inputs import parse_target, parse_version
from mlflow_registry_ext.approvals.service import previous_alias_version
from mlflow_registry_ext.db.incarnation import live_model_created_ms
from mlflow_registry_ext.approvals.rollback_targets import check_rollback_target
from mlflow_registry_ext.registry.gate import GateRequest, gate_request
from mlflow_registry_ext.approvals.version_state import alias_version, read_version

__all__ = ["promote", "rollback", "check_promotion", "admin_override", "MAX_REASON"]

#: The longest rollback reason (the REST API's limit on free texts).
MAX_REASON = 10_000


def _reason(reason: str | None) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise InvalidInput("A rollback needs a reason (why the alias goes back), e.g. --reason 'incident 42: drift'")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"The rollback reason is longer than {MAX_REASON} characters")
    return text


@contextlib.contextmanager
def admin_override(reason: str) -> Iterator[GateRequest]:
    """Force the registry changes inside the block through the policy, as an admin.

    Only users the rule lists under ``admin_override`` may; the reason is mandatory. Each change
    the policy would have refused is recorded twice: a ``promotion.overridden`` audit entry
    (committed before the change, with the reason and what was missing) and the change's own
    entry, whose ``details.governance.override`` repeats both. Changes the policy allows anyway
    are made normally (an approved request is still applied).

    Raises:
        InvalidInput: The reason is blank.

    Example:
        >>> from mlflow import MlflowClient
        >>> client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        >>> with as_user("root"), admin_override("incident 42: production model leaks PII"):
        ...     client.set_registered_model_alias("fraud-model", "production", "1")
        ...     client.delete_registered_model_alias("fraud-model", "production")
    """
    if not (reason or "").strip():
        raise InvalidInput("An admin override needs a reason")
    with gate_request(override_reason=reason) as asked:
        yield asked


def _result(store, asked: GateRequest, model, version, kind, target, action, previous,
            reason: str | None = None) -> PromotionResult:
    grant = asked.grant
    rule = grant.rule.describe() if grant else None
    if rule is None:
        found = store.gate.rule_for(model)
        rule = found.describe() if found else None
    return PromotionResult(
        model=model,
        version=version,
        target_kind=kind,
        target=target,
        action=action,
        previous_version=previous,
        request_id=grant.request.id if grant and grant.request else None,
        override_reason=grant.override["reason"] if grant and grant.override else None,
        audit_seq=_change_seq(asked.entries),
        rule=rule,
        reason=reason,
        alone=bool(grant and grant.alone),
    )


def _change_seq(entries) -> int | None:
    """The entry of the registry change itself (a rollback's ``promotion.rolled_back`` follows it)."""
    own = [e.seq for e in entries if e.action != "promotion.rolled_back"]
    return own[-1] if own else (entries[-1].seq if entries else None)


def _named_request(store, request_id: str, model, version, kind, target, action) -> None:
    request = store.approvals.get(request_id)
    wanted = (model, version, kind, target, action)
    found = (request.model, request.version, request.target_kind, request.target, request.action)
    if found != wanted:
        raise InvalidInput(f"Approval request {request_id} is for {request.describe()}, not for this change")
    if not request.is_open:
        raise InvalidInput(f"Approval request {request_id} is {request.status}; it cannot be applied")


def promote(
    store,
    model: str,
    version: str | int,
    *,
    alias: str | None = None,
    stage: str | None = None,
    request_id: str | None = None,
    override_reason: str | None = None,
    archive_existing_versions: bool = False,
) -> PromotionResult:
    """Put ``version`` under ``alias`` (or move it to ``stage``), applying its approved request.

    Args:
        store: The governed registry store.
        model: Registered model name.
        version: The version.
        alias: The alias (or give ``stage``).
        stage: The stage.
        request_id: Apply this request (default: any approved request for the change).
        override_reason: Force it through as an admin if the policy refuses it.
        archive_existing_versions: For stages: move the versions now in ``stage`` to Archived.

    Raises:
        PolicyViolation: The policy refuses it; the message names what is missing.
        InvalidInput: A bad target, or a request that is closed or for another change.
        NotFound: The version or the request does not exist.
    """
    kind, target = parse_target(alias, stage)
    version = parse_version(version)
    if request_id:
        _named_request(store, request_id, model, version, kind, target, "promote")
    previous = alias_version(store.inner, model, target) if kind == "alias" else None
    fields: dict[str, Any] = {"action": "promote", "request_id": request_id, "override_reason": override_reason}
    with gate_request(**fields) as asked:
        if kind == "alias":
            store.set_registered_model_alias(model, target, version)
        else:
            store.transition_model_version_stage(model, version, target, archive_existing_versions)
    return _result(store, asked, model, version, kind, target, "promote", previous)


def rollback(
    store,
    model: str,
    alias: str,
    *,
    reason: str | None = None,
    request_id: str | None = None,
    override_reason: str | None = None,
) -> PromotionResult:
    """Re-point ``alias`` to the version it pointed to before, in one audited step.

    The previous version comes from the audit log (like ``cd -``: a second rollback returns to
    where the first started). On a protected alias this needs an approved ``rollback`` request
    (the rule's ``rollback`` approvals, by default one), or an admin override, or (with
    ``rollback: {required: 0, allowed: [...]}``) an authenticated user listed under ``allowed``,
    who rolls back alone. Every rollback is recorded as ``promotion.rolled_back`` with its reason.

    Args:
        reason: Why (mandatory; at most :data:`MAX_REASON` characters).

    Raises:
        InvalidInput: No reason, the alias is not set, or has no earlier version in the audit log.
        NotFound: The model, the earlier version, or the request does not exist.
        PolicyViolation: The policy refuses it.
    """
    reason = _reason(reason)
    kind, alias = parse_target(alias, None)
    store.get_registered_model(model)
    current = alias_version(store.inner, model, alias)
    if current is None:
        raise InvalidInput(f"Alias {alias!r} of {model} is not set; there is nothing to roll back")
    live_ms = live_model_created_ms(store.inner, model)
    with store.governance_db.reading() as engine:
        previous = previous_alias_version(engine, model, alias, current, live_ms)
    if previous is None:
        raise InvalidInput(
            f"Alias {alias!r} of {model} has no earlier version in the audit log of this model "
            "to roll back to"
        )
    with missing_as_not_found(
        f"Alias {alias!r} of {model} pointed to version {previous} before, which no longer exists"
    ):
        target = read_version(store.inner, model, previous)
    rule = store.gate.rule_for(model)
    if rule is not None and rule.protects_alias(alias) and override_reason is None:
        # Say why at once; the gate refuses the same target anyway.
        check_rollback_target(
            store.governance_db, store.inner, alias, live_ms, target,
            digest_required=rule.require.artifact_digest,
        )
    if request_id:
        _named_request(store, request_id, model, previous, kind, alias, "rollback")
    fields = {"action": "rollback", "request_id": request_id, "override_reason": override_reason, "reason": reason}
    with gate_request(**fields) as asked:
        store.set_registered_model_alias(model, alias, previous)
    return _result(store, asked, model, previous, kind, alias, "rollback", current, reason)


def check_promotion(
    store,
    model: str,
    version: str | int,
    *,
    alias: str | None = None,
    stage: str | None = None,
    action: str = "promote",
) -> PromotionCheck:
    """Would the policy allow this change now? Claims and writes nothing.

    Example:
        >>> check_promotion(store, "fraud-model", "1", alias="production").message
        'needs 2 approvals from risk-reviewers, dave; has 0; missing tag training_dataset;
        fairness check demographic_parity_difference on sex missing; no approval request is open
        for this change'
    """
    kind, target = parse_target(alias, stage)
    version = parse_version(version)
    with missing_as_not_found(f"Model version {model} {version} does not exist"):
        state = read_version(store.inner, model, version)
    rule = store.gate.rule_for(model)
    base = {"model": model, "version": version, "target_kind": kind, "target": target, "action": action,
            "rule": rule.describe() if rule else None}
    protected = rule is not None and rule.protects(kind, target)
    if action == "delete_alias" and protected and rule.on_delete_alias == "allow":
        protected = False
    if not protected:
        return PromotionCheck(protected=False, allowed=True, message="allowed: not protected", **base)
    current = alias_version(store.inner, model, target) if kind == "alias" else None
    if action == "promote" and (current == version if kind == "alias" else state.stage == target):
        return PromotionCheck(protected=True, allowed=True, message="allowed: already there", **base)
    assessment = store.gate.assess(rule, kind, target, state, (action,), current)
    decision = assessment.decision
    return PromotionCheck(
        protected=True,
        allowed=bool(assessment.allowed),
        message=assessment.message(),
        missing=tuple(decision.missing) + tuple(assessment.notes if not assessment.allowed else ()),
        approvals=decision.approvals_text if decision.required else None,
        request_id=assessment.request.id if assessment.request else None,
        **base,
    )
