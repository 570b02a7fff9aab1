"""Fairness checks: fairlearn-backed measurement, immutable records bound to a model version, a
per-group chart, and the ``fairness`` MLflow evaluator.

Records (:class:`FairnessCheck`, :class:`FairnessStore`, :func:`fairness_facts`) need only the
base install; measuring (:func:`evaluate_fairness`, :func:`measure`, the charts) needs the
``fairness`` extra and is imported on first use.

Example:
    >>> from mlflow_registry_ext.fairness import evaluate_fairness
    >>> result = evaluate_fairness(db, "fraud-model", "1", data=frame, y_true="label",
    ...     y_pred="prediction", sensitive_features=["sex"],
    ...     thresholds={"demographic_parity_difference": {"max": 0.1}})
    >>> result.passed
    True
"""

from __future__ import annotations

import importlib
from typing import Any

from mlflow_registry_ext.fairness.facts import fairness_facts
from mlflow_registry_ext.fairness.records import (
    AGGREGATES,
    RECORDED_ACTION,
    FairnessCheck,
    FairnessStore,
    GroupValue,
    feature_key,
)
from mlflow_registry_ext.fairness.thresholds import Threshold, resolve_thresholds

__all__ = [
    "AGGREGATES",
    "RECORDED_ACTION",
    "FairnessCheck",
    "FairnessStore",
    "GroupValue",
    "feature_key",
    "fairness_facts",
    "Threshold",
    "resolve_thresholds",
    # need the fairness extra (loaded on first use)
    "DatasetInfo",
    "FairnessResult",
    "METRICS",
    "DEFAULT_METRICS",
    "Measurement",
    "measure",
    "evaluate_fairness",
    "load_table",
    "frame_digest",
    "render_chart",
]

_LAZY = {
    "DatasetInfo": "mlflow_registry_ext.fairness.data",
    "load_table": "mlflow_registry_ext.fairness.data",
    "frame_digest": "mlflow_registry_ext.fairness.data",
    "FairnessResult": "mlflow_registry_ext.fairness.service",
    "evaluate_fairness": "mlflow_registry_ext.fairness.service",
    "METRICS": "mlflow_registry_ext.fairness.metrics",
    "DEFAULT_METRICS": "mlflow_registry_ext.fairness.metrics",
    "Measurement": "mlflow_registry_ext.fairness.metrics",
    "measure": "mlflow_registry_ext.fairness.metrics",
    "render_chart": "mlflow_registry_ext.fairness.plots",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
