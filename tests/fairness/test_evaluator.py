"""The ``fairness`` evaluator through mlflow.models.evaluate, on a small scikit-learn model."""

from __future__ import annotations

import uuid

import mlflow
import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.fairness import FairnessStore
from mlflow_registry_ext.fairness.evaluator import FairnessEvaluator, metric_key
from mlflow_registry_ext.mlflow_uris import using_uris
from tests.fairness.conftest import biased_frame


@pytest.fixture
def tracking(mlflow_store):
    """MLflow's fluent API pointed at the test store, with a governed registry."""
    with using_uris(mlflow_store.uri, f"governed+{mlflow_store.uri}"):
        mlflow.set_experiment(experiment_id=mlflow_store.experiment_id)
        yield mlflow_store
        while mlflow.active_run():
            mlflow.end_run()


def _data(n=240, seed=3):
    frame = biased_frame(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    # The score leaks sex, so a model that never sees sex is still biased.
    frame["score"] = frame["label"] * 0.8 + (frame["sex"] == "M") * 0.6 + rng.normal(0, 0.4, n)
    return frame


def _registered_model(frame):
    name = f"credit-{uuid.uuid4().hex[:8]}"
    model = LogisticRegression().fit(frame[["age", "score"]], frame["label"])
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name, pip_requirements=["scikit-learn"]
        )
    return name, model


def test_evaluate_logs_metrics_and_charts_and_records_on_the_registered_version(tracking, frame):
    frame = _data()
    name, model = _registered_model(frame)
    predictions = model.predict(frame[["age", "score"]])
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            f"models:/{name}/1",
            frame[["age", "score", "label"]],
            targets="label",
            model_type="classifier",
            # MLflow wants a list of evaluators to come with a config per evaluator name.
            evaluators=["fairness"],
            evaluator_config={
                "fairness": {
                    "sensitive_features": frame[["sex", "race"]],
                    "metrics": ["demographic_parity_difference", "equalized_odds_difference"],
                    "thresholds": {"demographic_parity_difference": {"max": 0.1}},
                    "check_name": "eval",
                    "dataset_name": "holdout",
                }
            },
        )
    key = metric_key("sex", "demographic_parity_difference")
    expected = flm.demographic_parity_difference(frame["label"], predictions, sensitive_features=frame["sex"])
    assert result.metrics[key] == pytest.approx(expected, rel=1e-12)
    assert metric_key("race&sex", "equalized_odds_difference") == "fairness/race_and_sex/equalized_odds_difference"
    assert set(result.metrics) == {
        metric_key(f, m)
        for f in ("sex", "race", "race&sex")
        for m in ("demographic_parity_difference", "equalized_odds_difference")
    }
    client = MlflowClient()
    logged = client.get_run(run.info.run_id).data.metrics
    assert logged[key] == pytest.approx(expected, rel=1e-12)
    files = {a.path for a in client.list_artifacts(run.info.run_id, "fairness/eval")}
    assert "fairness/eval/results.json" in files and len(files) == 7
    assert "fairness_results" in result.artifacts

    records = FairnessStore(_db(tracking)).list(name, "1")
    assert len(records) == 6
    dpd = records[0]
    assert (dpd.metric, dpd.sensitive_feature, dpd.dataset_name) == ("demographic_parity_difference", "sex", "holdout")
    assert dpd.value == pytest.approx(expected, rel=1e-12)
    assert expected > 0.1 and dpd.passed is False and dpd.threshold_max == 0.1
    assert dpd.chart_uri.startswith(f"runs:/{run.info.run_id}/fairness/eval/")
    assert '"type"' in dpd.dataset_source


def _db(store):
    from mlflow_registry_ext.db.database import GovernanceDatabase

    return GovernanceDatabase(store.uri)


def test_a_function_model_with_sensitive_columns_in_the_data_is_not_recorded(tracking):
    frame = _data(n=120, seed=4)
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            lambda df: (df["score"] > 0.7).astype(int),
            frame[["age", "score", "sex", "label"]],
            targets="label",
            model_type="classifier",
            evaluators="fairness",
            evaluator_config={"sensitive_features": ["sex"], "metrics": ["selection_rate"]},
        )
    expected = flm.selection_rate_difference(
        frame["label"], (frame["score"] > 0.7).astype(int), sensitive_features=frame["sex"]
    )
    assert result.metrics == {"fairness/sex/selection_rate": pytest.approx(expected)}
    assert MlflowClient().list_artifacts(run.info.run_id, "fairness/fairness")


def test_sensitive_column_names_outside_the_feature_columns_get_a_clear_error(tracking):
    frame = _data(n=120, seed=5)
    with pytest.raises(InvalidInput) as excinfo, mlflow.start_run():
        mlflow.models.evaluate(
            lambda df: (df["score"] > 0.7).astype(int),
            frame[["age", "score", "sex", "label"]],
            targets="label",
            feature_names=["age", "score"],
            model_type="classifier",
            evaluators="fairness",
            evaluator_config={"sensitive_features": ["sex"]},
        )
    message = excinfo.value.message
    assert "'sex' is not among the evaluation data's feature columns (age, score)" in message
    assert "DataFrame aligned with the data's rows" in message


def test_the_evaluator_is_discovered_and_says_no_without_its_configuration(tmp_path):
    from mlflow.models.evaluation.base import resolve_evaluators_and_configs

    # MLflow opens its tracking store while resolving evaluators: one of this test's own, not an
    # mlflow.db in the working directory.
    with using_uris(f"sqlite:///{tmp_path / 'tracking.db'}", None):
        assert "fairness" in mlflow.models.list_evaluators()
        chosen = [e.name for e in resolve_evaluators_and_configs(None, {"col_mapping": {}}, "classifier")]
        assert "fairness" not in chosen
        chosen = [e.name for e in resolve_evaluators_and_configs(None, {"sensitive_features": ["sex"]}, "classifier")]
        assert "fairness" in chosen


class _Hostile:
    def __len__(self):
        raise RuntimeError("boom")

    def get(self, key):
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "model_type, config",
    [
        ("classifier", None),
        ("classifier", {}),
        ("classifier", "sensitive_features"),
        ("classifier", {"sensitive_features": None}),
        ("classifier", {"sensitive_features": []}),
        ("classifier", {"sensitive_features": ""}),
        ("classifier", {"sensitive_features": pd.DataFrame()}),
        ("classifier", {"sensitive_features": _Hostile()}),
        ("classifier", _Hostile()),
        ("regressor", {"sensitive_features": ["sex"]}),
        ("question-answering", {"sensitive_features": ["sex"]}),
    ],
)
def test_can_evaluate_never_raises(model_type, config):
    assert FairnessEvaluator.can_evaluate(model_type=model_type, evaluator_config=config) is False
    assert FairnessEvaluator().can_evaluate(model_type=model_type, evaluator_config=config, extra=1) is False


def test_can_evaluate_with_configuration():
    for config in ({"sensitive_features": ["sex"]}, {"sensitive_features": "sex"},
                   {"sensitive_features": pd.DataFrame({"sex": ["F", "M"]})}):
        assert FairnessEvaluator.can_evaluate(model_type="classifier", evaluator_config=config)
        assert FairnessEvaluator.can_evaluate(model_type=None, evaluator_config=config)


def test_the_config_names_the_version_by_number_or_alias(tracking, version):
    frame = _data(n=120, seed=6)
    version.client.set_registered_model_alias(version.name, "candidate", version.version)

    def evaluate(**config):
        with mlflow.start_run():
            mlflow.models.evaluate(
                lambda df: (df["score"] > 0.7).astype(int),
                frame[["age", "score", "label"]],
                targets="label",
                model_type="classifier",
                evaluators="fairness",
                evaluator_config={"sensitive_features": frame["sex"], "metrics": ["accuracy"], **config},
            )

    evaluate(model_name=version.name, model_version=version.version)
    evaluate(model_uri=f"models:/{version.name}@candidate")
    evaluate(model_name=version.name, model_version=version.version, record=False)
    records = FairnessStore(_db(tracking)).list(version.name, version.version)
    assert [(r.metric, r.sensitive_feature) for r in records] == [("accuracy", "sex")] * 2
    from mlflow_registry_ext.errors import NotFound

    with pytest.raises(NotFound):
        evaluate(model_name=version.name, model_version="42")
    with pytest.raises(InvalidInput, match="needs evaluator_config\\['model_name'\\]"):
        evaluate(model_version="1")
    assert len(FairnessStore(_db(tracking)).list(version.name)) == 2
