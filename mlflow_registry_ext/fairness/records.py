"""Fairness check records: the immutable entity, its table, and the store that writes and reads it.

A record is written once and never changed; a correction is a new record. Writing one chains a
``fairness_check.recorded`` audit entry in the same transaction (the webhook outbox rides on the
audit entry), so a record exists together with its audit entry or not at all.

Nothing here needs fairlearn, pandas or matplotlib: the promotion gate reads records on a base
install.

Example:
    >>> store = FairnessStore(db)
    >>> saved = store.record([FairnessCheck(model="fraud-model", version="1",
    ...     metric="demographic_parity_difference", sensitive_features=("sex",),
    ...     aggregate="difference", value=0.04, threshold_max=0.1, passed=True)])
    >>> [(c.metric, c.sensitive_feature, c.value, c.passed) for c in store.latest("fraud-model", "1")]
    [('demographic_parity_difference', 'sex', 0.04, True)]
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import BigInteger, Boolean, Column, Float, Integer, String, Table, Text, select
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.db.scope import in_workspace, workspace_column
from mlflow_registry_ext.errors import AlreadyExists, InvalidInput, NotFound
from mlflow_registry_ext.entities import values_of
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.db.incarnation import of_incarnation
from mlflow_registry_ext.events.payloads import FairnessCheckPayload
from mlflow_registry_ext.policy import FAIRNESS_METRICS
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "AGGREGATES",
    "RECORDED_ACTION",
    "INTERSECTION_SEPARATOR",
    "GroupValue",
    "FairnessCheck",
    "FairnessStore",
    "feature_key",
    "fairness_checks_table",
]

#: How per-group values are reduced to one number: the largest gap, or the smallest ratio.
AGGREGATES: tuple[str, ...] = ("difference", "ratio")

#: The audit action (and webhook event) of a recorded check.
RECORDED_ACTION = "fairness_check.recorded"

#: Joins the columns of an intersection into one sensitive feature name, e.g. ``race&sex``.
INTERSECTION_SEPARATOR = "&"


def feature_key(features: Sequence[str]) -> str:
    """The sensitive feature name a record and a policy use: ``sex``, or ``race&sex``.

    Example:
        >>> feature_key(["race", "sex"])
        'race&sex'
    """
    return INTERSECTION_SEPARATOR.join(features)


fairness_checks_table = Table(
    "gov_fairness_checks",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("model", String(256), nullable=False),
    Column("version", String(32), nullable=False),
    Column("check_name", String(256), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("sensitive_feature", String(512), nullable=False),
    Column("aggregate", String(16), nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("threshold_max", Float(precision=53)),
    Column("threshold_min", Float(precision=53)),
    Column("passed", Boolean),
    Column("dataset_name", String(256)),
    Column("dataset_digest", String(80)),
    Column("actor", String(256), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("body", Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
    workspace_column(),
    Column("model_created_ms", BigInteger),
)


@dataclasses.dataclass(frozen=True)
class GroupValue:
    """The values of one group (one value of each sensitive column).

    Attributes:
        group: The group's value of each sensitive column, as text, e.g. ``{"sex": "F"}``.
        count: Rows in the group.
        values: Per-group values of the base metrics behind the check, e.g.
            ``{"selection_rate": 0.31}``, or ``{"true_positive_rate": ..., "false_positive_rate":
            ...}`` for equalized odds.
    """

    group: Mapping[str, str]
    count: int
    values: Mapping[str, float]

    @property
    def label(self) -> str:
        """The group as a chart or table shows it, e.g. ``F`` or ``F, black``."""
        return ", ".join(self.group.values())

    def to_dict(self) -> dict[str, Any]:
        return {"group": dict(self.group), "count": self.count, "values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroupValue:
        return cls(
            group={str(k): str(v) for k, v in data["group"].items()},
            count=int(data["count"]),
            values={str(k): float(v) for k, v in data["values"].items()},
        )


@dataclasses.dataclass(frozen=True)
class FairnessCheck:
    """One fairness metric measured on one model version over one sensitive feature (or an
    intersection of several), with its threshold and verdict. Immutable once recorded.

    Attributes:
        id: Unique id (32 hex digits).
        model: Registered model name.
        version: Model version.
        check_name: A label shared by the records of one run of a check, e.g. ``holdout-2026``.
        metric: One of :data:`~mlflow_registry_ext.policy.FAIRNESS_METRICS`.
        sensitive_features: The sensitive columns; more than one for an intersection.
        aggregate: ``difference`` (largest gap between groups) or ``ratio`` (smallest ratio).
        value: The aggregate: what thresholds and the promotion gate judge.
        overall: The base metrics over all rows, e.g. ``{"selection_rate": 0.4}``.
        by_group: The base metrics of each group.
        n_samples: Rows the check was computed on.
        threshold_max: Highest acceptable value, if any.
        threshold_min: Lowest acceptable value, if any.
        passed: Whether ``value`` met the thresholds; ``None`` when none was set.
        dataset_name: Name of the evaluation data.
        dataset_digest: ``sha256:<hex>`` over the evaluation data's content.
        dataset_source: Where the data came from (an MLflow dataset source as JSON, or a path).
        tool: The library that computed it (``fairlearn``).
        tool_version: Its version.
        chart_uri: ``runs:/<run_id>/<path>`` of the per-group bar chart, if one was logged.
        actor: Who recorded it (filled in by the store).
        created_at_ms: When it was recorded (filled in by the store).

    Example:
        >>> check = FairnessCheck(model="fraud-model", version="1", metric="demographic_parity_difference",
        ...     sensitive_features=("sex",), aggregate="difference", value=0.12, threshold_max=0.1, passed=False)
        >>> check.sensitive_feature, check.value, check.direction, check.passed
        ('sex', 0.12, 'max', False)
    """

    model: str
    version: str
    metric: str
    sensitive_features: tuple[str, ...]
    aggregate: str
    value: float
    check_name: str = "fairness"
    overall: Mapping[str, float] = dataclasses.field(default_factory=dict)
    by_group: tuple[GroupValue, ...] = ()
    n_samples: int = 0
    threshold_max: float | None = None
    threshold_min: float | None = None
    passed: bool | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    dataset_source: str | None = None
    tool: str = "fairlearn"
    tool_version: str | None = None
    chart_uri: str | None = None
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    actor: str | None = None
    created_at_ms: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "version", str(self.version))
        object.__setattr__(self, "sensitive_features", tuple(self.sensitive_features))
        object.__setattr__(self, "by_group", tuple(self.by_group))

    @property
    def sensitive_feature(self) -> str:
        """The sensitive feature as a policy names it: ``sex``, or ``race&sex`` for an
        intersection."""
        return feature_key(self.sensitive_features)

    @property
    def direction(self) -> str | None:
        """``max``, ``min``, ``range`` (both) or ``None`` (no threshold)."""
        if self.threshold_max is not None and self.threshold_min is not None:
            return "range"
        if self.threshold_max is not None:
            return "max"
        if self.threshold_min is not None:
            return "min"
        return None

    @property
    def threshold_text(self) -> str:
        """E.g. ``max 0.1``, ``min 0.8``, ``min 0.8 max 1.25`` or ``-``."""
        parts = []
        if self.threshold_min is not None:
            parts.append(f"min {self.threshold_min:g}")
        if self.threshold_max is not None:
            parts.append(f"max {self.threshold_max:g}")
        return " ".join(parts) or "-"

    @property
    def verdict(self) -> str:
        """``passed``, ``failed`` or ``no threshold``."""
        if self.passed is None:
            return "no threshold"
        return "passed" if self.passed else "failed"

    def describe(self) -> str:
        """One line, e.g. ``demographic_parity_difference on sex = 0.12 (max 0.1): failed``."""
        return (
            f"{self.metric} on {self.sensitive_feature} = {self.value:.4g} "
            f"({self.threshold_text}): {self.verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sensitive_features"] = list(self.sensitive_features)
        data["by_group"] = [g.to_dict() for g in self.by_group]
        data["overall"] = dict(self.overall)
        data["sensitive_feature"] = self.sensitive_feature
        data["direction"] = self.direction
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessCheck:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["by_group"] = tuple(GroupValue.from_dict(g) for g in data.get("by_group", ()))
        values["sensitive_features"] = tuple(data["sensitive_features"])
        values["overall"] = dict(data.get("overall") or {})
        return cls(**values)


def _validate(check: FairnessCheck) -> None:
    if not check.model or not check.version:
        raise InvalidInput("A fairness check needs a model name and a version")
    if check.metric not in FAIRNESS_METRICS:
        raise InvalidInput(
            f"Unknown fairness metric {check.metric!r} (supported: {', '.join(sorted(FAIRNESS_METRICS))})"
        )
    if check.aggregate not in AGGREGATES:
        raise InvalidInput(f"aggregate must be one of {', '.join(AGGREGATES)}, got {check.aggregate!r}")
    if not check.sensitive_features or any(not f for f in check.sensitive_features):
        raise InvalidInput(f"Fairness check {check.metric} names no sensitive feature")
    if not isinstance(check.value, (int, float)) or not math.isfinite(check.value):
        raise InvalidInput(f"Fairness check {check.metric} on {check.sensitive_feature} has no finite value")


def _row(check: FairnessCheck) -> dict[str, Any]:
    body = json.dumps(check.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return {
        "id": check.id,
        "model": check.model,
        "version": check.version,
        "check_name": check.check_name,
        "metric": check.metric,
        "sensitive_feature": check.sensitive_feature,
        "aggregate": check.aggregate,
        "value": float(check.value),
        "threshold_max": check.threshold_max,
        "threshold_min": check.threshold_min,
        "passed": check.passed,
        "dataset_name": check.dataset_name,
        "dataset_digest": check.dataset_digest,
        "actor": check.actor,
        "created_at_ms": check.created_at_ms,
        "body": body,
    }


def _audit_draft(check: FairnessCheck) -> AuditDraft:
    measured = values_of(check, "metric", "sensitive_feature", "value", "threshold_max", "threshold_min",
                         "dataset_name", "dataset_digest")
    details = values_of(check, "check_name", "aggregate", "n_samples", "tool", "tool_version", "chart_uri")
    return AuditDraft(
        action=RECORDED_ACTION,
        model=check.model,
        version=check.version,
        after={"id": check.id, **measured, "passed": check.passed},
        details=details,
        payload=FairnessCheckPayload(
            check_id=check.id,
            name=check.model,
            version=None if check.version is None else str(check.version),
            passed=None if check.passed is None else bool(check.passed),
            details={**details, **measured},
        ),
    )


class FairnessStore:
    """Writes and reads fairness check records in the governance database.

    Example:
        >>> store = FairnessStore(db)
        >>> [saved] = store.record([FairnessCheck(model="fraud", version="3",
        ...     metric="demographic_parity_difference", sensitive_features=("sex",),
        ...     aggregate="difference", value=0.04, threshold_max=0.1, passed=True)])
        >>> saved.actor, store.get(saved.id) == saved
        ('alice', True)
    """

    def __init__(self, db: GovernanceDatabase):
        self.db = db

    def record(
        self, checks: Iterable[FairnessCheck], *, model_created_ms: Mapping[str, int | None] | None = None
    ) -> list[FairnessCheck]:
        """Write ``checks`` and one audit entry each, all in one transaction, in the caller's
        workspace.

        The store sets ``actor`` (the current identity) and ``created_at_ms``; whatever the
        caller put there is replaced. ``model_created_ms`` maps model names to the creation
        time of the registered model the checks were made for (its incarnation), so records of
        a deleted model never count for a new model of the same name.

        Raises:
            InvalidInput: A check lacks a model, version, known metric or finite value.
            AlreadyExists: A check with the same id was recorded before (records are immutable).
        """
        checks = list(checks)
        if not checks:
            return []
        actor = identity.current_actor()
        now = utc_now_ms()
        saved = [dataclasses.replace(c, actor=actor, created_at_ms=now) for c in checks]
        for check in saved:
            _validate(check)
        try:
            with self.db.transaction() as conn:
                incarnations = model_created_ms or {}
                conn.execute(
                    fairness_checks_table.insert(),
                    [{**_row(c), "model_created_ms": incarnations.get(c.model)} for c in saved],
                )
                audit_log.append(conn, [_audit_draft(c) for c in saved])
        except SqlIntegrityError as exc:
            raise AlreadyExists(
                f"A fairness check with one of the ids {', '.join(c.id for c in saved)} is already "
                "recorded; records are immutable, record a new one instead"
            ) from exc
        return saved

    def list(
        self, model: str, version: str | int | None = None, *, model_created_ms: int | None = None
    ) -> list[FairnessCheck]:
        """Every record of ``model`` (and ``version``, if given) in the caller's workspace,
        oldest first; with ``model_created_ms``, only those of that incarnation of the model."""
        t = fairness_checks_table
        stmt = select(t.c.body).where(
            in_workspace(t), t.c.model == model, of_incarnation(t, model_created_ms)
        )
        if version is not None:
            stmt = stmt.where(fairness_checks_table.c.version == str(version))
        stmt = stmt.order_by(fairness_checks_table.c.seq)
        with self.db.reading() as engine, engine.connect() as conn:
            return [FairnessCheck.from_dict(json.loads(body)) for (body,) in conn.execute(stmt)]

    def get(self, check_id: str) -> FairnessCheck:
        """The record with ``check_id``.

        Raises:
            NotFound: No such record.
        """
        stmt = select(fairness_checks_table.c.body).where(
            fairness_checks_table.c.id == check_id, in_workspace(fairness_checks_table)
        )
        with self.db.reading() as engine, engine.connect() as conn:
            body = conn.execute(stmt).scalar()
        if body is None:
            raise NotFound(f"No fairness check with id {check_id!r}")
        return FairnessCheck.from_dict(json.loads(body))

    def latest(
        self, model: str, version: str | int, *, model_created_ms: int | None = None
    ) -> list[FairnessCheck]:
        """The newest record of each (metric, sensitive feature, dataset) of a version.

        This is what the promotion gate reads (see :func:`~mlflow_registry_ext.fairness.facts.
        fairness_facts`): an older record of the same check on the same data is superseded.
        Ordered oldest first.
        """
        newest: dict[tuple, FairnessCheck] = {}
        for check in self.list(model, version, model_created_ms=model_created_ms):
            key = (check.metric, check.sensitive_feature, check.dataset_name, check.dataset_digest)
            newest.pop(key, None)
            newest[key] = check
        return list(newest.values())
