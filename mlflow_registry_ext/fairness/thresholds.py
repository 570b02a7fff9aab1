"""Thresholds a fairness value must meet: given directly, on the command line, or by the policy.

Pure: no data, no database.

Example:
    >>> thresholds = resolve_thresholds(
    ...     {"demographic_parity_difference": {"max": 0.1}}, rule=None)
    >>> thresholds.lookup("demographic_parity_difference", "sex").breach(0.15)
    '0.15 > max 0.1'
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy import FAIRNESS_METRICS, Rule, threshold_breach

__all__ = ["Threshold", "Thresholds", "resolve_thresholds", "parse_threshold_option", "check_metric_name"]


def check_metric_name(metric: str) -> str:
    """``metric`` if it is a supported fairness metric.

    Raises:
        InvalidInput: An unknown name; the message lists the supported ones.
    """
    if metric not in FAIRNESS_METRICS:
        raise InvalidInput(
            f"Unknown fairness metric {metric!r} (supported: {', '.join(sorted(FAIRNESS_METRICS))})"
        )
    return metric


@dataclasses.dataclass(frozen=True)
class Threshold:
    """The acceptable range of a value: at most ``max``, at least ``min`` (either may be absent).

    Example:
        >>> Threshold(min=0.8).breach(0.75)
        '0.75 < min 0.8'
    """

    max: float | None = None
    min: float | None = None

    def __post_init__(self):
        for name in ("max", "min"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise InvalidInput(f"Threshold {name} must be a finite number, got {bound!r}")
            object.__setattr__(self, name, float(bound))
        if self.max is not None and self.min is not None and self.min > self.max:
            raise InvalidInput(f"Threshold min {self.min:g} is above max {self.max:g}")

    @classmethod
    def coerce(cls, value: Any, metric: str) -> Threshold:
        """A threshold from ``Threshold``, ``{"max": v}``/``{"min": v}``, or a bare number (max)."""
        if isinstance(value, Threshold):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"max", "min"}
            if unknown:
                raise InvalidInput(
                    f"Threshold of {metric} has unknown keys {sorted(unknown)}; use max and/or min"
                )
            if not value:
                raise InvalidInput(f"Threshold of {metric} needs max, min or both")
            return cls(max=value.get("max"), min=value.get("min"))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(max=value)
        raise InvalidInput(f"Threshold of {metric} must be a number or {{'max': v, 'min': v}}, got {value!r}")

    def breach(self, value: float) -> str | None:
        """Why ``value`` fails, or ``None`` when it passes (as the promotion gate judges it)."""
        return threshold_breach(value, max=self.max, min=self.min)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Thresholds by metric and sensitive feature; the most specific entry applies.

    ``by_feature`` is keyed by ``(metric, sensitive_feature)``, ``by_metric`` by metric alone.
    """

    by_feature: Mapping[tuple[str, str], Threshold] = dataclasses.field(default_factory=dict)
    by_metric: Mapping[str, Threshold] = dataclasses.field(default_factory=dict)

    def lookup(self, metric: str, sensitive_feature: str) -> Threshold | None:
        return self.by_feature.get((metric, sensitive_feature)) or self.by_metric.get(metric)

    @property
    def metrics(self) -> list[str]:
        """Every metric some threshold names, in first-seen order."""
        seen = dict.fromkeys(m for m, _ in self.by_feature)
        seen.update(dict.fromkeys(self.by_metric))
        return list(seen)


def resolve_thresholds(
    thresholds: Mapping[Any, Any] | None = None, *, rule: Rule | None = None
) -> Thresholds:
    """Merge thresholds given by the caller with the policy rule's ``require.fairness`` entries.

    ``thresholds`` maps a metric, or a ``(metric, sensitive_feature)`` pair, to a
    :class:`Threshold`, a ``{"max": v, "min": v}`` dict or a number (a max). A caller's entry
    replaces the policy's for the same metric.

    Raises:
        InvalidInput: An unknown metric or a malformed threshold.

    Example:
        >>> resolve_thresholds({("demographic_parity_ratio", "sex"): {"min": 0.8}}).metrics
        ['demographic_parity_ratio']
    """
    by_feature: dict[tuple[str, str], Threshold] = {}
    by_metric: dict[str, Threshold] = {}
    if rule is not None:
        for requirement in rule.require.fairness:
            by_feature[(requirement.metric, requirement.sensitive_feature)] = Threshold(
                max=requirement.max, min=requirement.min
            )
    explicit_metrics = set()
    for key, value in (thresholds or {}).items():
        if isinstance(key, tuple):
            if len(key) != 2 or not all(isinstance(k, str) for k in key):
                raise InvalidInput(f"Threshold key {key!r} must be a metric or (metric, sensitive_feature)")
            metric, feature = key
            by_feature[(check_metric_name(metric), feature)] = Threshold.coerce(value, metric)
        elif isinstance(key, str):
            by_metric[check_metric_name(key)] = Threshold.coerce(value, key)
            explicit_metrics.add(key)
        else:
            raise InvalidInput(f"Threshold key {key!r} must be a metric or (metric, sensitive_feature)")
    if rule is not None:
        # The caller's threshold for a metric wins over the policy's per-feature ones.
        for requirement in rule.require.fairness:
            if requirement.metric in explicit_metrics:
                by_feature.pop((requirement.metric, requirement.sensitive_feature), None)
    return Thresholds(by_feature=by_feature, by_metric=by_metric)


def parse_threshold_option(text: str, direction: str) -> tuple[str, Threshold]:
    """``("demographic_parity_difference", Threshold(max=0.1))`` from
    ``demographic_parity_difference=0.1`` and ``max``.

    Raises:
        InvalidInput: Not ``METRIC=NUMBER``, or an unknown metric.
    """
    metric, sep, number = text.partition("=")
    metric = metric.strip()
    if not sep or not metric:
        raise InvalidInput(f"--{direction} expects METRIC=VALUE, got {text!r}")
    try:
        value = float(number)
    except ValueError:
        raise InvalidInput(f"--{direction} {text!r}: {number.strip()!r} is not a number") from None
    return check_metric_name(metric), Threshold(**{direction: value})
