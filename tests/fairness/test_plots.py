"""The per-group bar chart."""

from __future__ import annotations

import io

from PIL import Image

from mlflow_registry_ext.fairness import FairnessCheck, GroupValue, render_chart
from mlflow_registry_ext.fairness.plots import chart_artifact_path


def _check(**overrides):
    values = dict(
        model="fraud-model",
        version="3",
        metric="equalized_odds_ratio",
        sensitive_features=("race", "sex"),
        aggregate="ratio",
        value=0.61,
        overall={"true_positive_rate": 0.7, "false_positive_rate": 0.2},
        by_group=tuple(
            GroupValue({"race": r, "sex": s}, 10 + i, {"true_positive_rate": 0.5 + i / 20, "false_positive_rate": 0.1 + i / 50})
            for i, (r, s) in enumerate([("a", "F"), ("a", "M"), ("b", "F"), ("b", "M")])
        ),
        threshold_min=0.8,
        passed=False,
        check_name="holdout q1",
    )
    values.update(overrides)
    return FairnessCheck(**values)


def test_the_chart_is_a_png_sized_to_its_groups():
    small = Image.open(io.BytesIO(render_chart(_check(by_group=_check().by_group[:2]))))
    large = Image.open(io.BytesIO(render_chart(_check())))
    assert small.format == large.format == "PNG"
    assert large.size[0] > small.size[0] and large.size[1] == small.size[1] == 400


def test_a_chart_without_threshold_or_model_renders():
    png = render_chart(_check(model="", version="", threshold_min=None, passed=None))
    assert png.startswith(b"\x89PNG")


def test_artifact_path_is_safe_and_unique_per_record():
    check = _check()
    path = chart_artifact_path(check)
    assert path == f"fairness/holdout_q1/equalized_odds_ratio-race_sex-{check.id[:8]}.png"
    assert chart_artifact_path(_check()) != path
