"""Thresholds: from the caller, the command line, and the policy's require.fairness."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.fairness.thresholds import Threshold, parse_threshold_option, resolve_thresholds
from mlflow_registry_ext.policy import parse_policy
from tests.fairness.conftest import policy_text

POLICY = policy_text(
    "fraud-*",
    "metric: demographic_parity_difference, sensitive_feature: sex, max: 0.1",
    "metric: demographic_parity_ratio, sensitive_feature: race, min: 0.8",
)


@pytest.fixture
def rule():
    return parse_policy(POLICY, source="policy.yaml").rule_for("fraud-model")


def test_breach_texts():
    assert Threshold(max=0.1).breach(0.15) == "0.15 > max 0.1"
    assert Threshold(min=0.8).breach(0.75) == "0.75 < min 0.8"
    assert Threshold(max=0.1).breach(0.1) is None
    assert Threshold(min=0.8, max=1.25).breach(1.3) == "1.3 > max 1.25"
    assert Threshold(max=0.1).breach(float("nan")).startswith("no value")


def test_policy_thresholds_apply_per_feature(rule):
    thresholds = resolve_thresholds(rule=rule)
    assert thresholds.lookup("demographic_parity_difference", "sex") == Threshold(max=0.1)
    assert thresholds.lookup("demographic_parity_difference", "race") is None
    assert thresholds.lookup("demographic_parity_ratio", "race") == Threshold(min=0.8)
    assert thresholds.metrics == ["demographic_parity_difference", "demographic_parity_ratio"]


def test_the_callers_threshold_replaces_the_policys(rule):
    thresholds = resolve_thresholds({"demographic_parity_difference": {"max": 0.2}}, rule=rule)
    assert thresholds.lookup("demographic_parity_difference", "sex") == Threshold(max=0.2)
    assert thresholds.lookup("demographic_parity_difference", "race") == Threshold(max=0.2)
    specific = resolve_thresholds({("accuracy", "sex"): 0.05, "accuracy": {"max": 0.1}})
    assert specific.lookup("accuracy", "sex") == Threshold(max=0.05)
    assert specific.lookup("accuracy", "race") == Threshold(max=0.1)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"demographic_parity": 0.1}, "Unknown fairness metric 'demographic_parity'"),
        ({"accuracy": {"maximum": 0.1}}, "unknown keys ['maximum']"),
        ({"accuracy": {}}, "needs max, min or both"),
        ({"accuracy": "0.1"}, "must be a number"),
        ({"accuracy": {"min": 0.9, "max": 0.1}}, "min 0.9 is above max 0.1"),
        ({"accuracy": float("inf")}, "finite number"),
        ({("accuracy",): 0.1}, "must be a metric or (metric, sensitive_feature)"),
    ],
)
def test_malformed_thresholds_are_refused(given, message):
    with pytest.raises(InvalidInput) as excinfo:
        resolve_thresholds(given)
    assert message in excinfo.value.message


def test_command_line_options():
    assert parse_threshold_option("demographic_parity_difference=0.1", "max") == (
        "demographic_parity_difference",
        Threshold(max=0.1),
    )
    assert parse_threshold_option(" accuracy = 0.05 ", "min") == ("accuracy", Threshold(min=0.05))
    for text, message in (
        ("accuracy", "expects METRIC=VALUE"),
        ("accuracy=high", "'high' is not a number"),
        ("parity=0.1", "Unknown fairness metric 'parity'"),
    ):
        with pytest.raises(InvalidInput, match=message):
            parse_threshold_option(text, "max")
