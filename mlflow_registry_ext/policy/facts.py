"""The facts a change is judged on, and the verdict. Plain frozen records; no I/O.

The approval store, the fairness records and the registry fill a :class:`PromotionFacts`;
:func:`mlflow_registry_ext.policy.evaluate` returns a :class:`Decision`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any, Mapping

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy.model import Rule

__all__ = [
    "TARGET_KINDS",
    "ACTIONS",
    "ApprovalFact",
    "FairnessFact",
    "MetricFact",
    "SecurityScanFact",
    "PromotionFacts",
    "IgnoredApproval",
    "Decision",
    "RequirementsSummary",
]

#: What a protected target can be.
TARGET_KINDS: tuple[str, ...] = ("alias", "stage")

#: What :func:`~mlflow_registry_ext.policy.evaluate` judges: putting a version under a target,
#: re-pointing an alias to its previous version, or deleting a protected alias.
ACTIONS: tuple[str, ...] = ("promote", "rollback", "delete_alias")


def to_ms(value: _dt.datetime | int | float | None) -> int | None:
    """Milliseconds since the epoch; a naive datetime is taken as UTC."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    return int(value)


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
class MetricFact:
    """One metric of the candidate, beside the value of the version under the target.

    Attributes:
        name: The MLflow metric key.
        value: The candidate's value (``None``: not finite).
        current: The value of the version the target holds now, matched by name and, where
            MLflow records it, dataset digest (``None``: no such version or no such metric).
        current_version: The version the target holds now, if any.
        dataset: The dataset name or digest the value was recorded on, if MLflow recorded one.
        incomparable: Why the current version's value of this metric cannot be compared (it was
            recorded on another dataset); ``None`` when it can, or when there is none.
    """

    name: str
    value: float | None
    current: float | None = None
    current_version: str | None = None
    dataset: str | None = None
    incomparable: str | None = None


@dataclasses.dataclass(frozen=True)
class SecurityScanFact:
    """The newest security scan of the version's artifacts.

    Attributes:
        status: ``clean``, ``findings`` or ``error`` (the scanner failed: never a pass).
        artifact_digest: The digest of the files that were scanned.
        highest_severity: The highest severity among the findings (``None`` when clean).
        worst_finding: The finding of that severity as one line, e.g.
            ``critical: Use of unsafe operator 'system' from module 'posix' in model.pkl``.
        error: Why the scan failed, for ``error``.
    """

    status: str
    artifact_digest: str | None = None
    highest_severity: str | None = None
    worst_finding: str | None = None
    error: str | None = None


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
        security_scan: The newest security scan of the version's current artifacts, if any.
        now: The time to judge expiry at (datetime or ms); defaults to the clock.
        action: One of :data:`ACTIONS`.
        metrics: The candidate's metrics beside those under the target (``require.metrics``).
        model_card: The filled model card fields, field to text (``require.model_card``).
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
    security_scan: SecurityScanFact | None = None
    now: _dt.datetime | int | float | None = None
    action: str = "promote"
    metrics: tuple[MetricFact, ...] = ()
    model_card: Mapping[str, str] = dataclasses.field(default_factory=dict)

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
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "model_card", dict(self.model_card or {}))
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
        >>> decision = Decision(allowed=False, missing=("needs 2 approvals from risk-reviewers, dave; has 1",
        ...     "missing tag training_dataset"))
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
        """``counted/required``, as a pending ``gov.<target>`` tag shows it."""
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
