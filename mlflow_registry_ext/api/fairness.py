"""Fairness checks and security scans recorded on a model version."""

from typing import Any

from pydantic import Field

from mlflow_registry_ext.api.fields import Name, QueryBool, TextList, VersionText
from mlflow_registry_ext.api.operation import Answer, Body, Operation, Query
from mlflow_registry_ext.api.promotion import VersionBody

_MODEL = "Registered model name."


class FairnessCheck(Answer):
    id: str
    model: str
    version: str
    metric: str
    value: float
    check_name: str | None = None
    sensitive_feature: str | None = None
    sensitive_features: list[str] | None = None
    aggregate: str | None = None
    passed: bool | None = None
    by_group: list[dict[str, Any]] | None = None
    dataset_name: str | None = None
    chart_uri: str | None = None


class FairnessCheckList(Answer):
    checks: list[FairnessCheck]


class FairnessResult(Answer):
    checks: list[FairnessCheck]
    model: str | None = None
    version: str | None = None
    passed: bool | None = None
    chart_error: str | None = None


class ScanReport(Answer):
    id: str
    model: str
    version: str
    scanner: str
    status: str
    artifact_digest: str | None = None
    scanner_version: str | None = None
    highest_severity: str | None = None
    scanned: list[str] | None = None
    findings: list[dict[str, Any]] | None = None
    skipped: list[dict[str, Any]] | None = None
    errors: list[str] | None = None
    actor: str | None = None
    created_at_ms: int | None = None


class ScanList(Answer):
    scans: list[ScanReport]


class ChecksQuery(Query):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")
    latest: QueryBool | None = Field(None, description="Only the newest of each metric, feature and dataset.")


class CheckBody(Body):
    model: Name = Field(description=_MODEL)
    version: VersionText = Field(description="Model version.")
    columns: TextList(1000) = Field(description="Column names of data.")
    data: list[list[Any]] = Field(description="Rows of the evaluation data.", max_length=1_000_000)
    target: Name = Field(description="Column with the true labels.")
    prediction: Name = Field(description="Column with the predicted labels.")
    sensitive: TextList(20) = Field(description="Sensitive columns.")
    metrics: TextList(20) | None = Field(None, description="Metrics to measure.")
    thresholds: dict[str, Any] | None = Field(None, description="{metric: {max: v, min: v}} or {metric: max}.")
    dataset_name: Name | None = Field(None, description="Name recorded for the data.")
    check_name: Name | None = Field(None, description="Label shared by this run's records.")
    pos_label: Any = Field(None, description="The positive label of binary labels.")
    intersections: bool | None = Field(None, description="Also measure intersections of several columns.")
    log_charts: bool | None = Field(None, description="Log a per-group chart to the version's run.")


class ScansQuery(Query):
    model: Name = Field(description=_MODEL)
    version: VersionText | None = Field(None, description="Model version.")


OPERATIONS = (
    Operation("fairness_checks_list", "GET", "/fairness-checks", "Fairness checks recorded on a model version",
              "fairness-checks", "read", query=ChecksQuery, response=FairnessCheckList),
    Operation("fairness_checks_create", "POST", "/fairness-checks",
              "Measure fairness metrics on evaluation data and record them", "fairness-checks", "update",
              body=CheckBody, response=FairnessResult),
    Operation("fairness_checks_get", "GET", "/fairness-checks/<check_id>", "One recorded fairness check",
              "fairness-checks", "read", response=FairnessCheck),
    Operation("scans_list", "GET", "/scans", "Security scans recorded on a model (or one version), oldest first",
              "scans", "read", query=ScansQuery, response=ScanList),
    Operation("scans_create", "POST", "/scans", "Scan a model version's files now and record the report", "scans",
              "update", body=VersionBody, response=ScanReport),
)


