"""Judge a registry change against a policy rule. Pure: the caller gathers the facts.

:func:`evaluate` answers "may this version be put under this protected alias or stage now?" from a
:class:`PromotionFacts` (who asked, who approved and when, the version's tags, description,
fairness records and artifact digest). The other helpers answer the neighbouring questions:
who may review, who may override, whether a version may be deleted or a model renamed, and what a
promotion would require.

Example:
    >>> decision = evaluate(policy.rule_for("fraud-model"), PromotionFacts(
    ...     model="fraud-model", version="7", target_kind="alias", target="production",
    ...     requester="erin", approvals=(ApprovalFact("alice", now),), now=now))
    >>> decision.allowed, decision.message()
    (False, 'needs 2 approvals from risk-reviewers, dave; has 1; missing tag training_dataset')
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import time
from typing import Any, Iterable, Mapping

from mlflow_registry_ext.errors import InvalidInput, PermissionDenied
from mlflow_registry_ext.policy.model import (
    ApprovalRequirement,
    FairnessRequirement,
    Policy,
    Rule,
    format_duration,
)

__all__ = [
    "TARGET_KINDS",
    "ACTIONS",
    "ApprovalFact",
    "FairnessFact",
    "PromotionFacts",
    "IgnoredApproval",
    "Decision",
    "RequirementsSummary",
    "evaluate",
    "bound_state_hash",
    "fairness_status",
    "is_eligible_reviewer",
    "authorize_reviewer",
    "authorize_override",
    "check_delete_version",
    "check_rename",
    "requirements_summary",
]

#: What a protected target can be.
TARGET_KINDS: tuple[str, ...] = ("alias", "stage")

#: What :func:`evaluate` judges: putting a version under a target, re-pointing an alias to its
#: previous version, or deleting a protected alias.
ACTIONS: tuple[str, ...] = ("promote", "rollback", "delete_alias")

def _to_ms(value: _dt.datetime | int | float | None) -> int | None:
    """Milliseconds since the epoch; a naive datetime is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    return int(value)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _short(digest: str | None) -> str:
    return digest[:19] + "…" if digest and len(digest) > 20 else str(digest)


@dataclasses.dataclass(frozen=True)
class ApprovalFact:
    """One reviewer's approval, as the approval store recorded it.

    Attributes:
        approver: Who approved.
        decided_at: When: a datetime (naive means UTC) or milliseconds since the epoch.
        artifact_digest: The version's artifact digest when the approval was given.
        bound_state_hash: :func:`bound_state_hash` of the version when the approval was given;
            ``None`` skips the staleness check.
    """

    approver: str
    decided_at: _dt.datetime | int | float
    artifact_digest: str | None = None
    bound_state_hash: str | None = None


@dataclasses.dataclass(frozen=True)
class FairnessFact:
    """One recorded fairness check of the version.

    Attributes:
        metric: The metric name (see :data:`~mlflow_registry_ext.policy.FAIRNESS_METRICS`).
        sensitive_feature: The sensitive column it was computed over.
        value: The measured value (the worst case across groups, as the fairness records store it).
        passed: What the record itself concluded; informative only, the rule's threshold decides.
        dataset_name: Name of the evaluation dataset.
        dataset_digest: Digest of the evaluation dataset.
        recorded_at: When it was recorded; the newest record of a metric and feature applies.
    """

    metric: str
    sensitive_feature: str
    value: float | None
    passed: bool | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    recorded_at: _dt.datetime | int | float | None = None


@dataclasses.dataclass(frozen=True)
class PromotionFacts:
    """Everything :func:`evaluate` needs to know about one change.

    Attributes:
        model: Registered model name.
        version: The version to be put under the target (for ``delete_alias``: the version the
            alias points to now).
        target_kind: ``alias`` or ``stage``.
        target: Alias name or stage name.
        requester: Who asked for the change.
        version_creator: Who created the version (``ModelVersion.user_id``), if known.
        approvals: The approvals of the request, in any order; a reviewer's newest one applies.
        tags: The version's tags now.
        description: The version's description now.
        fairness: The version's fairness records.
        current_artifact_digest: The digest of the version's artifacts now.
        approved_artifact_digest: The digest the request was approved for, if recorded.
        now: The time to judge expiry at (datetime or ms); defaults to the clock.
        action: One of :data:`ACTIONS`.
    """

    model: str
    version: str
    target_kind: str
    target: str
    requester: str | None = None
    version_creator: str | None = None
    approvals: tuple[ApprovalFact, ...] = ()
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)
    description: str | None = None
    fairness: tuple[FairnessFact, ...] = ()
    current_artifact_digest: str | None = None
    approved_artifact_digest: str | None = None
    now: _dt.datetime | int | float | None = None
    action: str = "promote"

    def __post_init__(self):
        if self.target_kind not in TARGET_KINDS:
            raise InvalidInput(f"target_kind must be one of {', '.join(TARGET_KINDS)}, got {self.target_kind!r}")
        if self.action not in ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.action != "promote" and self.target_kind != "alias":
            raise InvalidInput(f"{self.action} applies to aliases only, not to stages")
        object.__setattr__(self, "version", str(self.version))
        object.__setattr__(self, "approvals", tuple(self.approvals))
        object.__setattr__(self, "fairness", tuple(self.fairness))
        object.__setattr__(self, "tags", dict(self.tags or {}))

    def describe(self) -> str:
        """E.g. ``setting alias 'production' of fraud-model to version 7``."""
        if self.action == "delete_alias":
            return f"deleting alias {self.target!r} of {self.model}"
        if self.action == "rollback":
            return f"rolling back alias {self.target!r} of {self.model} to version {self.version}"
        if self.target_kind == "stage":
            return f"transitioning version {self.version} of {self.model} to stage {self.target!r}"
        return f"setting alias {self.target!r} of {self.model} to version {self.version}"


@dataclasses.dataclass(frozen=True)
class IgnoredApproval:
    """An approval that was given but does not count, and why."""

    approver: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Decision:
    """The verdict on one change.

    Attributes:
        allowed: Whether the change may go ahead.
        missing: Readable items, each one thing that is missing or wrong.
        rule_match: The glob of the rule that applied (``None``: no rule applies).
        rule_index: Its position in ``models:``.
        required: Distinct approvals needed (0 when none are).
        counted: Approvals that count.
        counted_approvers: Who they are, sorted.
        ignored: Approvals that were given but do not count, with the reason.
        fairness: ``passed``, ``failed`` or ``missing``; ``None`` when the rule asks for none.

    Example:
        >>> decision.message()
        'needs 2 approvals from risk-reviewers, dave; has 1; missing tag training_dataset'
    """

    allowed: bool
    missing: tuple[str, ...] = ()
    rule_match: str | None = None
    rule_index: int | None = None
    required: int = 0
    counted: int = 0
    counted_approvers: tuple[str, ...] = ()
    ignored: tuple[IgnoredApproval, ...] = ()
    fairness: str | None = None

    def message(self) -> str:
        """The missing items joined into one line, or ``allowed``."""
        return "; ".join(self.missing) if self.missing else "allowed"

    @property
    def approvals_text(self) -> str:
        """``counted/required``, the value of the ``governance.approvals`` tag."""
        return f"{self.counted}/{self.required}"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(
            missing=list(self.missing),
            counted_approvers=list(self.counted_approvers),
            ignored=[dataclasses.asdict(i) for i in self.ignored],
            message=self.message(),
        )
        return data


@dataclasses.dataclass(frozen=True)
class RequirementsSummary:
    """What a change would require under a rule: for ``policy show`` and the reviewer page.

    Attributes:
        target_kind: ``alias`` or ``stage``.
        target: The alias or stage.
        action: One of :data:`ACTIONS`.
        protected: Whether the rule protects the target at all.
        rule: The rule that applies, if any.
        items: Readable requirement lines (empty when nothing is required).
    """

    target_kind: str
    target: str
    action: str
    protected: bool
    rule: Rule | None
    items: tuple[str, ...]

    def text(self) -> str:
        """The items as a bulleted block, or a line saying nothing is needed."""
        if not self.items:
            return "  nothing: not protected" if not self.protected else "  nothing"
        return "\n".join(f"  - {item}" for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_kind": self.target_kind,
            "target": self.target,
            "action": self.action,
            "protected": self.protected,
            "rule": self.rule.describe() if self.rule else None,
            "requirements": list(self.items),
        }


def bound_state_hash(rule: Rule | None, tags: Mapping[str, str], description: str | None) -> str:
    """A hash of what an approval is bound to besides the version: required tags and description.

    Record it with each approval; :func:`evaluate` ignores an approval whose hash no longer
    matches, so changing a required tag or the description after approval makes it stale.

    Example:
        >>> bound_state_hash(rule, {"owner": "risk"}, "v7") == bound_state_hash(rule, {"owner": "ml"}, "v7")
        False
    """
    required = sorted(rule.require.tags) if rule else []
    state = {"description": description or "", "tags": {key: tags.get(key) for key in required}}
    text = json.dumps(state, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def fairness_status(rule: Rule | None, records: Iterable[FairnessFact]) -> str | None:
    """``passed``, ``failed`` or ``missing`` against the rule's fairness thresholds.

    ``None`` when the rule asks for no fairness check (the ``governance.fairness`` tag is then
    not set).

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
        _, newest = max(matching, key=lambda pair: (_to_ms(pair[1].recorded_at) or 0, pair[0]))
        breach = requirement.breach(newest.value)
        if breach:
            problems.append(("failed", f"{what} failed: {breach}"))
    return problems


def _approval_requirement(rule: Rule, action: str) -> ApprovalRequirement:
    return rule.rollback.approvals if action == "rollback" else rule.approvals


def _count(
    rule: Rule, requirement: ApprovalRequirement, facts: PromotionFacts, *, bind_state: bool
) -> tuple[list[str], list[IgnoredApproval]]:
    now_ms = _to_ms(facts.now)
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    current_state = bound_state_hash(rule, facts.tags, facts.description) if bind_state else None
    check_digest = bind_state and rule.require.artifact_digest and facts.current_artifact_digest
    newest: dict[str, ApprovalFact] = {}
    for approval in facts.approvals:
        known = newest.get(approval.approver)
        if known is None or _to_ms(approval.decided_at) >= _to_ms(known.decided_at):
            newest[approval.approver] = approval
    counted, ignored = [], []
    for approver in sorted(newest):
        approval = newest[approver]
        reason = None
        age_ms = now_ms - _to_ms(approval.decided_at)
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
    if require.artifact_digest:
        current, approved = facts.current_artifact_digest, facts.approved_artifact_digest
        if not current:
            missing.append("artifact digest of the version is unknown")
        elif approved and approved != current:
            missing.append(f"artifact digest mismatch: approved {_short(approved)}, now {_short(current)}")
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


def authorize_override(rule: Rule | None, actor: str | None, reason: str | None) -> str:
    """Check an admin override and return its reason, trimmed.

    Raises:
        InvalidInput: The reason is missing or blank, or no rule applies (nothing to override).
        PermissionDenied: ``actor`` is not listed under ``admin_override``.

    Example:
        >>> authorize_override(rule, "root", "  incident 42: roll forward  ")
        'incident 42: roll forward'
    """
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("An admin override needs a reason")
    if rule is None:
        raise InvalidInput("No policy rule applies to this model, so there is nothing to override")
    if not rule.admin_override.allows(actor):
        raise PermissionDenied(f"{actor} may not override {rule.describe()}: not listed under admin_override")
    return text


def check_delete_version(rule: Rule | None, version: str | int, aliases: Iterable[str]) -> Decision:
    """Whether version ``version``, which ``aliases`` point to, may be deleted.

    A version that a protected alias points to cannot be deleted until the alias is moved or
    removed (each of which is governed itself).

    Example:
        >>> check_delete_version(rule, 7, ["production"]).message()
        "version 7 is the target of protected alias 'production'; move or remove the alias first"
    """
    if rule is None:
        return Decision(allowed=True)
    located = {"rule_match": rule.match, "rule_index": rule.index}
    protected = sorted(a for a in set(aliases) if rule.protects_alias(a))
    if not protected:
        return Decision(allowed=True, **located)
    names = ", ".join(repr(a) for a in protected)
    noun = "alias" if len(protected) == 1 else "aliases"
    text = f"version {version} is the target of protected {noun} {names}; move or remove the {noun} first"
    return Decision(allowed=False, missing=(text,), **located)


def check_rename(
    policy: Policy, old_name: str, new_name: str, aliases: Iterable[str], stages: Iterable[str] = ()
) -> Decision:
    """Whether a model carrying ``aliases`` (and versions in ``stages``) may be renamed.

    A rename must neither take protected aliases or stages out from under their rule nor bring
    unapproved ones under a rule. It is allowed when neither name's rule protects what the model
    carries, or when both names fall under the same rule and that rule says ``on_rename: allow``.

    Example:
        >>> check_rename(policy, "fraud-model", "fraud-v2", ["production"]).allowed
        False
    """
    aliases, stages = set(aliases), set(stages)
    old_rule, new_rule = policy.rule_for(old_name), policy.rule_for(new_name)

    def protected(rule: Rule | None) -> list[str]:
        if rule is None:
            return []
        found = [f"alias {a!r}" for a in sorted(aliases) if rule.protects_alias(a)]
        return found + [f"stage {s!r}" for s in sorted(stages) if rule.protects_stage(s)]

    old_protected, new_protected = protected(old_rule), protected(new_rule)
    located = {"rule_match": old_rule.match, "rule_index": old_rule.index} if old_rule else {}
    same_rule = old_rule is not None and new_rule is not None and old_rule.index == new_rule.index
    missing = []
    if old_protected:
        if old_rule.on_rename == "deny":
            missing.append(
                f"renaming a model with protected {', '.join(old_protected)} is denied by "
                f"{old_rule.describe()}; it needs an admin override"
            )
        elif not same_rule:
            missing.append(
                f"renaming to {new_name!r} would take protected {', '.join(old_protected)} "
                f"out of {old_rule.describe()}"
            )
    if new_protected and not same_rule:
        missing.append(
            f"renaming to {new_name!r} would put {', '.join(new_protected)} under "
            f"{new_rule.describe()} without an approval"
        )
    return Decision(allowed=not missing, missing=tuple(missing), **located)


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
        items.extend(_approval_lines(_approval_requirement(rule, action)))
        require = rule.require
        if not rollback or rule.rollback.recheck_requirements:
            items.extend(f"tag {key}" for key in require.tags)
            if require.description:
                items.append("a description")
            items.extend(f"fairness check {check.describe()}" for check in require.fairness)
        if require.artifact_digest:
            items.append("artifacts unchanged since the approval (artifact digest)")
    return RequirementsSummary(kind, target, action, protected, rule, tuple(items))
