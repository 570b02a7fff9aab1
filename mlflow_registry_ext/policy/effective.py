"""The effective policy of one model: the rule that applies and what changing each of its
protected targets requires. The one library call behind ``GovernanceClient.effective_policy``, the
REST API's ``GET .../policy`` and the reviewer page.

Example:
    >>> effective = effective_policy(policy, "fraud-model")
    >>> effective.rule["match"], [r["target"] for r in effective.requirements][:1]
    ('fraud-*', ['production'])
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow_registry_ext.entities import known_fields
from mlflow_registry_ext.policy import Policy, requirements_summary

__all__ = ["EffectivePolicy", "effective_policy"]

_ALIAS_ACTIONS = ("promote", "rollback", "delete_alias")


@dataclasses.dataclass(frozen=True)
class EffectivePolicy:
    """The rule a model is under.

    Attributes:
        model: Registered model name.
        policy_source: Where the policy was read from (``None`` without a policy).
        policy_digest: SHA-256 of the policy file (``None`` without a policy).
        rule: The matching rule as a dict (``None``: no rule; nothing is protected).
        rule_name: How audit entries name the rule, e.g. ``models[0] (match 'fraud-*')``.
        reviewers: Who may approve (groups expanded), sorted; empty when anyone may.
        requirements: One item per protected target and action: ``target_kind``, ``target``,
            ``action``, ``protected``, ``rule`` and readable ``requirements`` lines.
    """

    model: str
    policy_source: str | None
    policy_digest: str | None
    rule: dict[str, Any] | None
    rule_name: str | None
    reviewers: tuple[str, ...]
    requirements: tuple[dict[str, Any], ...]

    @property
    def protected(self) -> bool:
        return any(item["protected"] for item in self.requirements)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["reviewers"] = list(self.reviewers)
        data["requirements"] = [dict(item) for item in self.requirements]
        data["protected"] = self.protected
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EffectivePolicy:
        values = known_fields(cls, data)
        values["reviewers"] = tuple(values.get("reviewers") or ())
        values["requirements"] = tuple(values.get("requirements") or ())
        return cls(**values)


def effective_policy(policy: Policy, model: str) -> EffectivePolicy:
    """The rule that applies to ``model`` under ``policy`` and what each protected target needs."""
    rule = policy.rule_for(model)
    items = []
    if rule is not None:
        targets = [("alias", a) for a in rule.protected_aliases] + [("stage", s) for s in rule.protected_stages]
        for kind, target in targets:
            actions = _ALIAS_ACTIONS if kind == "alias" else ("promote",)
            items.extend(requirements_summary(rule, target, kind=kind, action=a).to_dict() for a in actions)
    has_policy = bool(policy.digest)
    return EffectivePolicy(
        model=model,
        policy_source=policy.source if has_policy else None,
        policy_digest=policy.digest if has_policy else None,
        rule=rule.to_dict() if rule else None,
        rule_name=rule.describe() if rule else None,
        reviewers=tuple(sorted(rule.approvals.eligible)) if rule else (),
        requirements=tuple(items),
    )
