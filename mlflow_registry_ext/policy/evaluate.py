"""Judge a promotion against a policy rule. Pure: the caller gathers the facts.

:func:`evaluate` answers "may this version be put under this protected alias or stage now?" from a
:class:`~mlflow_registry_ext.policy.facts.PromotionFacts` (who asked, who approved and when, the
version's tags, description, fairness records and artifact digest). The helpers next to it answer
who may review and what a change would require.

Example:
    >>> decision = evaluate(policy.rule_for("fraud-model"), PromotionFacts(
    ...     model="fraud-model", version="7", target_kind="alias", target="production",
    ...     requester="erin", approvals=(ApprovalFact("alice", now),), now=now,
    ...     tags={"owner": "risk"}, description="gradient-boosted trees"))
    >>> decision.allowed, decision.message()
    (False, 'needs 2 approvals from risk-reviewers, dave; has 1; missing tag training_dataset;
    fairness check demographic_parity_difference on sex missing')
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, Mapping

from mlflow_registry_ext.errors import InvalidInput, PermissionDenied
from mlflow_registry_ext.policy.facts import (
    ACTIONS,
    TARGET_KINDS,
    ApprovalFact,
    Decision,
    FairnessFact,
    IgnoredApproval,
    MetricFact,
    PromotionFacts,
    RequirementsSummary,
    SecurityScanFact,
    to_ms,
)
from mlflow_registry_ext.policy.model import (
    SCAN_SEVERITIES,
    ApprovalRequirement,
    FairnessRequirement,
    MetricRequirement,
    Rule,
    default_direction,
    format_duration,
    threshold_breach,
)
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "evaluate",
    "bound_state_hash",
    "fairness_status",
    "security_scan_problem",
    "is_eligible_reviewer",
    "authorize_reviewer",
    "requirements_summary",
    "metric_problems",
    "card_problems",
]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _short(digest: str | None) -> str:
    return digest[:19] + "…" if digest and len(digest) > 20 else str(digest)


def security_scan_problem(
    requirement: str | None, scan: SecurityScanFact | None, current_digest: str | None = None
) -> str | None:
    """What is wrong with the version's security scan under ``require.security_scan``, or ``None``.

    A scan counts only for the files it scanned: when ``current_digest`` is known and differs
    from the scan's, the version has no scan of its current artifacts. A failed scan never
    passes.

    Example:
        >>> security_scan_problem("clean", SecurityScanFact("findings", "sha256:ab",
        ...     "critical", "critical: Use of unsafe operator 'system' from module 'posix' in model.pkl"))
        "security scan found critical: Use of unsafe operator 'system' from module 'posix' in model.pkl (allowed: clean)"
    """
    if not requirement:
        return None
    if scan is None or (current_digest and scan.artifact_digest != current_digest):
        return "missing security scan of the current artifacts"
    if scan.status == "error":
        return f"security scan failed: {scan.error or 'the scanner reported an error'}"
    if scan.status == "clean" or not scan.highest_severity:
        return None
    allowed = -1 if requirement == "clean" else SCAN_SEVERITIES.index(requirement)
    found = SCAN_SEVERITIES.index(scan.highest_severity) if scan.highest_severity in SCAN_SEVERITIES else len(SCAN_SEVERITIES)
    if found <= allowed:
        return None
    limit = "clean" if requirement == "clean" else f"up to {requirement}"
    return f"security scan found {scan.worst_finding or scan.highest_severity} (allowed: {limit})"


def bound_state_hash(rule: Rule | None, tags: Mapping[str, str], description: str | None) -> str:
    """A hash of what an approval is bound to besides the version: required tags and description.

    Record it with each approval; :func:`evaluate` ignores an approval whose hash no longer
    matches, so changing a required tag or the description after approval makes it stale.

    Example:
        >>> bound_state_hash(rule, {"owner": "risk"}, "v7") == bound_state_hash(rule, {"owner": "ml"}, "v7")
        False
    """
    required = sorted(rule.require.bound_tags) if rule else []
    state = {"description": description or "", "tags": {key: tags.get(key) for key in required}}
    text = json.dumps(state, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def fairness_status(rule: Rule | None, records: Iterable[FairnessFact]) -> str | None:
    """``passed``, ``failed`` or ``missing`` against the rule's fairness thresholds.

    ``None`` when the rule asks for no fairness check (the status tags then never name fairness).

    Example:
        >>> fairness_status(rule, [FairnessFact("demographic_parity_difference", "sex", 0.04)])
        'passed'
    """
    if rule is None or not rule.require.fairness:
        return None
    problems = _fairness_problems(rule.require.fairness, tuple(records))
    if any(kind == "failed" for kind, _ in problems):
        return "failed"
    return "missing" if problems else "passed"


def _fairness_problems(
    requirements: tuple[FairnessRequirement, ...], records: tuple[FairnessFact, ...]
) -> list[tuple[str, str]]:
    problems = []
    for requirement in requirements:
        matching = [
            (i, record)
            for i, record in enumerate(records)
            if record.metric == requirement.metric
            and record.sensitive_feature == requirement.sensitive_feature
            and (requirement.dataset is None or requirement.dataset in (record.dataset_name, record.dataset_digest))
        ]
        what = f"fairness check {requirement.metric} on {requirement.sensitive_feature}"
        if requirement.dataset:
            what += f" (dataset {requirement.dataset})"
        if not matching:
            problems.append(("missing", f"{what} missing"))
            continue
        # The newest record applies; records without a time rank by their position.
        _, newest = max(matching, key=lambda pair: (to_ms(pair[1].recorded_at) or 0, pair[0]))
        breach = requirement.breach(newest.value)
        if breach:
            problems.append(("failed", f"{what} failed: {breach}"))
    return problems


def metric_problems(requirements: tuple[MetricRequirement, ...], metrics: tuple[MetricFact, ...],
                    target: str) -> list[str]:
    """Why the candidate's metrics fail ``require.metrics``: one line per failed bound, naming the
    metric, both values and the limit.

    Example:
        >>> metric_problems((MetricRequirement("auc", max_regression=0.01),),
        ...     (MetricFact("auc", 0.90, current=0.95, current_version="1"),), "production")
        ['metric auc regressed against production (version 1): 0.9 vs 0.95, worse by 0.05 > max_regression 0.01']
    """
    problems = []
    for requirement in requirements:
        found = [m for m in metrics if m.name == requirement.name]
        if not found:
            problems.append(f"metric {requirement.name} missing (not logged on the run or the logged model)")
            continue
        for fact in found:
            on = f" on {fact.dataset}" if fact.dataset else ""
            breach = threshold_breach(fact.value, max=requirement.max, min=requirement.min)
            if (requirement.max is not None or requirement.min is not None) and breach:
                problems.append(f"metric {requirement.name}{on} failed: {breach}")
                continue
            if requirement.max_regression is not None and fact.incomparable:
                # Evaluating on other data must not be a way around the regression check.
                problems.append(f"metric {requirement.name}{on} cannot be compared with {target}: {fact.incomparable}")
                continue
            if requirement.max_regression is None or fact.current is None or fact.value is None:
                continue
            direction = requirement.direction or default_direction(requirement.name)
            worse = fact.current - fact.value if direction == "higher" else fact.value - fact.current
            # A tiny tolerance: float noise must not turn "equal to the limit" into a refusal.
            if worse > requirement.max_regression + 1e-12:
                problems.append(
                    f"metric {requirement.name}{on} regressed against {target} (version "
                    f"{fact.current_version}): {fact.value:g} vs {fact.current:g}, worse by {worse:g} "
                    f"> max_regression {requirement.max_regression:g}"
                )
    return problems


def card_problems(fields: tuple[str, ...], card) -> list[str]:
    """``model card missing intended_use, limitations`` when required fields are blank."""
    absent = [f for f in fields if not str(card.get(f) or "").strip()]
    return [f"model card missing {', '.join(absent)}"] if absent else []


def _approval_requirement(rule: Rule, action: str) -> ApprovalRequirement:
    return rule.rollback.approvals if action == "rollback" else rule.approvals


def _count(
    rule: Rule, requirement: ApprovalRequirement, facts: PromotionFacts, *, bind_state: bool
) -> tuple[list[str], list[IgnoredApproval]]:
    now_ms = to_ms(facts.now)
    if now_ms is None:
        now_ms = utc_now_ms()
    current_state = bound_state_hash(rule, facts.tags, facts.description) if bind_state else None
    check_digest = bind_state and rule.require.artifact_digest and facts.current_artifact_digest
    newest: dict[str, ApprovalFact] = {}
    for approval in facts.approvals:
        known = newest.get(approval.approver)
        if known is None or to_ms(approval.decided_at) >= to_ms(known.decided_at):
            newest[approval.approver] = approval
    counted, ignored = [], []
    for approver in sorted(newest):
        approval = newest[approver]
        reason = None
        age_ms = now_ms - to_ms(approval.decided_at)
        if not requirement.is_eligible(approver):
            reason = "not an eligible reviewer"
        elif not requirement.allow_self_approval and approver == facts.requester:
            reason = "the requester's own approval does not count"
        elif not requirement.allow_self_approval and approver == facts.version_creator:
            reason = "the version creator's own approval does not count"
        elif requirement.expires_after and age_ms > requirement.expires_after.total_seconds() * 1000:
            reason = f"expired (approvals expire after {format_duration(requirement.expires_after)})"
        elif current_state and approval.bound_state_hash and approval.bound_state_hash != current_state:
            reason = "stale: a required tag or the description changed after the approval"
        elif check_digest and approval.artifact_digest != facts.current_artifact_digest:
            reason = (
                "not bound to an artifact digest"
                if not approval.artifact_digest
                else f"given for other artifacts ({_short(approval.artifact_digest)})"
            )
        if reason:
            ignored.append(IgnoredApproval(approver, reason))
        else:
            counted.append(approver)
    return counted, ignored


def evaluate(rule: Rule | None, facts: PromotionFacts) -> Decision:
    """Whether the change described by ``facts`` may happen under ``rule``.

    Promotions (``action="promote"``) need the rule's approvals and every ``require`` item.
    Rollbacks need the ``rollback`` approvals and the artifact digest (and the other
    requirements only with ``recheck_requirements``). Deleting a protected alias follows
    ``on_delete_alias``. A target the rule does not protect, or no rule, is always allowed.

    Only distinct, eligible approvers count; the requester and the version creator do not unless
    ``allow_self_approval``; approvals older than ``expires_after`` at ``facts.now`` do not;
    approvals whose :func:`bound_state_hash` or artifact digest no longer match do not.

    Example:
        >>> facts = PromotionFacts(model="m", version="1", target_kind="alias", target="production")
        >>> evaluate(None, facts).allowed
        True
    """
    if rule is None:
        return Decision(allowed=True)
    located = {"rule_match": rule.match, "rule_index": rule.index}
    if not rule.protects(facts.target_kind, facts.target):
        return Decision(allowed=True, **located)
    if facts.action == "delete_alias":
        return _evaluate_delete_alias(rule, facts, located)

    requirement = _approval_requirement(rule, facts.action)
    counted, ignored = _count(rule, requirement, facts, bind_state=True)
    missing = []
    if len(counted) < requirement.required:
        verb = "rollback needs" if facts.action == "rollback" else "needs"
        missing.append(
            f"{verb} {_plural(requirement.required, 'approval')} from {requirement.reviewers_text()}; "
            f"has {len(counted)}"
        )
    recheck = facts.action == "promote" or rule.rollback.recheck_requirements
    require = rule.require
    if recheck:
        for key in require.tags:
            if not str(facts.tags.get(key) or "").strip():
                missing.append(f"missing tag {key}")
        if require.description and not (facts.description or "").strip():
            missing.append("missing description")
        missing.extend(text for _, text in _fairness_problems(require.fairness, facts.fairness))
        missing.extend(metric_problems(require.metrics, facts.metrics, facts.target))
        missing.extend(card_problems(require.model_card, facts.model_card))
    if require.artifact_digest:
        current, approved = facts.current_artifact_digest, facts.approved_artifact_digest
        if not current:
            missing.append("artifact digest of the version is unknown")
        elif approved and approved != current:
            missing.append(f"artifact digest mismatch: approved {_short(approved)}, now {_short(current)}")
    scan_problem = security_scan_problem(require.security_scan, facts.security_scan, facts.current_artifact_digest)
    if scan_problem:
        missing.append(scan_problem)
    return Decision(
        allowed=not missing,
        missing=tuple(missing),
        required=requirement.required,
        counted=len(counted),
        counted_approvers=tuple(counted),
        ignored=tuple(ignored),
        fairness=fairness_status(rule, facts.fairness) if recheck else None,
        **located,
    )


def _evaluate_delete_alias(rule: Rule, facts: PromotionFacts, located: dict) -> Decision:
    if rule.on_delete_alias == "allow":
        return Decision(allowed=True, **located)
    if rule.on_delete_alias == "deny":
        text = f"deleting protected alias {facts.target!r} is denied by policy; it needs an admin override"
        return Decision(allowed=False, missing=(text,), **located)
    requirement = rule.approvals
    counted, ignored = _count(rule, requirement, facts, bind_state=False)
    missing = ()
    if len(counted) < requirement.required:
        missing = (
            f"deleting protected alias {facts.target!r} needs "
            f"{_plural(requirement.required, 'approval')} from {requirement.reviewers_text()}; has {len(counted)}",
        )
    return Decision(
        allowed=not missing,
        missing=missing,
        required=requirement.required,
        counted=len(counted),
        counted_approvers=tuple(counted),
        ignored=tuple(ignored),
        **located,
    )


def is_eligible_reviewer(rule: Rule | None, user: str | None, *, action: str = "promote") -> bool:
    """Whether ``user`` is among the reviewers whose approval may count for ``action``.

    Self-approval is a separate question (see :func:`authorize_reviewer`). With no rule nothing
    needs reviewing, so nobody is eligible.

    Example:
        >>> is_eligible_reviewer(rule, "alice"), is_eligible_reviewer(rule, "eve")
        (True, False)
    """
    if rule is None:
        return False
    return _approval_requirement(rule, action).is_eligible(user)


def authorize_reviewer(
    rule: Rule | None,
    user: str | None,
    *,
    requester: str | None = None,
    version_creator: str | None = None,
    action: str = "promote",
) -> None:
    """Refuse a decision by ``user`` whose approval could never count.

    Raises:
        PermissionDenied: ``user`` is not an eligible reviewer, or is the requester or the
            version creator and the rule does not allow self-approval.

    Example:
        >>> authorize_reviewer(rule, "alice", requester="erin")   # passes silently
    """
    if rule is None:
        raise PermissionDenied("No policy rule protects this model, so there is nothing to review")
    requirement = _approval_requirement(rule, action)
    if not requirement.is_eligible(user):
        raise PermissionDenied(
            f"{user} is not an eligible reviewer under {rule.describe()}; "
            f"reviewers: {requirement.reviewers_text()}"
        )
    if not requirement.allow_self_approval:
        if user == requester:
            raise PermissionDenied(f"{user} requested this change; {rule.describe()} does not allow self-approval")
        if user == version_creator:
            raise PermissionDenied(
                f"{user} created this model version; {rule.describe()} does not allow self-approval"
            )


def _approval_lines(requirement: ApprovalRequirement) -> list[str]:
    who = requirement.reviewers_text()
    if not requirement.anyone and requirement.groups:
        who += f" (eligible: {', '.join(sorted(requirement.eligible))})"
    lines = [f"{_plural(requirement.required, 'distinct approval')} from {who}"]
    if not requirement.allow_self_approval:
        lines.append("the requester's and the version creator's own approvals do not count")
    if requirement.expires_after:
        lines.append(f"approvals expire after {format_duration(requirement.expires_after)}")
    return lines


def requirements_summary(
    rule: Rule | None, target: str, *, kind: str = "alias", action: str = "promote"
) -> RequirementsSummary:
    """What ``action`` on ``target`` would require under ``rule``, as readable lines.

    Example:
        >>> print(requirements_summary(rule, "production").text())
          - 2 distinct approvals from risk-reviewers, dave (eligible: alice, bob, carol, dave)
          - the requester's and the version creator's own approvals do not count
          - approvals expire after 7d
          - tag owner
          ...
    """
    if kind not in TARGET_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(TARGET_KINDS)}, got {kind!r}")
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    protected = rule is not None and rule.protects(kind, target)
    items: list[str] = []
    if protected and action == "delete_alias":
        if rule.on_delete_alias == "deny":
            items.append("denied: only an admin override can delete it")
        elif rule.on_delete_alias == "approval":
            items.extend(_approval_lines(rule.approvals))
    elif protected:
        rollback = action == "rollback"
        if rollback and rule.rollback.alone:
            allowed = rule.rollback
            who = allowed.allowed_text()
            if allowed.groups:
                who += f" (users: {', '.join(sorted(allowed.allowed))})"
            items.append(f"no approval for {who}: they roll back alone, with a reason; everybody else needs:")
        items.extend(_approval_lines(_approval_requirement(rule, action)))
        require = rule.require
        if not rollback or rule.rollback.recheck_requirements:
            items.extend(f"tag {key}" for key in require.tags)
            if require.description:
                items.append("a description")
            items.extend(f"fairness check {check.describe()}" for check in require.fairness)
            items.extend(metric.describe() for metric in require.metrics)
            if require.model_card:
                items.append(f"model card fields {', '.join(require.model_card)}")
        if require.artifact_digest:
            items.append("artifacts unchanged since the approval (artifact digest)")
        if require.security_scan:
            items.append(
                "a clean security scan of the current artifacts" if require.security_scan == "clean"
                else f"a security scan of the current artifacts with no finding above {require.security_scan}"
            )
    return RequirementsSummary(kind, target, action, protected, rule, tuple(items))
