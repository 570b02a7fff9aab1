"""What the ``fairness`` evaluator does inside ``mlflow.models.evaluate``: measure, log to the
evaluation run, and record on the registered model version when there is one.

Kept apart from :mod:`mlflow_registry_ext.fairness.evaluator`, which MLflow imports on every
``evaluate()`` call, so that fairlearn, pandas and matplotlib load only when the evaluator runs.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import uuid
from typing import Any, Mapping

import numpy as np
import pandas as pd
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.models.evaluation.artifacts import ImageEvaluationArtifact, JsonEvaluationArtifact

from mlflow_registry_ext.db.engine import GOVERNANCE_DB_ENV
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext.fairness.data import DatasetInfo, frame_digest
from mlflow_registry_ext.fairness.metric_names import metric_key
from mlflow_registry_ext.fairness.metrics import measure, sensitive_frame
from mlflow_registry_ext.fairness.plots import chart_artifact_path, log_chart, render_chart
from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore
from mlflow_registry_ext.fairness.service import build_checks, choose_metrics, existing_version
from mlflow_registry_ext.fairness.thresholds import resolve_thresholds
from mlflow_registry_ext.db.database import GOVERNED_PREFIX, GovernanceDatabase
from mlflow_registry_ext.policy import Policy, load_policy
from mlflow_registry_ext import settings
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["run_evaluation", "registered_versions"]

_log = logging.getLogger(__name__)
_MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))/?$")


def run_evaluation(
    *, dataset, run_id: str, config: Mapping[str, Any], model=None, predictions=None, model_id=None
) -> tuple[dict[str, float], dict[str, Any]]:
    """Measure, log metrics, charts and results to ``run_id``, record on registered versions.

    Returns:
        The run metrics and the evaluation artifacts, for MLflow's ``EvaluationResult``.

    Raises:
        InvalidInput: Bad configuration or data (nothing is logged or recorded).
        NotFound: The configured model version does not exist.
    """
    from mlflow import MlflowClient

    registry_uri = config.get("registry_uri")
    client = MlflowClient(registry_uri=registry_uri) if registry_uri else MlflowClient()
    check_name = _text(config.get("check_name", "fairness"), "check_name")
    record = bool(config.get("record", True))
    versions = registered_versions(client, config, model_id) if record else []

    policy = _policy(config)
    rule_model = versions[0][0] if versions else config.get("model_name")
    rule = policy.rule_for(rule_model) if policy is not None and rule_model else None
    thresholds = resolve_thresholds(config.get("thresholds"), rule=rule)

    y_true = dataset.labels_data
    if y_true is None:
        raise InvalidInput(
            "The fairness evaluator needs targets: pass targets=<column> to mlflow.models.evaluate"
        )
    y_pred = _predictions(model, dataset, predictions)
    features = _features(dataset)
    sensitive = _sensitive(config.get("sensitive_features"), features, len(y_true))
    target_name = dataset.targets_name or "targets"
    prediction_name = dataset.predictions_name or predictions or "predictions"
    measurements = measure(
        y_true,
        y_pred,
        sensitive,
        choose_metrics(_metric_list(config.get("metrics")), thresholds),
        pos_label=config.get("pos_label", 1),
        intersections=bool(config.get("intersections", True)),
        target_name=str(target_name),
        prediction_name=str(prediction_name),
    )
    digest = frame_digest(
        pd.concat(
            [
                features.reset_index(drop=True),
                pd.DataFrame({f"target:{target_name}": np.asarray(y_true).reshape(-1)}),
                pd.DataFrame({f"prediction:{prediction_name}": np.asarray(y_pred).reshape(-1)}),
                sensitive.add_prefix("sensitive:"),
            ],
            axis=1,
        )
    )
    info = DatasetInfo(
        name=config.get("dataset_name") or dataset.name, source=_run_dataset_source(client, run_id)
    )
    first_model, first_version = versions[0] if versions else ("", "")
    checks = build_checks(
        measurements,
        thresholds,
        model=first_model,
        version=first_version,
        check_name=check_name,
        dataset=info,
        digest=digest,
    )
    charts = {check.id: render_chart(check) for check in checks}
    checks = [
        dataclasses.replace(c, chart_uri=log_chart(client, run_id, c, charts[c.id])) for c in checks
    ]
    metrics = {metric_key(c.sensitive_feature, c.metric): c.value for c in checks}
    now = utc_now_ms()
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
    results_path = f"{chart_artifact_path(checks[0]).rsplit('/', 1)[0]}/results.json"
    client.log_dict(run_id, [c.to_dict() for c in checks], results_path)
    artifacts = _artifacts(client, run_id, checks, charts, results_path)

    if versions:
        _record(registry_uri, versions, checks)
    return metrics, artifacts


def _record(registry_uri: str | None, versions: list[tuple[str, str]], checks: list[FairnessCheck]) -> None:
    import mlflow

    uri = registry_uri or mlflow.get_registry_uri()
    if not (settings.DATABASE_URI.raw() or (uri or "").startswith(GOVERNED_PREFIX)):
        _log.warning(
            "Fairness checks of %s are not recorded: the registry %s is not governed (use a "
            "governed+ registry URI or set %s)",
            ", ".join(f"{n} {v}" for n, v in versions),
            uri,
            GOVERNANCE_DB_ENV,
        )
        return
    bound = [
        dataclasses.replace(check, model=name, version=version, id=uuid.uuid4().hex)
        for name, version in versions
        for check in checks
    ]
    registry = mlflow.MlflowClient(registry_uri=uri)
    created = {name: registry.get_registered_model(name).creation_timestamp for name in {n for n, _ in versions}}
    FairnessStore(GovernanceDatabase.for_registry_uri(uri)).record(bound, model_created_ms=created)


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"evaluator_config[{key!r}] must be a non-empty string, got {value!r}")
    return value


def _metric_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidInput(f"evaluator_config['metrics'] must be a list of metric names, got {value!r}")


def _policy(config: Mapping[str, Any]) -> Policy | None:
    path = config.get("policy") or settings.POLICY.raw()
    return load_policy(path) if path else None


def _predictions(model, dataset, column: str | None):
    if model is not None:
        output = model.predict(dataset.features_data)
    elif dataset.predictions_data is not None:
        output = dataset.predictions_data
    else:
        raise InvalidInput("The fairness evaluator needs a model or a predictions column")
    if isinstance(output, dict):
        output = pd.DataFrame(output)
    if isinstance(output, pd.DataFrame):
        if column and column in output.columns:
            return output[column].to_numpy()
        if output.shape[1] == 1:
            return output.iloc[:, 0].to_numpy()
        raise InvalidInput(
            f"The model returns {output.shape[1]} columns ({', '.join(map(str, output.columns))}); "
            "pass predictions=<column> to mlflow.models.evaluate"
        )
    return np.asarray(output)


def _features(dataset) -> pd.DataFrame:
    data = dataset.features_data
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame(np.asarray(data), columns=list(dataset.feature_names))


def _sensitive(spec: Any, features: pd.DataFrame, n_rows: int) -> pd.DataFrame:
    names = [spec] if isinstance(spec, str) else spec
    if isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names):
        missing = [n for n in names if n not in features.columns]
        if missing:
            raise InvalidInput(
                f"Sensitive feature column {missing[0]!r} is not among the evaluation data's feature "
                f"columns ({', '.join(map(str, features.columns))}): MLflow gives evaluators only "
                "the feature columns. Pass the sensitive columns as a DataFrame aligned with the "
                "data's rows, e.g. evaluator_config={'sensitive_features': data[['sex']]}"
            )
    return sensitive_frame(spec, features, n_rows=n_rows)


def _run_dataset_source(client, run_id: str) -> str | None:
    try:
        inputs = client.get_run(run_id).inputs
    except MlflowException:
        return None
    dataset_inputs = list(getattr(inputs, "dataset_inputs", None) or [])
    if not dataset_inputs:
        return None
    dataset = dataset_inputs[-1].dataset
    try:
        source = json.loads(dataset.source)
    except (TypeError, ValueError):
        source = dataset.source
    return json.dumps({"type": dataset.source_type, "source": source, "name": dataset.name}, sort_keys=True)


def _artifacts(
    client, run_id: str, checks: list[FairnessCheck], charts: Mapping[str, bytes], results_path: str
) -> dict[str, Any]:
    from PIL import Image

    root = client.get_run(run_id).info.artifact_uri.rstrip("/")
    artifacts: dict[str, Any] = {}
    for check in checks:
        if not check.chart_uri:
            continue
        path = chart_artifact_path(check)
        image = Image.open(io.BytesIO(charts[check.id]))
        image.load()
        name = f"fairness_{check.metric}_{check.sensitive_feature}"
        artifacts[name] = ImageEvaluationArtifact(uri=f"{root}/{path}", content=image)
    artifacts["fairness_results"] = JsonEvaluationArtifact(
        uri=f"{root}/{results_path}", content=[c.to_dict() for c in checks]
    )
    return artifacts


def registered_versions(client, config: Mapping[str, Any], model_id: str | None) -> list[tuple[str, str]]:
    """The registered versions the evaluated model is, as ``(name, version)`` pairs.

    From ``model_uri`` (``models:/name/version`` or ``models:/name@alias``), or ``model_name``
    and ``model_version`` in the config; else every version the evaluated logged model
    (``model_id``) was registered as, narrowed to ``model_name`` if given.

    Raises:
        InvalidInput: A malformed ``model_uri``, or a version without a model name.
        NotFound: The named version does not exist.
    """
    name = config.get("model_name")
    version = config.get("model_version")
    uri = config.get("model_uri")
    if uri:
        name, version = _parse_models_uri(client, str(uri))
    if version is not None and not name:
        raise InvalidInput("evaluator_config['model_version'] needs evaluator_config['model_name']")
    if name and version is not None:
        existing_version(client, str(name), str(version))
        return [(str(name), str(version))]
    linked = _linked_versions(client, model_id)
    if name:
        linked = [pair for pair in linked if pair[0] == name]
        if not linked:
            raise InvalidInput(
                f"The evaluated model is not registered as a version of {name!r}; "
                "name the version with evaluator_config['model_version']"
            )
    return linked


def _parse_models_uri(client, uri: str) -> tuple[str, str]:
    match = _MODELS_URI.match(uri)
    if not match:
        raise InvalidInput(
            f"evaluator_config['model_uri'] {uri!r} must be models:/<name>/<version> or models:/<name>@<alias>"
        )
    if match["alias"]:
        try:
            found = client.get_model_version_by_alias(match["name"], match["alias"])
        except MlflowException as exc:
            raise NotFound(f"Model {match['name']} has no alias {match['alias']!r}") from exc
        return match["name"], str(found.version)
    return match["name"], match["version"]


def _linked_versions(client, model_id: str | None) -> list[tuple[str, str]]:
    if not model_id:
        return []
    try:
        logged = client.get_logged_model(model_id)
    except MlflowException:
        return []
    try:
        links = json.loads(logged.tags.get(_MODEL_VERSIONS_TAG) or "[]")
    except ValueError:
        return []
    pairs = []
    for link in links:
        pair = (str(link.get("name")), str(link.get("version")))
        try:
            client.get_model_version(*pair)
        except MlflowException:
            _log.warning("Model version %s %s of logged model %s no longer exists", *pair, model_id)
            continue
        if pair not in pairs:
            pairs.append(pair)
    return pairs
