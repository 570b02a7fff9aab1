"""The facts ``require.metrics`` and ``require.model_card`` are judged on, read from MLflow: the
candidate's metrics beside those of the version under the target, and its filled card fields.

Read only when the rule asks for them, so rules without these requirements cost nothing.
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.dossier.comparison import compare
from mlflow_registry_ext.dossier.model_card import card_fields
from mlflow_registry_ext.dossier.model_files import CARD_FILE, read_model_files
from mlflow_registry_ext.dossier.sources import current_version, read_records
from mlflow_registry_ext.policy import MetricFact, Rule

__all__ = ["metric_facts", "card_facts", "tracking_client"]


def tracking_client():
    """An ``MlflowClient`` on the tracking store this process uses (runs and logged models)."""
    import mlflow
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=mlflow.get_tracking_uri())


def metric_facts(rule: Rule, inner: Any, model: str, version: str, kind: str, target: str) -> tuple[MetricFact, ...]:
    """The candidate's metrics, each with the value of the version ``target`` holds now."""
    if not rule.require.metrics:
        return ()
    client = tracking_client()
    candidate = read_records(client, inner, model, version).metrics
    held = current_version(inner, model, kind, target)
    current = read_records(client, inner, model, held).metrics if held and held != version else None
    directions = {m.name: m.direction for m in rule.require.metrics if m.direction}
    held_names = {m.name: m for m in current or ()}

    def incomparable(row) -> str | None:
        old = held_names.get(row["metric"])
        if old is None or row["current_value"] is not None:
            return None
        return (f"version {held} recorded it on dataset {old.dataset_name} (digest {old.dataset_digest}), "
                f"this version on {row['dataset_name']} (digest {row['dataset_digest']})")

    return tuple(
        MetricFact(
            name=row["metric"], value=row["value"], current=row["current_value"],
            current_version=held if row["current_value"] is not None else None,
            dataset=row["dataset_name"] or row["dataset_digest"], incomparable=incomparable(row),
        )
        for row in compare(candidate, current, directions)
    )


def card_facts(rule: Rule, inner: Any, model: str, version: str, tags: dict[str, str]) -> dict[str, str]:
    """The version's filled model card fields (tags ``model_card.*`` over ``MODEL_CARD.md``)."""
    if not rule.require.model_card:
        return {}
    files = read_model_files(inner.get_model_version_download_uri(model, version))
    fields, _, _ = card_fields(tags, files.texts.get(CARD_FILE))
    return {name: field["value"] for name, field in fields.items()}
