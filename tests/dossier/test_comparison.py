"""Champion vs challenger rows and the metric and model card requirements. Pure."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.dossier.comparison import MetricValue, compare
from mlflow_registry_ext.dossier.model_card import card_fields, model_card_part, split_front_matter
from mlflow_registry_ext.policy import MetricFact, PromotionFacts, default_direction, evaluate, parse_policy

POLICY = parse_policy("""
version: 1
models:
  - match: "m"
    protected_aliases: [production]
    approvals: {required: 1}
    require:
      metrics:
        auc: {min: 0.8, max_regression: 0.01}
        rmse: {max: 3, max_regression: 0.5}
        calibration: {max_regression: 0.1, direction: lower}
      model_card: [intended_use, limitations]
""").rule_for("m")


def test_rows_match_by_name_and_dataset_digest():
    rows = compare(
        [MetricValue("auc", 0.90, "test", "d1"), MetricValue("rmse", 2.0), MetricValue("f1", 0.5, "other", "d9")],
        [MetricValue("auc", 0.95, "test", "d1"), MetricValue("rmse", 2.5), MetricValue("f1", 0.7, "test", "d1")],
    )
    by = {r["metric"]: r for r in rows}
    assert by["auc"]["delta"] == pytest.approx(-0.05) and by["auc"]["verdict"] == "worse"
    assert by["rmse"]["direction"] == "lower" and by["rmse"]["verdict"] == "better"
    assert by["rmse"]["regression"] == 0
    # Measured on another dataset: not compared.
    assert by["f1"]["current_value"] is None and by["f1"]["verdict"] == "incomparable"


def test_default_directions():
    assert [default_direction(n) for n in ("val_loss", "mean_squared_error", "rmse", "auc", "f1_score",
                                           "demographic_parity_difference")] == [
        "lower", "lower", "lower", "higher", "higher", "lower"]


def _facts(*metrics, card=None):
    return PromotionFacts(model="m", version="3", target_kind="alias", target="production", requester="erin",
                          metrics=metrics, model_card=card or {"intended_use": "x", "limitations": "y"})


def test_a_refusal_names_the_metric_both_values_and_the_limit():
    message = evaluate(POLICY, _facts(MetricFact("auc", 0.90, 0.95, "1", "test"),
                                      MetricFact("rmse", 3.2, 2.5, "1"),
                                      MetricFact("calibration", 0.3, 0.1, "1"))).message()
    assert ("metric auc on test regressed against production (version 1): 0.9 vs 0.95, worse by 0.05 > "
            "max_regression 0.01") in message
    assert "metric rmse failed: 3.2 > max 3" in message
    assert "metric calibration regressed against production (version 1): 0.3 vs 0.1" in message


def test_within_the_limits_and_first_promotions_pass_the_metric_gate():
    ok = evaluate(POLICY, _facts(MetricFact("auc", 0.945, 0.95, "1"), MetricFact("rmse", 2.9, 2.5, "1"),
                                 MetricFact("calibration", 0.15, 0.1, "1")))
    assert not [m for m in ok.missing if m.startswith("metric")]
    first = evaluate(POLICY, _facts(MetricFact("auc", 0.85), MetricFact("rmse", 1.0),
                                    MetricFact("calibration", 0.5)))
    assert not [m for m in first.missing if m.startswith("metric")]


def test_missing_or_incomparable_metrics_are_refused():
    message = evaluate(POLICY, _facts(MetricFact("auc", 0.9, incomparable="version 1 recorded it on dataset a"),
                                      MetricFact("rmse", 1.0))).message()
    assert "metric auc cannot be compared with production: version 1 recorded it on dataset a" in message
    assert "metric calibration missing" in message


def test_model_card_requirement():
    message = evaluate(POLICY, _facts(MetricFact("auc", 0.9), card={"intended_use": "x"})).message()
    assert "model card missing limitations" in message


def test_card_fields_tags_win_over_front_matter():
    text = "---\nintended_use: from the file\nlimitations: [small data, one site]\n---\n# Notes\n"
    fields, body, problem = card_fields({"model_card.intended_use": "from a tag", "owner": "x"}, text)
    assert fields["intended_use"] == {"value": "from a tag", "source": "tag model_card.intended_use"}
    assert fields["limitations"] == {"value": "- small data\n- one site", "source": "MODEL_CARD.md"}
    assert body == "# Notes\n" and problem is None
    assert split_front_matter("---\n: [\n---\nx")[2].startswith("the front matter of MODEL_CARD.md is not YAML")
    assert model_card_part({}, None)["status"] == "missing"
    assert model_card_part({"model_card.intended_use": "x"}, None, ("intended_use", "limitations"))["status"] == "partial"


def test_editing_a_required_card_field_makes_approvals_stale():
    from mlflow_registry_ext.policy import bound_state_hash

    before = bound_state_hash(POLICY, {"model_card.intended_use": "scoring"}, None)
    assert bound_state_hash(POLICY, {"model_card.intended_use": "anything"}, None) != before
    assert bound_state_hash(POLICY, {"model_card.intended_use": "scoring", "other": "x"}, None) == before
