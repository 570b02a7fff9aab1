"""Measurement: values equal fairlearn's own functions on the same data; bad input is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.fairness.metrics import METRICS, measure, sensitive_frame
from mlflow_registry_ext.policy import FAIRNESS_METRICS
from tests.fairness.conftest import biased_frame

# fairlearn called directly: the reference every measured value must equal.
REFERENCE = {
    "selection_rate": flm.selection_rate_difference,
    "demographic_parity_difference": flm.demographic_parity_difference,
    "demographic_parity_ratio": flm.demographic_parity_ratio,
    "equalized_odds_difference": flm.equalized_odds_difference,
    "equalized_odds_ratio": flm.equalized_odds_ratio,
    "equal_opportunity_difference": flm.make_derived_metric(
        metric=flm.true_positive_rate, transform="difference"
    ),
    "accuracy": flm.accuracy_score_difference,
    "precision": flm.make_derived_metric(metric=skm.precision_score, transform="difference"),
    "recall": flm.make_derived_metric(metric=skm.recall_score, transform="difference"),
    "false_positive_rate": flm.false_positive_rate_difference,
    "false_negative_rate": flm.false_negative_rate_difference,
}
PER_GROUP = {
    "selection_rate": flm.selection_rate,
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
    "false_negative_rate": flm.false_negative_rate,
    "accuracy": skm.accuracy_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
}


def test_every_policy_metric_is_measured():
    assert set(METRICS) == set(FAIRNESS_METRICS) == set(REFERENCE)


def _measured(frame, metrics, columns, **kwargs):
    results = measure(frame["label"], frame["prediction"], sensitive_frame(columns, frame), metrics, **kwargs)
    return {(m.metric, m.sensitive_feature): m for m in results}


@pytest.mark.parametrize("metric", sorted(REFERENCE))
def test_values_equal_fairlearn_on_one_feature_and_an_intersection(frame, metric):
    measured = _measured(frame, [metric], ["sex", "race"])
    assert set(measured) == {(metric, "sex"), (metric, "race"), (metric, "race&sex")}
    for name, columns in (("sex", "sex"), ("race", "race"), ("race&sex", ["race", "sex"])):
        expected = REFERENCE[metric](frame["label"], frame["prediction"], sensitive_features=frame[columns])
        assert measured[(metric, name)].value == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("metric", sorted(REFERENCE))
def test_per_group_values_equal_metric_frame(frame, metric):
    measurement = _measured(frame, [metric], ["race", "sex"])[(metric, "race&sex")]
    for component in METRICS[metric].components:
        mf = flm.MetricFrame(
            metrics=PER_GROUP[component],
            y_true=frame["label"],
            y_pred=frame["prediction"],
            sensitive_features=frame[["race", "sex"]],
        )
        expected = {tuple(k): v for k, v in mf.by_group.items()}
        got = {(g.group["race"], g.group["sex"]): g.values[component] for g in measurement.by_group}
        assert got == pytest.approx(expected, rel=1e-12)
        assert measurement.overall[component] == pytest.approx(mf.overall, rel=1e-12)
    counts = frame.groupby(["race", "sex"]).size()
    assert {(g.group["race"], g.group["sex"]): g.count for g in measurement.by_group} == counts.to_dict()
    assert measurement.n_samples == len(frame)


def test_an_unbiased_model_measures_near_zero_and_a_biased_one_does_not():
    fair = _measured(biased_frame(n=4000, bias=0.0), ["demographic_parity_difference"], ["sex"])
    unfair = _measured(biased_frame(n=4000, bias=0.4), ["demographic_parity_difference"], ["sex"])
    assert fair[("demographic_parity_difference", "sex")].value < 0.05
    assert unfair[("demographic_parity_difference", "sex")].value > 0.3


def test_three_features_give_three_singles_and_one_intersection(frame):
    frame = frame.assign(region=np.where(frame["age"] > 50, "north", "south"))
    measured = _measured(frame, ["selection_rate"], ["sex", "region", "race"])
    assert [key[1] for key in measured] == ["sex", "region", "race", "race&region&sex"]
    group = measured[("selection_rate", "race&region&sex")].by_group[0]
    assert list(group.group) == ["race", "region", "sex"]
    assert group.label == ", ".join(group.group.values())


def test_intersections_can_be_left_out(frame):
    measured = _measured(frame, ["accuracy"], ["sex", "race"], intersections=False)
    assert list(measured) == [("accuracy", "sex"), ("accuracy", "race")]


def test_labels_other_than_zero_one_with_a_positive_label(frame):
    text = frame.assign(
        label=np.where(frame["label"] == 1, "approve", "deny"),
        prediction=np.where(frame["prediction"] == 1, "approve", "deny"),
    )
    as_text = _measured(text, ["equalized_odds_difference"], ["sex"], pos_label="approve")
    as_numbers = _measured(frame, ["equalized_odds_difference"], ["sex"])
    key = ("equalized_odds_difference", "sex")
    assert as_text[key].value == as_numbers[key].value
    booleans = frame.assign(label=frame["label"] == 1, prediction=frame["prediction"] == 1)
    assert _measured(booleans, ["equalized_odds_difference"], ["sex"])[key].value == as_numbers[key].value
    # A label typed on the command line arrives as text.
    assert _measured(frame, ["equalized_odds_difference"], ["sex"], pos_label="1")[key].value == as_numbers[key].value


def test_accuracy_accepts_multi_class_labels(frame):
    multi = frame.assign(label=frame["label"] + (frame["age"] > 60), prediction=frame["prediction"] * 2)
    measured = _measured(multi, ["accuracy"], ["sex"])
    expected = flm.accuracy_score_difference(multi["label"], multi["prediction"], sensitive_features=multi["sex"])
    assert measured[("accuracy", "sex")].value == pytest.approx(expected)


def test_sensitive_features_as_frame_series_dict_or_array(frame):
    expected = _measured(frame, ["selection_rate"], ["sex"])[("selection_rate", "sex")].value
    for given in (frame[["sex"]], frame["sex"], {"sex": frame["sex"].tolist()}):
        sensitive = sensitive_frame(given)
        assert list(sensitive.columns) == ["sex"]
        [m] = measure(frame["label"], frame["prediction"], sensitive, ["selection_rate"])
        assert m.value == expected
    assert list(sensitive_frame(frame["sex"].to_numpy()).columns) == ["sensitive_feature"]


def _refusal(frame, metric="demographic_parity_difference", columns=("sex",), **kwargs) -> str:
    with pytest.raises(InvalidInput) as excinfo:
        sensitive = sensitive_frame(list(columns), frame)
        measure(
            frame["label"], frame["prediction"], sensitive, [metric],
            target_name="label", prediction_name="prediction", **kwargs,
        )
    return excinfo.value.message


def test_missing_sensitive_column_is_named(frame):
    message = _refusal(frame, columns=("gender",))
    assert "'gender'" in message and "not in the data" in message and "sex" in message


def test_nan_predictions_are_refused(frame):
    broken = frame.assign(prediction=frame["prediction"].astype(float))
    broken.loc[7, "prediction"] = np.nan
    message = _refusal(broken)
    assert "'prediction'" in message and "missing (NaN)" in message and "row 7" in message


def test_nan_targets_are_refused(frame):
    broken = frame.assign(label=frame["label"].astype(float))
    broken.loc[3, "label"] = np.nan
    assert "'label'" in _refusal(broken, metric="recall")


def test_a_non_binary_target_is_refused_where_the_metric_needs_it(frame):
    multi = frame.assign(label=frame["label"] + (frame["age"] > 60))
    message = _refusal(multi, metric="equalized_odds_difference")
    assert "'label'" in message and "not binary" in message and "equalized_odds_difference" in message
    # Demographic parity looks at predictions only.
    _measured(multi, ["demographic_parity_difference"], ["sex"])


def test_scores_instead_of_labels_are_refused(frame):
    scores = frame.assign(prediction=np.linspace(0.01, 0.99, len(frame)))
    message = _refusal(scores)
    assert "'prediction'" in message and "not binary" in message and "threshold scores" in message


def test_labels_without_the_positive_label_are_refused(frame):
    text = frame.assign(label=np.where(frame["label"] == 1, "yes", "no"))
    message = _refusal(text, metric="recall")
    assert "'label'" in message and "pos_label" in message


def test_a_group_without_positives_is_refused_for_rates_on_positives(frame):
    skewed = frame.copy()
    skewed.loc[skewed["race"] == "c", "label"] = 0
    message = _refusal(skewed, metric="equal_opportunity_difference", columns=("race",))
    assert "group 'c' of race" in message and "no positive targets" in message
    # fairlearn alone would report a true positive rate of 0 for that group.
    tpr = flm.MetricFrame(
        metrics=flm.true_positive_rate, y_true=skewed["label"], y_pred=skewed["prediction"],
        sensitive_features=skewed["race"],
    ).by_group["c"]
    assert tpr == 0.0


def test_a_group_without_predicted_positives_is_refused_for_precision(frame):
    skewed = frame.copy()
    skewed.loc[skewed["sex"] == "F", "prediction"] = 0
    assert "no positive predictions" in _refusal(skewed, metric="precision")


def test_a_category_without_samples_is_refused(frame):
    declared = frame.assign(sex=pd.Categorical(frame["sex"], categories=["F", "M", "X"]))
    message = _refusal(declared)
    assert "Group 'X' of sensitive feature 'sex' has no samples" in message


def test_a_single_group_is_refused(frame):
    assert "single group ('F')" in _refusal(frame.assign(sex="F"))


def test_missing_sensitive_values_are_refused(frame):
    holes = frame.assign(sex=frame["sex"].where(frame.index != 5))
    assert "'sex' has 1 missing value(s) (first at row 5)" in _refusal(holes)


def test_unknown_metric_is_named(frame):
    message = _refusal(frame, metric="demographic_parity")
    assert "Unknown fairness metric 'demographic_parity'" in message and "demographic_parity_ratio" in message


def test_misaligned_and_empty_inputs_are_refused(frame):
    sensitive = sensitive_frame(["sex"], frame)
    with pytest.raises(InvalidInput, match="rows"):
        measure(frame["label"][:-1], frame["prediction"], sensitive, ["accuracy"])
    with pytest.raises(InvalidInput, match="rows"):
        sensitive_frame(frame[["sex"]][:-1], n_rows=len(frame))
    with pytest.raises(InvalidInput, match="empty"):
        measure([], [], sensitive.iloc[:0], ["accuracy"])
    with pytest.raises(InvalidInput, match="reserved for intersections"):
        sensitive_frame({"a&b": frame["sex"]})


def test_a_positive_label_absent_from_zero_one_labels(frame):
    message = _refusal(frame, metric="recall", pos_label="yes")
    assert "positive label 'yes'" in message
    negatives_only = frame.assign(prediction=0)
    [m] = measure(negatives_only["label"], negatives_only["prediction"], sensitive_frame(["sex"], frame), ["selection_rate"])
    assert m.value == 0.0
    # pos_label=0 makes 0 the outcome counted as selected.
    [flipped] = measure(frame["label"], frame["prediction"], sensitive_frame(["sex"], frame), ["selection_rate"], pos_label=0)
    [plain] = measure(frame["label"], frame["prediction"], sensitive_frame(["sex"], frame), ["selection_rate"])
    assert [g.values["selection_rate"] for g in flipped.by_group] == pytest.approx(
        [1 - g.values["selection_rate"] for g in plain.by_group]
    )


def test_no_sensitive_feature_and_a_single_metric_name(frame):
    for nothing in (None, [], ()):
        with pytest.raises(InvalidInput, match="No sensitive feature given"):
            sensitive_frame(nothing, frame)
    [m] = measure(frame["label"], frame["prediction"], sensitive_frame("sex", frame), "accuracy", intersections=False)
    assert m.metric == "accuracy"
