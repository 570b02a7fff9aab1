"""The ``fairness`` MLflow model evaluator (entry point ``mlflow.model_evaluator``).

::

    mlflow.models.evaluate(model_uri, data, targets="label", model_type="classifier",
        evaluators=["fairness"],
        evaluator_config={"sensitive_features": data[["sex", "race"]]})

``sensitive_features`` is either column names of the evaluation data's feature columns, or a
DataFrame (Series, dict) of sensitive columns aligned with the data's rows: MLflow hands an
evaluator only the feature columns, and sensitive attributes are usually not model features.

The evaluator logs each aggregate as a run metric ``fairness/<feature>/<metric>``, a per-group
bar chart per metric and feature under ``fairness/<check_name>/`` and the full results as
``fairness/<check_name>/results.json``. When the evaluated model is a registered model version
(``models:/name/version``, a logged model registered as a version, or ``model_name`` and
``model_version`` in the config) and the registry is governed (``governed+`` URI, or
``MLFLOW_GOVERNANCE_DATABASE_URI``), it also records the checks on that version.

Other configuration keys: ``metrics``, ``thresholds`` (``{metric: {"max": v, "min": v}}``),
``pos_label``, ``intersections`` (default true), ``check_name`` (default ``fairness``),
``dataset_name``, ``policy`` (a policy file; default ``MLFLOW_GOVERNANCE_POLICY``),
``model_name``, ``model_version``, ``model_uri``, ``registry_uri``, ``record`` (default true).

This module imports only MLflow at import time: MLflow loads every evaluator plugin on each
``evaluate()`` call.
"""

from __future__ import annotations

from typing import Any, Mapping

from mlflow.models.evaluation.base import EvaluationResult, ModelEvaluator

from mlflow_registry_ext.fairness.metric_names import metric_key

__all__ = ["FairnessEvaluator", "metric_key"]

_MODEL_TYPES = (None, "classifier")


def _given(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    shape = getattr(value, "shape", None)
    if shape is not None:
        return all(int(n) > 0 for n in shape)
    try:
        return len(value) > 0
    except TypeError:
        return False


class FairnessEvaluator(ModelEvaluator):
    """Measures fairness metrics of a classifier with fairlearn; see the module docstring."""

    name = "fairness"

    @classmethod
    def can_evaluate(cls, *, model_type=None, evaluator_config=None, **kwargs) -> bool:
        """True only when the config names sensitive features and the model is a classifier.

        MLflow asks every evaluator plugin on each ``evaluate()`` call that names none, with any
        configuration: this never raises.
        """
        try:
            if not isinstance(evaluator_config, Mapping):
                return False
            return model_type in _MODEL_TYPES and _given(evaluator_config.get("sensitive_features"))
        except Exception:  # noqa: BLE001 - a plugin must not break evaluate() for other evaluators
            return False

    def evaluate(
        self,
        *,
        model_type,
        dataset,
        run_id,
        evaluator_config,
        model=None,
        extra_metrics=None,
        custom_artifacts=None,
        predictions=None,
        **kwargs,
    ):
        from mlflow_registry_ext.fairness.evaluation import run_evaluation

        metrics, artifacts = run_evaluation(
            dataset=dataset,
            run_id=run_id,
            config=dict(evaluator_config or {}),
            model=model,
            predictions=predictions,
            # MLflow passes the LoggedModel id when it knows one; a loaded model carries its own.
            model_id=kwargs.get("model_id") or getattr(model, "model_id", None),
        )
        return EvaluationResult(metrics=metrics, artifacts=artifacts, run_id=run_id)

