"""Champion vs challenger: a candidate's metrics against the version under an alias. Pure.

Rows are matched by metric name and, when both sides recorded one (MLflow 3 logs the evaluation
dataset with a metric), by dataset digest; a metric on a dataset the other side did not use is
not compared with a value from a different dataset.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Mapping

from mlflow_registry_ext.policy.model import default_direction

__all__ = ["MetricValue", "default_direction", "compare", "verdict"]

@dataclasses.dataclass(frozen=True)
class MetricValue:
    """One metric of a version: name, value, and the dataset MLflow recorded it on (if any)."""

    name: str
    value: float
    dataset_name: str | None = None
    dataset_digest: str | None = None
    step: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def verdict(value: float, current: float, direction: str) -> str:
    """``better``, ``worse`` or ``same`` by ``direction``."""
    if value == current:
        return "same"
    better = value > current if direction == "higher" else value < current
    return "better" if better else "worse"


def _number(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def compare(
    candidate: Iterable[MetricValue],
    current: Iterable[MetricValue] | None,
    directions: Mapping[str, str] | None = None,
) -> list[dict]:
    """One row per candidate metric (and dataset): value, current value, delta, direction, verdict.

    ``delta`` is ``value - current``; ``regression`` is how much worse the candidate is by the
    direction (0 when not worse). Without a current version every row has ``current_value`` None.

    Example:
        >>> compare([MetricValue("auc", 0.9)], [MetricValue("auc", 0.95)])[0]["verdict"]
        'worse'
    """
    directions = directions or {}
    olds: dict[str, list[MetricValue]] = {}
    for m in current or ():
        olds.setdefault(m.name, []).append(m)
    rows = []
    for m in sorted(candidate, key=lambda m: (m.name, m.dataset_digest or "")):
        direction = directions.get(m.name) or default_direction(m.name)
        match = _match(m, olds.get(m.name, []))
        value, old = _number(m.value), _number(match.value) if match else None
        row = {
            "metric": m.name, "dataset_name": m.dataset_name, "dataset_digest": m.dataset_digest,
            "value": value, "current_value": old, "current_dataset_digest": match.dataset_digest if match else None,
            "delta": None, "regression": None, "direction": direction, "verdict": None,
        }
        if value is not None and old is not None:
            row["delta"] = value - old
            row["regression"] = max(0.0, old - value if direction == "higher" else value - old)
            row["verdict"] = verdict(value, old, direction)
        elif current is not None:
            row["verdict"] = ("incomparable" if olds.get(m.name) else "new") if match is None else None
        rows.append(row)
    return rows


def _match(m: MetricValue, olds: list[MetricValue]) -> MetricValue | None:
    if not olds:
        return None
    if m.dataset_digest:
        same = [o for o in olds if o.dataset_digest == m.dataset_digest]
        if same:
            return same[0]
        # A metric the old version recorded on another dataset is not comparable.
        if any(o.dataset_digest for o in olds):
            undated = [o for o in olds if not o.dataset_digest]
            return undated[0] if undated else None
    return olds[0]
