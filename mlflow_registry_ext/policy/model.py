"""The policy as frozen records: what a loaded policy file says, with every default filled in.

Nothing here reads files or talks to a database; :mod:`mlflow_registry_ext.policy.loader` builds
these records from YAML and :mod:`mlflow_registry_ext.policy.evaluate` judges changes against them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import fnmatch
import math
import re
from typing import Any

from mlflow_registry_ext.errors import PermissionDenied
from mlflow_registry_ext.policy.names import lookalike_of

__all__ = [
    "FAIRNESS_METRICS",
    "SCAN_SEVERITIES",
    "SECURITY_SCAN_CHOICES",
    "ON_DELETE_ALIAS_CHOICES",
    "ON_RENAME_CHOICES",
    "ApprovalRequirement",
    "FairnessRequirement",
    "MetricRequirement",
    "METRIC_DIRECTIONS",
    "default_direction",
    "Requirements",
    "RollbackRule",
    "AdminOverride",
    "Rule",
    "Policy",
    "parse_duration",
    "format_duration",
    "threshold_breach",
]

#: Fairness metrics a rule may name under ``require.fairness``.
FAIRNESS_METRICS: frozenset[str] = frozenset(
    {
        "selection_rate",
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "accuracy",
        "precision",
        "recall",
        "false_positive_rate",
        "false_negative_rate",
    }
)

#: Severities of security scan findings, lowest first.
SCAN_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")

#: What ``require.security_scan`` takes: ``clean`` (no finding at all) or the highest severity
#: a finding may have and still pass.
SECURITY_SCAN_CHOICES: tuple[str, ...] = ("clean",) + SCAN_SEVERITIES

#: What deleting a protected alias needs: an approval, nothing, or an admin override.
ON_DELETE_ALIAS_CHOICES: tuple[str, ...] = ("approval", "allow", "deny")

#: Whether a model with protected aliases may be renamed (``allow`` keeps it under the same rule).
ON_RENAME_CHOICES: tuple[str, ...] = ("deny", "allow")

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> _dt.timedelta:
    """A duration written as a whole number and a unit: ``s``, ``m``, ``h``, ``d`` or ``w``.

    Raises:
        ValueError: The text is not such a duration, or it is zero.

    Example:
        >>> parse_duration("7d")
        datetime.timedelta(days=7)
    """
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a duration like 30m, 12h, 7d or 2w: {text!r}")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero: {text!r}")
    return _dt.timedelta(seconds=seconds)


def format_duration(value: _dt.timedelta | None) -> str | None:
    """The shortest policy spelling of a duration, the inverse of :func:`parse_duration`.

    Example:
        >>> from datetime import timedelta
        >>> format_duration(timedelta(hours=48)), format_duration(timedelta(weeks=1))
        ('2d', '7d')
    """
    if value is None:
        return None
    seconds = int(value.total_seconds())
    # Weeks are not chosen on the way out: "14d" reads more plainly than "2w".
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def bounds_text(*, min: float | None, max: float | None) -> list[str]:
    """``[">= 0.8", "<= 0.9"]``: each bound that is set, as a rule reads it."""
    return [f"{op} {bound:g}" for op, bound in ((">=", min), ("<=", max)) if bound is not None]


def threshold_breach(value: float | None, *, max: float | None, min: float | None) -> str | None:
    """Why ``value`` is outside ``[min, max]`` (either bound may be absent), or ``None``.

    A missing, NaN or infinite value never passes; a value equal to a bound does.

    Example:
        >>> threshold_breach(0.15, max=0.1, min=None)
        '0.15 > max 0.1'
    """
    if value is None or not math.isfinite(value):
        return f"no value ({value})"
    if max is not None and value > max:
        return f"{value:g} > max {max:g}"
    if min is not None and value < min:
        return f"{value:g} < min {min:g}"
    return None


def _names(users: tuple[str, ...], groups: tuple[str, ...]) -> list[str]:
    return [f"group:{g}" for g in groups] + list(users)


@dataclasses.dataclass(frozen=True)
class ApprovalRequirement:
    """Who must approve, and how many.

    Attributes:
        required: Distinct approvers needed (at least 1).
        users: Reviewers named directly.
        groups: Reviewer groups named as ``group:<name>``.
        eligible: ``users`` plus the members of ``groups``. Empty together with empty ``users``
            and ``groups`` means anyone may review (see :attr:`anyone`).
        allow_self_approval: Whether the requester's and the version creator's own approvals count.
        expires_after: Approvals older than this do not count; ``None`` keeps them forever.

    Example:
        >>> req = ApprovalRequirement(required=2, users=("dave",), groups=("risk",),
        ...     eligible=frozenset({"dave", "alice"}))
        >>> req.reviewers_text(), req.is_eligible("alice"), req.is_eligible("eve")
        ('risk, dave', True, False)
    """

    required: int = 1
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    eligible: frozenset[str] = frozenset()
    allow_self_approval: bool = False
    expires_after: _dt.timedelta | None = None

    @property
    def anyone(self) -> bool:
        """True when the policy names no reviewers, so any user other than the requester counts."""
        return not self.users and not self.groups

    def is_eligible(self, user: str | None) -> bool:
        """Whether ``user``'s approval may count (self-approval is judged separately)."""
        if not user:
            return False
        return self.anyone or user in self.eligible

    def reviewers_text(self) -> str:
        """The reviewers as a message names them, e.g. ``risk-reviewers, dave``."""
        if self.anyone:
            return "any reviewer"
        return ", ".join(list(self.groups) + list(self.users))

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "reviewers": _names(self.users, self.groups),
            "eligible_reviewers": sorted(self.eligible) if not self.anyone else None,
            "allow_self_approval": self.allow_self_approval,
            "expires_after": format_duration(self.expires_after),
        }


@dataclasses.dataclass(frozen=True)
class FairnessRequirement:
    """A fairness threshold a version must meet before promotion.

    Attributes:
        metric: One of :data:`FAIRNESS_METRICS`.
        sensitive_feature: The sensitive column the metric was computed over.
        max: The highest acceptable value, if any.
        min: The lowest acceptable value, if any.
        dataset: When set, the check must have been run on this dataset (name or digest).

    Example:
        >>> FairnessRequirement("demographic_parity_difference", "sex", max=0.1).breach(0.15)
        '0.15 > max 0.1'
    """

    metric: str
    sensitive_feature: str
    max: float | None = None
    min: float | None = None
    dataset: str | None = None

    def breach(self, value: float | None) -> str | None:
        """Why ``value`` fails this threshold, or ``None`` when it passes."""
        return threshold_breach(value, max=self.max, min=self.min)

    def describe(self) -> str:
        """E.g. ``demographic_parity_difference on sex <= 0.1 (dataset holdout)``."""
        bounds = bounds_text(min=self.min, max=self.max)
        text = f"{self.metric} on {self.sensitive_feature} {' and '.join(bounds)}"
        return f"{text} (dataset {self.dataset})" if self.dataset else text

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: How a metric's values compare: ``higher`` or ``lower`` is better.
METRIC_DIRECTIONS: tuple[str, ...] = ("higher", "lower")

# Names that read as a cost: lower is better. Everything else is taken as higher is better.
_LOWER_IS_BETTER = re.compile(
    r"(loss|error|err$|^err|mse|mae|mape|rmse|brier|latency|_time$|false_positive|false_negative|"
    r"fpr$|fnr$|perplexity|deviance|_difference$)"
)


def default_direction(name: str) -> str:
    """``lower`` for loss-like metric names (loss, error, mse, rmse, mae, ...), else ``higher``.

    Example:
        >>> default_direction("val_loss"), default_direction("auc")
        ('lower', 'higher')
    """
    return "lower" if _LOWER_IS_BETTER.search(name.lower()) else "higher"


@dataclasses.dataclass(frozen=True)
class MetricRequirement:
    """A bound on a metric the version's run or logged model recorded (``require.metrics``).

    Attributes:
        name: The MLflow metric key.
        min: The lowest acceptable value, if any.
        max: The highest acceptable value, if any.
        max_regression: How much worse than the version under the target it may be (by
            ``direction``); not checked when the target holds no version with this metric.
        direction: ``higher`` or ``lower`` is better; ``None`` takes the default by name
            (loss-like names lower, others higher).

    Example:
        >>> MetricRequirement("auc", min=0.8).describe()
        'metric auc >= 0.8'
    """

    name: str
    min: float | None = None
    max: float | None = None
    max_regression: float | None = None
    direction: str | None = None

    def describe(self) -> str:
        """E.g. ``metric auc >= 0.8, at most 0.01 worse than the version under the target``."""
        bounds = bounds_text(min=self.min, max=self.max)
        text = f"metric {self.name} {' and '.join(bounds)}".rstrip()
        if self.max_regression is not None:
            sep = ", " if bounds else " "
            text += f"{sep}at most {self.max_regression:g} worse than the version under the target"
            if self.direction:
                text += f" ({self.direction} is better)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Requirements:
    """What the version itself must carry before it may be promoted.

    Attributes:
        tags: Tag keys the version must have, with a non-blank value.
        description: Whether the version needs a non-blank description.
        fairness: Thresholds on recorded fairness checks.
        artifact_digest: Whether the version's artifacts must still match the approved digest.
        metrics: Bounds on the version's metrics, also against the version under the target.
        model_card: Model card fields that must be filled (version tags ``model_card.<field>`` or
            the front matter of a ``MODEL_CARD.md`` artifact).
        security_scan: ``None`` (no scan needed), ``clean``, or the highest severity a finding
            of the newest scan of the version's current artifacts may have.
    """

    tags: tuple[str, ...] = ()
    description: bool = False
    fairness: tuple[FairnessRequirement, ...] = ()
    artifact_digest: bool = False
    metrics: tuple[MetricRequirement, ...] = ()
    model_card: tuple[str, ...] = ()

    @property
    def bound_tags(self) -> tuple[str, ...]:
        """Tag keys an approval is bound to: the required tags, and the ``model_card.<field>``
        tags of the required card fields (editing the card after approval makes it stale)."""
        return tuple(dict.fromkeys([*self.tags, *(f"model_card.{f}" for f in self.model_card)]))
    security_scan: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tags": list(self.tags),
            "description": self.description,
            "fairness": [f.to_dict() for f in self.fairness],
            "artifact_digest": self.artifact_digest,
            "metrics": [m.to_dict() for m in self.metrics],
            "model_card": list(self.model_card),
            "security_scan": self.security_scan,
        }


@dataclasses.dataclass(frozen=True)
class RollbackRule:
    """What re-pointing a protected alias to the version it pointed to before needs.

    Attributes:
        approvals: The approvals a rollback needs (by default one, from the rule's reviewers).
            With ``required: 0`` in the file, this is what the users *not* in ``allowed`` need
            (one approval, from these reviewers).
        recheck_requirements: Whether tags, description and fairness are checked again
            (by default not: the version met them when it was first promoted). The artifact
            digest is always checked when the rule requires it.
        users: Users named directly under ``allowed`` (``required: 0``).
        groups: Groups named under ``allowed`` as ``group:<name>``.
        allowed: ``users`` plus the members of ``groups``: who may roll back alone, with a reason,
            to the version the alias held before (approved for it in this incarnation of the
            model, artifacts unchanged). Empty: nobody; every rollback needs ``approvals``.

    Example:
        >>> rule.rollback.alone, rule.rollback.allows_alone("olivia"), rule.rollback.allows_alone("eve")
        (True, True, False)
    """

    approvals: ApprovalRequirement
    recheck_requirements: bool = False
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allowed: frozenset[str] = frozenset()

    @property
    def alone(self) -> bool:
        """Whether anybody may roll back without an approval (``required: 0``)."""
        return bool(self.allowed)

    def allows_alone(self, user: str | None) -> bool:
        """Whether ``user`` may roll back without an approval."""
        return bool(user) and user in self.allowed

    def allowed_text(self) -> str:
        """``allowed`` as a message names it, e.g. ``on-call, alice``."""
        return ", ".join(list(self.groups) + list(self.users)) or "nobody"

    def to_dict(self) -> dict[str, Any]:
        return {
            "approvals": self.approvals.to_dict(),
            "recheck_requirements": self.recheck_requirements,
            "required": 0 if self.alone else self.approvals.required,
            "allowed": _names(self.users, self.groups),
            "allowed_users": sorted(self.allowed),
        }


@dataclasses.dataclass(frozen=True)
class AdminOverride:
    """Who may force a refused change through (always with a reason, always audited).

    Attributes:
        users: Users named directly.
        groups: Groups named as ``group:<name>``.
        allowed: ``users`` plus the members of ``groups``; empty means nobody.
    """

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allowed: frozenset[str] = frozenset()

    def allows(self, user: str | None) -> bool:
        """Whether ``user`` may override this rule."""
        return bool(user) and user in self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": _names(self.users, self.groups), "allowed_users": sorted(self.allowed)}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One ``models:`` entry: what is protected for matching models and what it takes.

    Attributes:
        index: Position in ``models:`` (0-based); the first matching rule applies.
        match: Glob on the registered model name (``fnmatch`` syntax, case-sensitive).
        line: Line of the entry in the policy file (0 when built in code).
        protected_aliases: Alias names that need an approval to be set.
        protected_stages: Canonical stage names (``Production``, ...) that need an approval.
        approvals: Approvals a promotion needs.
        require: What the version must carry.
        rollback: What a rollback needs.
        on_delete_alias: ``approval`` (the rule's approvals), ``allow`` or ``deny``.
        on_rename: ``deny``, or ``allow`` (only to a name under this same rule).
        admin_override: Who may force a refused change through.

    Example:
        >>> rule.protects_alias("production"), rule.protects_stage("production")
        (True, True)
    """

    index: int
    match: str
    line: int = 0
    protected_aliases: tuple[str, ...] = ()
    protected_stages: tuple[str, ...] = ()
    approvals: ApprovalRequirement = ApprovalRequirement()
    require: Requirements = Requirements()
    rollback: RollbackRule = RollbackRule(ApprovalRequirement())
    on_delete_alias: str = "approval"
    on_rename: str = "deny"
    admin_override: AdminOverride = AdminOverride()

    def matches(self, model_name: str) -> bool:
        """Whether this rule's glob matches ``model_name``."""
        return fnmatch.fnmatchcase(model_name, self.match)

    def protects_alias(self, alias: str) -> bool:
        """Whether setting ``alias`` needs an approval (exact, case-sensitive like MLflow)."""
        return alias in self.protected_aliases

    def protects_stage(self, stage: str) -> bool:
        """Whether transitioning to ``stage`` needs an approval (case-insensitive like MLflow)."""
        return bool(stage) and stage.lower() in {s.lower() for s in self.protected_stages}

    def lookalike_alias(self, alias: str) -> str | None:
        """The protected alias that ``alias`` imitates (same letters after folding), or ``None``.

        Example:
            >>> rule.lookalike_alias("Production"), rule.lookalike_alias("production")
            ('production', None)
        """
        return lookalike_of(alias, self.protected_aliases)

    def lookalike_stage(self, stage: str) -> str | None:
        """The protected stage that ``stage`` imitates without being it (any case), or ``None``."""
        if not stage or self.protects_stage(stage):
            return None
        return lookalike_of(stage, self.protected_stages)

    def protects(self, target_kind: str, target: str) -> bool:
        """:meth:`protects_alias` or :meth:`protects_stage` by ``target_kind``."""
        if target_kind == "alias":
            return self.protects_alias(target)
        if target_kind == "stage":
            return self.protects_stage(target)
        raise ValueError(f"target_kind must be 'alias' or 'stage', got {target_kind!r}")

    @property
    def protects_anything(self) -> bool:
        return bool(self.protected_aliases or self.protected_stages)

    def describe(self) -> str:
        """E.g. ``models[0] (match 'fraud-*')``: how audit entries and messages name the rule."""
        return f"models[{self.index}] (match {self.match!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "match": self.match,
            "line": self.line,
            "protected_aliases": list(self.protected_aliases),
            "protected_stages": list(self.protected_stages),
            "approvals": self.approvals.to_dict(),
            "require": self.require.to_dict(),
            "rollback": self.rollback.to_dict(),
            "on_delete_alias": self.on_delete_alias,
            "on_rename": self.on_rename,
            "admin_override": self.admin_override.to_dict(),
        }


@dataclasses.dataclass(frozen=True)
class Policy:
    """A whole policy file.

    Attributes:
        version: The schema version (always 1).
        groups: Reviewer groups: name to members.
        rules: The ``models:`` entries, in file order.
        admin_override: The file-wide override list (a rule may replace it with its own).
        source: Where the policy came from (a path, or ``<string>``).
        digest: SHA-256 of the file's text, so an audit entry can name the exact policy.
        allow_unauthenticated_reviews: Accept approve, reject and override from an actor that
            no server login established (``MLFLOW_TRACKING_USERNAME``, the OS user): for
            single-user set-ups only. Default ``False``.

    Example:
        >>> from mlflow_registry_ext.policy import parse_policy
        >>> policy = parse_policy("version: 1\\nmodels: [{match: 'fraud-*', protected_aliases: [production]}]")
        >>> policy.rule_for("fraud-model").protects_alias("production"), policy.rule_for("other")
        (True, None)
    """

    version: int = 1
    groups: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    admin_override: AdminOverride = AdminOverride()
    source: str = "<empty>"
    digest: str = ""
    allow_unauthenticated_reviews: bool = False

    def require_review_identity(self, who, what: str) -> None:
        """Refuse ``what`` (``approve``, ``reject``, ``override``) unless a server login or a
        trusted proxy established ``who`` (a :class:`~mlflow_registry_ext.identity.RequestIdentity`),
        or this policy opts out.

        Raises:
            PermissionDenied: ``who`` was named by the environment or the OS.
        """
        if self.allow_unauthenticated_reviews or who.is_authenticated:
            return
        how = "MLFLOW_TRACKING_USERNAME" if who.source == "environment" else "the OS user"
        raise PermissionDenied(
            f"Cannot {what} as {who.actor!r}: the actor comes from {how}, which anyone can set; "
            "reviews need an authenticated user: use the governance server (basic auth or the proxy "
            "mode), or set 'allow_unauthenticated_reviews: true' in the policy for a single-user set-up"
        )

    def rule_for(self, model_name: str) -> Rule | None:
        """The first rule whose glob matches ``model_name``, or ``None``."""
        for rule in self.rules:
            if rule.matches(model_name):
                return rule
        return None

    @property
    def protects_anything(self) -> bool:
        """False for an empty policy, or one whose rules protect no alias and no stage."""
        return any(rule.protects_anything for rule in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "digest": self.digest,
            "groups": {name: list(members) for name, members in self.groups.items()},
            "admin_override": self.admin_override.to_dict(),
            "allow_unauthenticated_reviews": self.allow_unauthenticated_reviews,
            "models": [rule.to_dict() for rule in self.rules],
        }
