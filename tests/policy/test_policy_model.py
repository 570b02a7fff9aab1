"""The policy records: durations, globs, first match, protected aliases and stages."""

from __future__ import annotations

import datetime as dt

import pytest

from mlflow_registry_ext.policy import (
    ApprovalRequirement,
    FairnessRequirement,
    Policy,
    Rule,
    format_duration,
    parse_duration,
    parse_policy,
)


@pytest.mark.parametrize(
    "text, expected",
    [("30m", dt.timedelta(minutes=30)), ("12h", dt.timedelta(hours=12)), ("7d", dt.timedelta(days=7)),
     ("2w", dt.timedelta(weeks=2)), ("90s", dt.timedelta(seconds=90)), (" 1d ", dt.timedelta(days=1))],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "1.5h", "0m", "-1d", "1y", "7 days", None, 7])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration_round_trips():
    for text in ("30m", "12h", "7d", "90s", "14d"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(parse_duration("2w")) == "14d"
    assert format_duration(None) is None


def test_first_matching_rule_wins():
    policy = parse_policy(
        "version: 1\nmodels:\n"
        "  - match: 'fraud-eu-*'\n    protected_aliases: [eu]\n"
        "  - match: 'fraud-*'\n    protected_aliases: [production]\n"
        "  - match: 'fraud-eu-legacy'\n    protected_aliases: [never]\n"
        "  - match: '[!x]*'\n"
    )
    assert policy.rule_for("fraud-eu-1").index == 0
    assert policy.rule_for("fraud-eu-legacy").index == 0  # an earlier rule already matches it
    assert policy.rule_for("fraud-us").index == 1
    assert policy.rule_for("churn").index == 3
    assert policy.rule_for("xgb") is None
    # Globs are case-sensitive, like registered model names.
    assert policy.rule_for("Fraud-us").index == 3
    assert policy.protects_anything


def test_protects_alias_exactly_and_stage_in_any_case():
    rule = Rule(index=0, match="*", protected_aliases=("production",), protected_stages=("Production",))
    assert rule.protects_alias("production")
    assert not rule.protects_alias("Production") and not rule.protects_alias("prod")
    assert rule.protects_stage("production") and rule.protects_stage("PRODUCTION")
    assert not rule.protects_stage("Staging") and not rule.protects_stage("")
    assert rule.protects("stage", "production") and not rule.protects("alias", "staging")
    with pytest.raises(ValueError):
        rule.protects("tag", "x")


def test_reviewers():
    anyone = ApprovalRequirement()
    assert anyone.anyone and anyone.is_eligible("zoe") and not anyone.is_eligible("")
    assert anyone.reviewers_text() == "any reviewer"
    named = ApprovalRequirement(users=("dave",), groups=("risk",), eligible=frozenset({"dave", "alice"}))
    assert named.is_eligible("alice") and not named.is_eligible("zoe")
    assert named.reviewers_text() == "risk, dave"
    assert named.to_dict()["reviewers"] == ["group:risk", "dave"]


def test_fairness_breach():
    both = FairnessRequirement("demographic_parity_ratio", "sex", max=1.25, min=0.8)
    assert both.breach(1.0) is None and both.breach(0.8) is None and both.breach(1.25) is None
    assert both.breach(0.79) == "0.79 < min 0.8"
    assert both.breach(1.3) == "1.3 > max 1.25"
    assert both.describe() == "demographic_parity_ratio on sex >= 0.8 and <= 1.25"


def test_empty_policy():
    assert Policy().rule_for("x") is None and not Policy().protects_anything
    assert Policy().to_dict()["models"] == []
