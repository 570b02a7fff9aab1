"""Reading a version's MLflow records: the version, its run, its logged model, its metrics, the
version a target points to now. Each read that may fail returns the problem instead of raising,
so the dossier can name a part missing."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow.exceptions import MlflowException

from mlflow_registry_ext.dossier.comparison import MetricValue
from mlflow_registry_ext.dossier.lineage import model_id_of

__all__ = ["VersionRecords", "read_records", "version_metrics", "current_version"]


@dataclasses.dataclass
class VersionRecords:
    """A model version with its run and logged model (either may be ``None``, with the reason)."""

    mv: Any
    run: Any = None
    run_problem: str | None = None
    logged: Any = None
    logged_problem: str | None = None

    @property
    def metrics(self) -> list[MetricValue]:
        return version_metrics(self.run, self.logged)


def read_records(client: Any, registry: Any, model: str, version: str) -> VersionRecords:
    """Read ``model`` version ``version`` (MLflow's own error when it does not exist)."""
    mv = registry.get_model_version(model, str(version))
    records = VersionRecords(mv)
    model_id = model_id_of(mv)
    records.logged, records.logged_problem = _read(
        client.get_logged_model, "logged model", model_id,
        "the version was not registered from an MLflow 3 logged model",
    )
    run_id = mv.run_id or (records.logged.source_run_id if records.logged is not None else None)
    records.run, records.run_problem = _read(client.get_run, "run", run_id, "the version names no source run")
    return records


def _read(get, what: str, key: str | None, absent: str) -> tuple[Any, str | None]:
    """``(get(key), None)``, or ``(None, why not)``: ``absent`` without a key, MLflow's message
    when the read fails."""
    if not key:
        return None, absent
    try:
        return get(key), None
    except MlflowException as exc:
        return None, f"{what} {key} cannot be read: {exc.message}"


def version_metrics(run: Any | None, logged: Any | None) -> list[MetricValue]:
    """The newest value of each metric: the logged model's (with their datasets), then the run's
    metrics the logged model does not hold."""
    newest: dict[tuple[str, str | None], tuple[tuple, MetricValue]] = {}
    for m in (logged.metrics if logged is not None else None) or ():
        key = (m.key, m.dataset_digest)
        rank = (m.step or 0, m.timestamp or 0)
        if key not in newest or rank >= newest[key][0]:
            newest[key] = (rank, MetricValue(m.key, float(m.value), m.dataset_name, m.dataset_digest, m.step or 0))
    names = {name for name, _ in newest}
    values = [v for _, v in newest.values()]
    if run is not None:
        values += [MetricValue(k, float(v)) for k, v in run.data.metrics.items() if k not in names]
    return sorted(values, key=lambda m: (m.name, m.dataset_digest or ""))


def current_version(registry: Any, model: str, kind: str, target: str) -> str | None:
    """The version ``target`` (an alias or a stage) holds now, or ``None``."""
    try:
        if kind == "alias":
            return str(registry.get_model_version_by_alias(model, target).version)
        found = registry.get_latest_versions(model, [target])
        return str(found[0].version) if found else None
    except MlflowException as exc:
        if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            return None
        raise
