"""The fairness package's public names, and what a base install can import without the extra."""

from __future__ import annotations

import subprocess
import sys

import mlflow_registry_ext.fairness as fairness


def test_public_names_are_pinned_and_resolve():
    assert fairness.__all__ == [
        "AGGREGATES",
        "RECORDED_ACTION",
        "FairnessCheck",
        "FairnessStore",
        "GroupValue",
        "feature_key",
        "fairness_facts",
        "Threshold",
        "resolve_thresholds",
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
    for name in fairness.__all__:
        assert getattr(fairness, name) is not None, name


def test_records_and_the_evaluator_entry_point_load_without_the_fairness_extra():
    # The promotion gate reads records on a base install, and MLflow imports every evaluator
    # plugin on each evaluate() call: neither may pull in fairlearn, scikit-learn or matplotlib.
    code = (
        "import sys\n"
        "import mlflow_registry_ext.fairness as f, mlflow_registry_ext.fairness.evaluator\n"
        "f.FairnessStore, f.fairness_facts\n"
        "heavy = [m for m in ('fairlearn', 'sklearn', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
