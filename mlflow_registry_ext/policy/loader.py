"""Read and validate a policy file; every problem is reported with its file and line.

The YAML is composed into nodes (which keep their line) and checked node by node, so a message
reads ``policy.yaml line 9: models[0].approvals.required must be a positive integer, got -1``.
All problems of a file are collected and reported together, in line order.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import hashlib
import os
import re
from typing import Any, Mapping

import yaml
from mlflow.entities.model_registry.model_version_stages import ALL_STAGES
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy.names import check_mlflow_alias
from mlflow_registry_ext.policy._nodes import MISSING, NodeReader, null_node
from mlflow_registry_ext.policy.model import (
    FAIRNESS_METRICS,
    ON_DELETE_ALIAS_CHOICES,
    ON_RENAME_CHOICES,
    AdminOverride,
    ApprovalRequirement,
    FairnessRequirement,
    METRIC_DIRECTIONS,
    MetricRequirement,
    Policy,
    Requirements,
    RollbackRule,
    Rule,
    SECURITY_SCAN_CHOICES,
)
from mlflow_registry_ext import settings

__all__ = ["POLICY_ENV_VAR", "load_policy", "parse_policy", "policy_from_env"]

#: The environment variable naming the policy file.
POLICY_ENV_VAR = settings.POLICY.name

_TOP_KEYS = ("version", "groups", "models", "admin_override", "allow_unauthenticated_reviews")
_RULE_KEYS = (
    "match",
    "protected_aliases",
    "protected_stages",
    "approvals",
    "require",
    "rollback",
    "on_delete_alias",
    "on_rename",
    "admin_override",
)
_APPROVAL_KEYS = ("required", "reviewers", "allow_self_approval", "expires_after")
_ROLLBACK_KEYS = _APPROVAL_KEYS + ("recheck_requirements", "allowed")
_REQUIRE_KEYS = ("tags", "description", "fairness", "artifact_digest", "metrics", "model_card",
                 "security_scan")
_METRIC_KEYS = ("min", "max", "max_regression", "direction")
# Model card fields are identifiers: they become ``model_card.<field>`` tag keys.
_CARD_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FAIRNESS_KEYS = ("metric", "sensitive_feature", "max", "min", "dataset")
_OVERRIDE_KEYS = ("allowed",)
_GROUP_NAME_RE = re.compile(r"^[\w.\-@]+$")
_CANONICAL_STAGES = {stage.lower(): stage for stage in ALL_STAGES}


def load_policy(path: str | os.PathLike) -> Policy:
    """Read and validate the policy file at ``path``.

    Raises:
        InvalidInput: The file does not exist or cannot be read.
        PolicyInvalid: The file is not a valid policy; the message names each line and problem.

    Example:
        >>> policy = load_policy("policy.yaml")
        >>> policy.rule_for("fraud-model").approvals.required
        2
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InvalidInput(f"Policy file not found: {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"Policy file is a directory: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read policy file {path}: {exc}") from None
    return parse_policy(text, source=path)


def policy_from_env(environ: Mapping[str, str] | None = None) -> Policy:
    """The policy named by ``MLFLOW_GOVERNANCE_POLICY``, or an empty policy when it is unset.

    Callers read it once and keep it: a changed file takes effect when the process restarts.

    Example:
        >>> policy_from_env({}).protects_anything
        False
    """
    path = settings.POLICY.get(environ) or ""
    return load_policy(path) if path else Policy()


def parse_policy(text: str, source: str = "<string>") -> Policy:
    """Validate policy YAML ``text``; ``source`` names it in messages.

    An empty document (or one holding only comments) is a policy that protects nothing.

    Raises:
        PolicyInvalid: The text is not a valid policy.

    Example:
        >>> parse_policy("version: 1\\nmodels:\\n  - match: 'fraud-*'\\n    protected_aliases: [production]\\n")
        Policy(version=1, ...)
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    reader = _Reader(text, source)
    try:
        root = reader.compose()
        policy = reader.policy(root, digest) if root is not None else None
    finally:
        reader.dispose()
    reader.raise_problems()
    return policy if policy is not None else Policy(source=source, digest=digest)


class _Reader(NodeReader):
    """Reads the policy's sections; everything it finds wrong is collected, then raised at once."""

    def __init__(self, text: str, source: str):
        super().__init__(text, source)
        self.groups: dict[str, tuple[str, ...]] = {}

    # -- sections ------------------------------------------------------------------------------

    def policy(self, root: yaml.Node, digest: str) -> Policy | None:
        top = self.mapping(root, "", _TOP_KEYS)
        if top is None:
            return None
        version_node = top.get("version")
        if version_node is None:
            self.problem(root, "version is required: start the file with 'version: 1'")
        else:
            self.scalar(version_node, "version", lambda v: type(v) is int and v == 1, "1")
        if "groups" in top:
            self.groups = self.read_groups(top["groups"])
        override = AdminOverride()
        if "admin_override" in top and not self.is_null(top["admin_override"]):
            override = self.read_override(top["admin_override"], "admin_override")
        unauthenticated = False
        node = top.get("allow_unauthenticated_reviews")
        if node is not None and not self.is_null(node):
            unauthenticated = bool(self.boolean(node, "allow_unauthenticated_reviews"))
        rules = []
        for item_path, item in self.items(top.get("models", null_node()), "models"):
            rule = self.read_rule(item, item_path, len(rules), override)
            if rule is not None:
                self.check_reachable(item, item_path, rule, rules)
                rules.append(rule)
        return Policy(
            version=1,
            groups=self.groups,
            rules=tuple(rules),
            admin_override=override,
            source=self.source,
            digest=digest,
            allow_unauthenticated_reviews=unauthenticated,
        )

    def read_groups(self, node: yaml.Node) -> dict[str, tuple[str, ...]]:
        if self.is_null(node):
            return {}
        entries = self.mapping(node, "groups", None)
        groups: dict[str, tuple[str, ...]] = {}
        for name, members_node in (entries or {}).items():
            if not _GROUP_NAME_RE.match(name):
                self.problem(
                    self.key_nodes[id(members_node)],
                    f"group name {name!r} may only contain letters, digits and _ . - @",
                )
                continue
            groups[name] = self.text_list(members_node, f"groups.{name}", self.no_nesting)
        return groups

    def no_nesting(self, item: yaml.Node, item_path: str, value: str) -> bool:
        if value.startswith("group:"):
            self.problem(item, f"{item_path} {value!r}: a group cannot contain groups; list its users")
            return False
        return True

    def read_people(self, node: yaml.Node, path: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
        """``users, groups, resolved users`` from a list of user names and ``group:<name>`` refs."""
        users: list[str] = []
        groups: list[str] = []

        def split(item: yaml.Node, item_path: str, value: str) -> bool:
            if value.startswith("group:"):
                name = value[len("group:"):]
                if name not in self.groups:
                    known = ", ".join(sorted(self.groups)) or "none are defined"
                    self.problem(item, f"{item_path} names unknown group {name!r} (groups: {known})")
                    return False
                groups.append(name)
            else:
                users.append(value)
            return True

        self.text_list(node, path, split)
        resolved = set(users)
        for name in groups:
            resolved.update(self.groups[name])
        return tuple(users), tuple(groups), frozenset(resolved)

    def read_approvals(
        self, node: yaml.Node, path: str, keys: tuple[str, ...], base: ApprovalRequirement,
        *, zero: bool = False,
    ) -> tuple[ApprovalRequirement, dict[str, yaml.Node]]:
        """The approvals of ``node`` over ``base``; ``zero``: ``required: 0`` is accepted (the
        caller decides what it means)."""
        entries = self.mapping(node, path, keys) if not self.is_null(node) else {}
        if entries is None:
            return base, {}
        fields: dict[str, Any] = {}
        if "required" in entries and not self.is_null(entries["required"]):
            if zero:
                fields["required"] = self.scalar(
                    entries["required"], f"{path}.required",
                    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                    "0 (with allowed) or a positive integer",
                )
            else:
                fields["required"] = self.positive_int(entries["required"], f"{path}.required")
        if "reviewers" in entries and not self.is_null(entries["reviewers"]):
            users, groups, eligible = self.read_people(entries["reviewers"], f"{path}.reviewers")
            fields.update(users=users, groups=groups, eligible=eligible)
        if "allow_self_approval" in entries and not self.is_null(entries["allow_self_approval"]):
            fields["allow_self_approval"] = self.boolean(
                entries["allow_self_approval"], f"{path}.allow_self_approval"
            )
        if "expires_after" in entries and not self.is_null(entries["expires_after"]):
            fields["expires_after"] = self.duration(entries["expires_after"], f"{path}.expires_after")
        fields = {k: v for k, v in fields.items() if v is not MISSING}
        requirement = ApprovalRequirement(**{**_as_fields(base), **fields})
        if entries and not requirement.anyone and requirement.required > len(requirement.eligible):
            where = entries.get("required") or entries.get("reviewers") or node
            who = ", ".join(sorted(requirement.eligible)) or "nobody"
            self.problem(
                where,
                f"{path}.required is {requirement.required} but only "
                f"{len(requirement.eligible)} reviewer(s) are eligible ({who})",
            )
        return requirement, entries

    def read_fairness(self, node: yaml.Node, path: str) -> FairnessRequirement | None:
        entries = self.mapping(node, path, _FAIRNESS_KEYS)
        if entries is None:
            return None
        ok = True
        for key in ("metric", "sensitive_feature"):
            if key not in entries:
                self.problem(node, f"{path}.{key} is required")
                ok = False
        metric = self.text(entries["metric"], f"{path}.metric") if "metric" in entries else MISSING
        if metric is not MISSING and metric not in FAIRNESS_METRICS:
            hint = difflib.get_close_matches(metric, sorted(FAIRNESS_METRICS), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            self.problem(
                entries["metric"],
                f"{path}.metric {metric!r} is not a supported fairness metric "
                f"(supported: {', '.join(sorted(FAIRNESS_METRICS))}){suggestion}",
            )
            ok = False
        feature = (
            self.text(entries["sensitive_feature"], f"{path}.sensitive_feature")
            if "sensitive_feature" in entries
            else MISSING
        )
        bounds = {
            key: self.number(entries[key], f"{path}.{key}")
            for key in ("max", "min")
            if key in entries and not self.is_null(entries[key])
        }
        if not bounds:
            self.problem(node, f"{path} needs a threshold: max, min or both")
            ok = False
        if bounds.get("min", MISSING) is not MISSING and bounds.get("max", MISSING) is not MISSING:
            if bounds["min"] > bounds["max"]:
                self.problem(entries["min"], f"{path}.min {bounds['min']:g} is above max {bounds['max']:g}")
                ok = False
        dataset = None
        if "dataset" in entries and not self.is_null(entries["dataset"]):
            dataset = self.text(entries["dataset"], f"{path}.dataset")
        values = [metric, feature, dataset, *bounds.values()]
        if not ok or any(v is MISSING for v in values):
            return None
        return FairnessRequirement(
            metric=metric,
            sensitive_feature=feature,
            max=bounds.get("max"),
            min=bounds.get("min"),
            dataset=dataset,
        )

    def read_metric(self, name: str, node: yaml.Node, path: str) -> MetricRequirement | None:
        entries = self.mapping(node, path, _METRIC_KEYS) if not self.is_null(node) else {}
        if entries is None:
            return None
        bounds = {
            key: self.number(entries[key], f"{path}.{key}")
            for key in ("min", "max", "max_regression")
            if key in entries and not self.is_null(entries[key])
        }
        if not bounds:
            self.problem(node, f"{path} needs a bound: min, max, max_regression or several")
            return None
        if any(v is MISSING for v in bounds.values()):
            return None
        if bounds.get("max_regression", 0) < 0:
            self.problem(entries["max_regression"], f"{path}.max_regression must not be negative")
            return None
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            self.problem(entries["min"], f"{path}.min {bounds['min']:g} is above max {bounds['max']:g}")
            return None
        direction = None
        if "direction" in entries and not self.is_null(entries["direction"]):
            direction = self.choice(entries["direction"], f"{path}.direction", METRIC_DIRECTIONS)
            if direction is MISSING:
                return None
        return MetricRequirement(name=name, direction=direction, **bounds)

    def read_metrics(self, node: yaml.Node, path: str) -> tuple[MetricRequirement, ...]:
        entries = self.mapping(node, path, None) if not self.is_null(node) else {}
        found = []
        for name, item in (entries or {}).items():
            if not name.strip() or name.strip() != name:
                self.problem(item, f"{path} key {name!r} is not a metric name")
                continue
            metric = self.read_metric(name, item, f"{path}.{name}")
            if metric is not None:
                found.append(metric)
        return tuple(found)

    def read_card_fields(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        def check(item, item_path, value):
            if not _CARD_FIELD.match(value):
                self.problem(item, f"{item_path} {value!r} is not a field name (lower case letters, digits, _)")
                return False
            return True

        return self.text_list(node, path, check)

    def read_require(self, node: yaml.Node, path: str) -> Requirements:
        entries = self.mapping(node, path, _REQUIRE_KEYS) if not self.is_null(node) else {}
        if not entries:
            return Requirements()
        fields: dict[str, Any] = {}
        if "tags" in entries:
            fields["tags"] = self.text_list(entries["tags"], f"{path}.tags")
        for key in ("description", "artifact_digest"):
            if key in entries and not self.is_null(entries[key]):
                fields[key] = self.boolean(entries[key], f"{path}.{key}")
        if "security_scan" in entries and not self.is_null(entries["security_scan"]):
            fields["security_scan"] = self.choice(
                entries["security_scan"], f"{path}.security_scan", SECURITY_SCAN_CHOICES
            )
        if "fairness" in entries:
            checks = []
            for item_path, item in self.items(entries["fairness"], f"{path}.fairness"):
                check = self.read_fairness(item, item_path)
                if check is None:
                    continue
                key = (check.metric, check.sensitive_feature, check.dataset)
                if any((c.metric, c.sensitive_feature, c.dataset) == key for c in checks):
                    self.problem(
                        item, f"{item_path} repeats {check.metric} on {check.sensitive_feature}"
                    )
                    continue
                checks.append(check)
            fields["fairness"] = tuple(checks)
        if "metrics" in entries:
            fields["metrics"] = self.read_metrics(entries["metrics"], f"{path}.metrics")
        if "model_card" in entries:
            fields["model_card"] = self.read_card_fields(entries["model_card"], f"{path}.model_card")
        return Requirements(**{k: v for k, v in fields.items() if v is not MISSING})

    def read_override(self, node: yaml.Node, path: str) -> AdminOverride:
        entries = self.mapping(node, path, _OVERRIDE_KEYS)
        if not entries or "allowed" not in entries:
            if entries is not None:
                self.problem(node, f"{path}.allowed is required: the users and groups who may override")
            return AdminOverride()
        users, groups, allowed = self.read_people(entries["allowed"], f"{path}.allowed")
        return AdminOverride(users=users, groups=groups, allowed=allowed)

    def read_rollback(self, node: yaml.Node, path: str, base: ApprovalRequirement) -> RollbackRule | None:
        """``rollback:``: its approvals, and with ``required: 0`` who may roll back alone."""
        before = len(self.problems)
        approvals, entries = self.read_approvals(node, path, _ROLLBACK_KEYS, base, zero=True)
        if len(self.problems) > before:
            return None  # a bad quorum: what `allowed` means depends on it
        recheck: Any = False
        if "recheck_requirements" in entries and not self.is_null(entries["recheck_requirements"]):
            recheck = self.boolean(entries["recheck_requirements"], f"{path}.recheck_requirements")
        users: tuple[str, ...] = ()
        groups: tuple[str, ...] = ()
        allowed: frozenset[str] = frozenset()
        allowed_node = entries.get("allowed")
        reported = len(self.problems)
        if allowed_node is not None and not self.is_null(allowed_node):
            users, groups, allowed = self.read_people(allowed_node, f"{path}.allowed")
        if approvals.required == 0:
            if len(self.problems) > reported:
                return None  # the list itself is wrong; that is the one problem to report
            if not allowed:
                self.problem(
                    entries["required"],
                    f"{path}.required is 0 but {path}.allowed names nobody: list the users or "
                    "groups who may roll back alone (e.g. allowed: [\"group:on-call\"]), or require "
                    "at least 1 approval",
                )
                return None
            # Everybody not in `allowed` still needs one approval, as by default.
            approvals = dataclasses.replace(approvals, required=1)
        elif allowed_node is not None and not self.is_null(allowed_node):
            self.problem(
                allowed_node,
                f"{path}.allowed names who may roll back alone, which only applies with "
                f"{path}.required: 0 (now {approvals.required})",
            )
            return None
        if recheck is MISSING:
            return None
        return RollbackRule(approvals, recheck_requirements=recheck, users=users, groups=groups,
                            allowed=allowed)

    def read_rule(self, node: yaml.Node, path: str, index: int, override: AdminOverride) -> Rule | None:
        entries = self.mapping(node, path, _RULE_KEYS)
        if entries is None:
            return None
        if "match" not in entries:
            self.problem(node, f"{path}.match is required: a glob on the registered model name")
            return None
        match = self.glob(entries["match"], f"{path}.match")
        aliases = self.text_list(
            entries.get("protected_aliases", null_node()), f"{path}.protected_aliases", self.check_alias
        )
        stages = tuple(
            _CANONICAL_STAGES[s.lower()]
            for s in self.text_list(
                entries.get("protected_stages", null_node()), f"{path}.protected_stages", self.check_stage
            )
        )
        approvals, _ = self.read_approvals(
            entries.get("approvals", null_node()), f"{path}.approvals", _APPROVAL_KEYS, ApprovalRequirement()
        )
        require = self.read_require(entries.get("require", null_node()), f"{path}.require")
        rollback_base = ApprovalRequirement(**{**_as_fields(approvals), "required": 1})
        rollback = self.read_rollback(entries.get("rollback", null_node()), f"{path}.rollback", rollback_base)
        fields: dict[str, Any] = {}
        if "on_delete_alias" in entries:
            fields["on_delete_alias"] = self.choice(
                entries["on_delete_alias"], f"{path}.on_delete_alias", ON_DELETE_ALIAS_CHOICES
            )
        if "on_rename" in entries:
            fields["on_rename"] = self.choice(entries["on_rename"], f"{path}.on_rename", ON_RENAME_CHOICES)
        if "admin_override" in entries and not self.is_null(entries["admin_override"]):
            override = self.read_override(entries["admin_override"], f"{path}.admin_override")
        if match is MISSING or rollback is None:
            return None
        return Rule(
            index=index,
            match=match,
            line=node.start_mark.line + 1,
            protected_aliases=aliases,
            protected_stages=stages,
            approvals=approvals,
            require=require,
            rollback=rollback,
            admin_override=override,
            **{k: v for k, v in fields.items() if v is not MISSING},
        )

    # -- single values -------------------------------------------------------------------------

    def glob(self, node: yaml.Node, path: str) -> Any:
        pattern = self.text(node, path)
        if pattern is MISSING:
            return pattern
        problem = _glob_problem(pattern)
        if problem:
            self.problem(node, f"{path} {pattern!r} is not a valid glob: {problem}")
            return MISSING
        return pattern

    def check_alias(self, node: yaml.Node, path: str, alias: str) -> bool:
        try:
            check_mlflow_alias(alias)
        except MlflowException as exc:
            shown = alias if len(alias) <= 40 else alias[:37] + "..."
            reason = str(exc.message).rstrip(".")
            self.problem(node, f"{path} {shown!r} is not an alias MLflow accepts: {reason}")
            return False
        return True

    def check_stage(self, node: yaml.Node, path: str, stage: str) -> bool:
        if stage.lower() not in _CANONICAL_STAGES:
            self.problem(node, f"{path} {stage!r} is not an MLflow stage (one of {', '.join(ALL_STAGES)})")
            return False
        return True

    def check_reachable(self, node: yaml.Node, path: str, rule: Rule, earlier: list[Rule]) -> None:
        for before in earlier:
            if before.match == "*" or before.match == rule.match:
                self.problem(
                    node,
                    f"{path} can never apply: {before.describe()} comes first and matches every "
                    f"name this rule matches (the first matching rule wins)",
                )
                return


def _glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable ``fnmatch`` glob, or ``None``."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            # fnmatch treats an unclosed '[' as a literal, which is almost never what was meant.
            j = i + 1
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close == -1:
                return "'[' is never closed"
            i = close
        i += 1
    try:
        re.compile(fnmatch.translate(pattern))
    except re.error as exc:
        return str(exc)
    return None


def _as_fields(requirement: ApprovalRequirement) -> dict[str, Any]:
    return {f: getattr(requirement, f) for f in requirement.__dataclass_fields__}
