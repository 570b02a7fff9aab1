"""How fairness aggregates are named among a run's metrics."""

from __future__ import annotations

import re

__all__ = ["metric_key"]


def metric_key(sensitive_feature: str, metric: str) -> str:
    """The run metric name of an aggregate, e.g. ``fairness/race_and_sex/demographic_parity_ratio``."""
    feature = re.sub(r"[^\w.\- /]+", "_", sensitive_feature.replace("&", "_and_"))
    return f"fairness/{feature}/{metric}"
