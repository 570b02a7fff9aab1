"""Run a fairness check on a model version and record it: the one library call behind the Python
client, the CLI and the REST API.

Steps: the version must exist; the inputs are checked and measured with fairlearn; each metric
and sensitive feature is judged against its threshold; a per-group chart of each is logged to the
version's run; then every record and its audit entry are written in one transaction. A problem
with the inputs raises before anything is written.

Example:
    >>> result = evaluate_fairness(db, "fraud-model", "1", data=frame, y_true="label", y_pred="prediction",
    ...     sensitive_features=["sex"], thresholds={"demographic_parity_difference": 0.1},
    ...     dataset="holdout-2026q1")
    >>> result.passed, [c.describe() for c in result.checks]
    (True, ['demographic_parity_difference on sex = 0.04 (max 0.1): passed'])
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
from mlflow.entities import LifecycleStage
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import InvalidInput, missing_as_not_found
from mlflow_registry_ext.fairness.data import DatasetInfo, frame_digest
from mlflow_registry_ext.fairness.metrics import DEFAULT_METRICS, Measurement, measure, sensitive_frame
from mlflow_registry_ext.fairness.plots import log_chart, render_chart
from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore
from mlflow_registry_ext.fairness.thresholds import Thresholds, resolve_thresholds
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.policy import Policy

__all__ = [
    "FairnessResult",
    "Inputs",
    "read_inputs",
    "build_checks",
    "attach_charts",
    "existing_version",
    "evaluate_fairness",
]

_log = logging.getLogger(__name__)
_TOOL = "fairlearn"


def _tool_version() -> str:
    import fairlearn

    return fairlearn.__version__


@dataclasses.dataclass(frozen=True)
class FairnessResult:
    """The records one check wrote.

    Attributes:
        model: Registered model name.
        version: Model version.
        checks: One record per metric and sensitive feature.
        chart_error: Why the charts could not be logged to the run (the records are kept
            without them), or ``None``.
    """

    model: str
    version: str
    checks: tuple[FairnessCheck, ...]
    chart_error: str | None = None

    @property
    def passed(self) -> bool | None:
        """False when any threshold was breached, True when all were met, None when none was set."""
        verdicts = [c.passed for c in self.checks if c.passed is not None]
        if not verdicts:
            return None
        return all(verdicts)

    @property
    def failed(self) -> list[FairnessCheck]:
        """The records whose value breached their threshold."""
        return [c for c in self.checks if c.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "passed": self.passed,
            "chart_error": self.chart_error,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Checked evaluation inputs: labels, sensitive columns, and the digest of the data."""

    y_true: Any
    y_pred: Any
    sensitive: pd.DataFrame
    target_name: str
    prediction_name: str
    digest: str


def _column(values: Any, data: pd.DataFrame | None, role: str) -> tuple[Any, str]:
    if isinstance(values, str):
        if data is None:
            raise InvalidInput(f"{role} {values!r} is a column name but no data was given")
        if values not in data.columns:
            raise InvalidInput(
                f"{role} column {values!r} is not in the data (columns: {', '.join(map(str, data.columns))})"
            )
        return data[values].to_numpy(), values
    if values is None:
        raise InvalidInput(f"No {role.lower()} given")
    name = getattr(values, "name", None)
    default = "y_true" if role == "Target" else "y_pred"
    return values, str(name) if isinstance(name, str) and name else default


def read_inputs(
    y_true: Any, y_pred: Any, sensitive_features: Any, data: pd.DataFrame | None = None
) -> Inputs:
    """Resolve column names against ``data`` and check the sensitive columns.

    ``y_true`` and ``y_pred`` are arrays (or Series) or, with ``data``, column names;
    ``sensitive_features`` is whatever :func:`~mlflow_registry_ext.fairness.metrics.
    sensitive_frame` accepts. The digest covers ``data`` when given, else the labels and the
    sensitive columns.

    Raises:
        InvalidInput: A missing column or misaligned rows.
    """
    if data is not None and not isinstance(data, pd.DataFrame):
        raise InvalidInput(f"data must be a pandas DataFrame, got {type(data).__name__}")
    truth, target_name = _column(y_true, data, "Target")
    predicted, prediction_name = _column(y_pred, data, "Prediction")
    n_rows = len(truth) if hasattr(truth, "__len__") else None
    sensitive = sensitive_frame(sensitive_features, data, n_rows=n_rows)
    if data is not None:
        digest = frame_digest(data)
    else:
        try:
            frame = pd.DataFrame({target_name: list(truth), prediction_name: list(predicted)})
        except ValueError as exc:
            raise InvalidInput(f"Targets and predictions differ in length: {exc}") from exc
        digest = frame_digest(pd.concat([frame, sensitive.add_prefix("sensitive:")], axis=1))
    return Inputs(truth, predicted, sensitive, target_name, prediction_name, digest)


def choose_metrics(metrics: Sequence[str] | None, thresholds: Thresholds) -> list[str]:
    """The metrics asked for; else those a threshold or the policy names; else the defaults."""
    if isinstance(metrics, str):
        return [metrics]
    if metrics:
        return list(dict.fromkeys(metrics))
    return thresholds.metrics or list(DEFAULT_METRICS)


def build_checks(
    measurements: Iterable[Measurement],
    thresholds: Thresholds,
    *,
    model: str,
    version: str,
    check_name: str,
    dataset: DatasetInfo,
    digest: str,
) -> list[FairnessCheck]:
    """One unrecorded :class:`FairnessCheck` per measurement, judged against its threshold."""
    checks = []
    for m in measurements:
        threshold = thresholds.lookup(m.metric, m.sensitive_feature)
        checks.append(
            FairnessCheck(
                model=model,
                version=str(version),
                check_name=check_name,
                metric=m.metric,
                sensitive_features=m.sensitive_features,
                aggregate=m.aggregate,
                value=m.value,
                overall=dict(m.overall),
                by_group=m.by_group,
                n_samples=m.n_samples,
                threshold_max=threshold.max if threshold else None,
                threshold_min=threshold.min if threshold else None,
                passed=None if threshold is None else threshold.breach(m.value) is None,
                dataset_name=dataset.name,
                dataset_digest=digest,
                dataset_source=dataset.source,
                tool=_TOOL,
                tool_version=_tool_version(),
            )
        )
    return checks


def attach_charts(client, run_id: str, checks: Iterable[FairnessCheck]) -> list[FairnessCheck]:
    """Render and log each check's chart to ``run_id``; the checks with ``chart_uri`` set."""
    return [
        dataclasses.replace(check, chart_uri=log_chart(client, run_id, check, render_chart(check)))
        for check in checks
    ]


def existing_version(client, model: str, version: str):
    """The registry's model version.

    Raises:
        NotFound: It does not exist.
    """
    with missing_as_not_found(f"Model version {model} {version} does not exist"):
        return client.get_model_version(model, version)


def _active_run_id(client, run_id: str | None) -> str | None:
    if not run_id:
        return None
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            _log.warning("Run %s of the model version does not exist; no chart is logged", run_id)
            return None
        raise
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        _log.warning("Run %s of the model version is deleted; no chart is logged", run_id)
        return None
    return run_id


def evaluate_fairness(
    db: GovernanceDatabase,
    model: str,
    version: str | int,
    y_true: Any = None,
    y_pred: Any = None,
    sensitive_features: Any = None,
    *,
    data: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    thresholds: Mapping[Any, Any] | None = None,
    policy: Policy | None = None,
    dataset: Any = None,
    check_name: str = "fairness",
    pos_label: Any = 1,
    intersections: bool = True,
    client=None,
    log_charts: bool = True,
    chart_run_id: str | None = None,
) -> FairnessResult:
    """Measure fairness metrics of a model version's predictions and record them.

    Args:
        db: The governance database the records go to.
        model: Registered model name.
        version: Model version.
        y_true: Target labels, or the target column's name in ``data``.
        y_pred: Predicted labels, or the prediction column's name in ``data``.
        sensitive_features: Column name(s) of ``data``, a DataFrame/Series aligned with the rows,
            a ``{name: values}`` dict, or one array.
        data: The evaluation data, when labels or sensitive features are given as column names.
        metrics: Metric names; default: those the thresholds or the policy name, else
            :data:`~mlflow_registry_ext.fairness.metrics.DEFAULT_METRICS`.
        thresholds: ``{metric: {"max": v, "min": v}}`` (a bare number is a max), or keyed by
            ``(metric, sensitive_feature)``; replaces the policy's threshold of that metric.
        policy: A loaded policy: the model's rule supplies thresholds (and default metrics).
        dataset: A name, a :class:`~mlflow_registry_ext.fairness.data.DatasetInfo`, or an MLflow
            ``Dataset`` (its name and source are recorded).
        check_name: A label shared by this call's records.
        pos_label: The positive label of binary targets and predictions.
        intersections: Also measure the intersection of several sensitive columns.
        client: An :class:`mlflow.MlflowClient` whose registry holds the version (and whose
            tracking store holds its run); default ``MlflowClient()``.
        log_charts: Log a per-group bar chart of each record to the run.
        chart_run_id: The run to log charts to; default the version's own run.

    Returns:
        The recorded checks; ``result.passed`` is False when any threshold was breached.

    Raises:
        NotFound: The model version does not exist.
        InvalidInput: Bad inputs (missing column, non-binary labels where needed, a group
            without samples, NaN predictions, unknown metric); nothing is recorded.
    """
    if client is None:
        from mlflow import MlflowClient

        client = MlflowClient()
    version = str(version)
    if not check_name or not str(check_name).strip():
        raise InvalidInput("check_name must not be empty")
    model_version = existing_version(client, model, version)
    rule = policy.rule_for(model) if policy is not None else None
    resolved = resolve_thresholds(thresholds, rule=rule)
    inputs = read_inputs(y_true, y_pred, sensitive_features, data)
    measurements = measure(
        inputs.y_true,
        inputs.y_pred,
        inputs.sensitive,
        choose_metrics(metrics, resolved),
        pos_label=pos_label,
        intersections=intersections,
        target_name=inputs.target_name,
        prediction_name=inputs.prediction_name,
    )
    checks = build_checks(
        measurements,
        resolved,
        model=model,
        version=version,
        check_name=str(check_name),
        dataset=DatasetInfo.coerce(dataset),
        digest=inputs.digest,
    )
    chart_error = None
    if log_charts:
        run_id = _active_run_id(client, chart_run_id or model_version.run_id)
        if run_id:
            try:
                checks = attach_charts(client, run_id, checks)
            except Exception as exc:  # noqa: BLE001 - any artifact store's failure (OS, boto3, HTTP)
                # The measurement stands without its picture: record it, and say why there is none.
                detail = exc.message if isinstance(exc, MlflowException) else f"{type(exc).__name__}: {exc}"
                chart_error = f"the charts were not logged to run {run_id}: {' '.join(str(detail).split())}"
                _log.warning("Fairness checks of %s %s recorded without charts: %s", model, version, chart_error)
    created = client.get_registered_model(model).creation_timestamp
    saved = FairnessStore(db).record(checks, model_created_ms={model: created})
    _refresh_status_tags(client, model, version)
    return FairnessResult(model=model, version=version, checks=tuple(saved), chart_error=chart_error)


def _refresh_status_tags(client, model: str, version: str) -> None:
    # A governed registry names a failed or missing check in the version's gov tags; keep them current.
    store = getattr(client._get_registry_client(), "store", None)
    status_tags = getattr(store, "status_tags", None)
    if status_tags is not None:
        status_tags.refresh(model, version)
