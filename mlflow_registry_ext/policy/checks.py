"""Governed changes besides promotion: admin overrides, deleting versions, renaming models. Pure."""

from __future__ import annotations

from typing import Iterable

from mlflow_registry_ext.errors import InvalidInput, PermissionDenied
from mlflow_registry_ext.policy.facts import Decision
from mlflow_registry_ext.policy.model import Policy, Rule

__all__ = ["authorize_override", "check_delete_version", "check_rename"]


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
