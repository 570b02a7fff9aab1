"""Fairness metrics computed with fairlearn: per-group values and their aggregate through
``MetricFrame`` (no hand-written formulas).

Each metric is measured over each sensitive column and, when there are several, over their
intersection (named by the columns joined with ``&``, e.g. ``race&sex``). Inputs are checked
first, and every problem is an :class:`~mlflow_registry_ext.errors.InvalidInput` that names the
column, group or metric.

Aggregates, as fairlearn's functions of the same names define them (one ``MetricFrame`` per
feature set serves every metric, instead of one per fairlearn function call):
    * ``demographic_parity_difference`` / ``_ratio``: between-groups difference / ratio of the
      selection rate.
    * ``equalized_odds_difference`` / ``_ratio``: the larger difference / smaller ratio of the
      true and false positive rates (fairlearn's ``worst_case``).
    * ``equal_opportunity_difference``: the between-groups difference of the true positive rate.
    * ``selection_rate``, ``accuracy``, ``precision``, ``recall``, ``false_positive_rate``,
      ``false_negative_rate``: the between-groups difference (largest minus smallest group value)
      of that metric.

Example:
    >>> [m] = measure([1, 0, 1, 0], [1, 0, 0, 0], pd.DataFrame({"sex": list("FFMM")}),
    ...               ["demographic_parity_difference"])
    >>> m.value, [(g.label, g.values["selection_rate"]) for g in m.by_group]
    (0.5, [('F', 0.5), ('M', 0.0)])
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from fairlearn import metrics as flm
from sklearn import metrics as skm

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.fairness.records import INTERSECTION_SEPARATOR, GroupValue, feature_key
from mlflow_registry_ext.fairness.thresholds import check_metric_name

__all__ = [
    "MetricSpec",
    "METRICS",
    "DEFAULT_METRICS",
    "Measurement",
    "measure",
    "sensitive_frame",
]


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """What a metric needs and how it is reduced.

    Attributes:
        name: The metric name.
        aggregate: ``difference`` or ``ratio``.
        components: The per-group base metrics shown in the record and chart.
        binary_target: Whether the target must be binary.
        binary_prediction: Whether the predictions must be binary.
        needs: What every group must contain for the metric to be defined: ``positives``
            (positive targets), ``negatives`` (negative targets), ``predicted_positives``.
    """

    name: str
    aggregate: str
    components: tuple[str, ...]
    binary_target: bool
    binary_prediction: bool
    needs: tuple[str, ...] = ()


_EO = ("true_positive_rate", "false_positive_rate")

#: Every supported metric, by name (the names of the policy's ``require.fairness``).
METRICS: Mapping[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("selection_rate", "difference", ("selection_rate",), False, True),
        MetricSpec("demographic_parity_difference", "difference", ("selection_rate",), False, True),
        MetricSpec("demographic_parity_ratio", "ratio", ("selection_rate",), False, True),
        MetricSpec("equalized_odds_difference", "difference", _EO, True, True, ("positives", "negatives")),
        MetricSpec("equalized_odds_ratio", "ratio", _EO, True, True, ("positives", "negatives")),
        MetricSpec(
            "equal_opportunity_difference", "difference", ("true_positive_rate",), True, True, ("positives",)
        ),
        MetricSpec("accuracy", "difference", ("accuracy",), False, False),
        MetricSpec("precision", "difference", ("precision",), True, True, ("predicted_positives",)),
        MetricSpec("recall", "difference", ("recall",), True, True, ("positives",)),
        MetricSpec("false_positive_rate", "difference", ("false_positive_rate",), True, True, ("negatives",)),
        MetricSpec("false_negative_rate", "difference", ("false_negative_rate",), True, True, ("positives",)),
    )
}

#: Measured when the caller, the thresholds and the policy name no metric.
DEFAULT_METRICS: tuple[str, ...] = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)

# The per-group base metrics, on targets and predictions already mapped to 0/1 (except accuracy,
# which also works on multi-class labels).
_COMPONENTS: Mapping[str, Callable] = {
    "selection_rate": functools.partial(flm.selection_rate, pos_label=1),
    "true_positive_rate": functools.partial(flm.true_positive_rate, pos_label=1),
    "false_positive_rate": functools.partial(flm.false_positive_rate, pos_label=1),
    "false_negative_rate": functools.partial(flm.false_negative_rate, pos_label=1),
    "accuracy": skm.accuracy_score,
    "precision": functools.partial(skm.precision_score, pos_label=1, zero_division=np.nan),
    "recall": functools.partial(skm.recall_score, pos_label=1, zero_division=np.nan),
}

# How a metric's aggregate follows from MetricFrame.difference() and .ratio() (between groups),
# exactly as fairlearn's functions compute it; the rest take the difference of their component.
_AGGREGATE_OF: Mapping[str, Callable[[pd.Series, pd.Series], float]] = {
    "demographic_parity_difference": lambda diff, ratio: diff["selection_rate"],
    "demographic_parity_ratio": lambda diff, ratio: ratio["selection_rate"],
    "equalized_odds_difference": lambda diff, ratio: max(diff[list(_EO)]),
    "equalized_odds_ratio": lambda diff, ratio: min(ratio[list(_EO)]),
}

_NEEDS_TEXT = {
    "positives": "no positive targets",
    "negatives": "no negative targets",
    "predicted_positives": "no positive predictions",
}


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One metric measured over one sensitive feature (or intersection).

    Attributes:
        metric: The metric name.
        sensitive_features: The sensitive columns (sorted, for an intersection).
        aggregate: ``difference`` or ``ratio``.
        value: The aggregate.
        overall: The base metrics over all rows.
        by_group: The base metrics and row count of each group.
        n_samples: Rows measured.
    """

    metric: str
    sensitive_features: tuple[str, ...]
    aggregate: str
    value: float
    overall: Mapping[str, float]
    by_group: tuple[GroupValue, ...]
    n_samples: int

    @property
    def sensitive_feature(self) -> str:
        return feature_key(self.sensitive_features)


def sensitive_frame(sensitive_features: Any, data: pd.DataFrame | None = None, n_rows: int | None = None) -> pd.DataFrame:
    """The sensitive columns as a DataFrame of text values, checked.

    ``sensitive_features`` is a column name or a list of column names of ``data``, a DataFrame
    or Series aligned with the rows, a ``{name: values}`` dict, or one array of values (named
    ``sensitive_feature``).

    Raises:
        InvalidInput: A missing column, a length that differs from ``n_rows``, missing values,
            a declared category with no rows, or a column with a single group.

    Example:
        >>> sensitive_frame(["sex"], pd.DataFrame({"sex": ["F", "M"], "x": [1, 2]})).columns.tolist()
        ['sex']
    """
    frame = _as_frame(sensitive_features, data)
    if frame.shape[1] == 0:
        raise InvalidInput("No sensitive feature given: name at least one sensitive column")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidInput(f"Sensitive features are named more than once: {', '.join(names)}")
    for name in names:
        if not name.strip() or INTERSECTION_SEPARATOR in name:
            raise InvalidInput(
                f"Sensitive feature name {name!r} is empty or contains {INTERSECTION_SEPARATOR!r} "
                "(reserved for intersections); rename the column"
            )
    frame.columns = names
    if n_rows is not None and len(frame) != n_rows:
        raise InvalidInput(
            f"Sensitive features have {len(frame)} rows but the targets and predictions have {n_rows}"
        )
    columns = {}
    for name in names:
        column = frame[name]
        missing = int(column.isna().sum())
        if missing:
            first = int(np.flatnonzero(column.isna().to_numpy())[0])
            raise InvalidInput(
                f"Sensitive feature column {name!r} has {missing} missing value(s) (first at row "
                f"{first}); fill or drop them, every row must belong to a group"
            )
        if isinstance(column.dtype, pd.CategoricalDtype):
            empty = sorted(str(c) for c in set(column.cat.categories) - set(column.unique()))
            if empty:
                raise InvalidInput(
                    f"Group {empty[0]!r} of sensitive feature {name!r} has no samples"
                    + (f" (nor {', '.join(map(repr, empty[1:]))})" if len(empty) > 1 else "")
                    + "; drop unused categories or add data for them"
                )
        text = column.astype(str).to_numpy(dtype=object)
        groups = pd.unique(text)
        if len(groups) < 2:
            only = f" ({groups[0]!r})" if len(groups) else ""
            raise InvalidInput(
                f"Sensitive feature {name!r} has a single group{only}: a fairness metric compares "
                "at least two groups"
            )
        columns[name] = text
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def _as_frame(sensitive_features: Any, data: pd.DataFrame | None) -> pd.DataFrame:
    if isinstance(sensitive_features, str):
        sensitive_features = [sensitive_features]
    if sensitive_features is None or (isinstance(sensitive_features, (list, tuple)) and not sensitive_features):
        raise InvalidInput("No sensitive feature given: name at least one sensitive column")
    if isinstance(sensitive_features, pd.DataFrame):
        return sensitive_features.reset_index(drop=True)
    if isinstance(sensitive_features, pd.Series):
        name = sensitive_features.name if sensitive_features.name is not None else "sensitive_feature"
        return sensitive_features.reset_index(drop=True).to_frame(str(name))
    if isinstance(sensitive_features, Mapping):
        try:
            return pd.DataFrame({str(k): _as_1d(v, str(k)) for k, v in sensitive_features.items()})
        except ValueError as exc:
            raise InvalidInput(f"Sensitive feature columns differ in length: {exc}") from exc
    if isinstance(sensitive_features, (list, tuple)) and sensitive_features and all(
        isinstance(s, str) for s in sensitive_features
    ):
        if data is None:
            raise InvalidInput(
                f"Sensitive features {list(sensitive_features)} are column names but no data was given"
            )
        missing = [s for s in sensitive_features if s not in data.columns]
        if missing:
            raise InvalidInput(
                f"Sensitive feature column {missing[0]!r} is not in the data (columns: "
                f"{', '.join(map(str, data.columns))})"
            )
        return data[list(sensitive_features)].reset_index(drop=True)
    return pd.DataFrame({"sensitive_feature": _as_1d(sensitive_features, "sensitive_feature")})


def _as_1d(values: Any, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        array = values.to_numpy()
    elif isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise InvalidInput(f"{name} must be one column, got {values.shape[1]}")
        array = values.iloc[:, 0].to_numpy()
    else:
        array = np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise InvalidInput(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_complete(values: np.ndarray, what: str) -> None:
    missing = pd.isna(values)
    if missing.any():
        raise InvalidInput(
            f"{what} has {int(missing.sum())} missing (NaN) value(s) (first at row "
            f"{int(np.flatnonzero(missing)[0])}); drop or fill those rows"
        )


def _binarize(values: np.ndarray, what: str, pos_label: Any, metric: str) -> np.ndarray:
    """0/1 with 1 for ``pos_label``; refuses anything that is not two-valued."""
    uniques = list(pd.unique(values))
    shown = ", ".join(map(repr, sorted(uniques, key=str)[:6])) + (", ..." if len(uniques) > 6 else "")
    if len(uniques) > 2:
        raise InvalidInput(
            f"{what} is not binary ({len(uniques)} distinct values: {shown}) but {metric} needs "
            "binary labels; map them to 0/1 (threshold scores first)"
        )
    positive = _match_label(uniques, pos_label)
    if positive is not None:
        return (values == positive).astype(np.int64)
    if all(_is_zero_one(v) for v in uniques):
        # 0/1 labels where every row has the other value: a positive label of 0 or 1 still applies.
        for label in (0, 1):
            if _same_label(label, pos_label):
                return (values == label).astype(np.int64)
    raise InvalidInput(
        f"{what} has values {shown}, which do not include the positive label {pos_label!r}; "
        f"{metric} needs binary labels: pass the positive label (pos_label / --pos-label)"
    )


def _is_zero_one(value: Any) -> bool:
    return not isinstance(value, str) and value in (0, 1)


def _match_label(uniques: list, pos_label: Any) -> Any:
    for value in uniques:
        if _same_label(value, pos_label):
            return value
    return None


def _same_label(value: Any, label: Any) -> bool:
    if isinstance(value, str) == isinstance(label, str):
        return bool(value == label)
    if not isinstance(label, str):
        return False
    # A label typed on the command line is text; the column may hold numbers or booleans.
    text = label.strip()
    if isinstance(value, (bool, np.bool_)):
        return text.lower() == str(bool(value)).lower()
    try:
        return float(text) == value
    except (TypeError, ValueError):
        return False


def _group_index(frame: pd.DataFrame) -> Iterable[tuple[tuple[str, ...], np.ndarray]]:
    grouped = frame.groupby(list(frame.columns), sort=True).indices
    for key, rows in grouped.items():
        yield (key if isinstance(key, tuple) else (key,)), rows


def _check_groups(spec: MetricSpec, y_true: np.ndarray, y_pred: np.ndarray, frame: pd.DataFrame) -> None:
    if not spec.needs:
        return
    name = feature_key(frame.columns)
    for key, rows in _group_index(frame):
        for need in spec.needs:
            if need == "positives":
                ok = bool(y_true[rows].any())
            elif need == "negatives":
                ok = bool((y_true[rows] == 0).any())
            else:
                ok = bool(y_pred[rows].any())
            if not ok:
                raise InvalidInput(
                    f"{spec.name} is undefined for group {', '.join(key)!r} of {name}: it has "
                    f"{_NEEDS_TEXT[need]} ({len(rows)} row(s)); use more data or another metric"
                )


def _feature_sets(columns: Sequence[str], intersections: bool) -> list[tuple[str, ...]]:
    sets = [(c,) for c in columns]
    if intersections and len(columns) > 1:
        sets.append(tuple(sorted(columns)))
    return sets


def _finite(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"{what} is undefined (NaN) on this data; use more data or another metric")
    return number


def measure(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    metrics: Sequence[str],
    *,
    pos_label: Any = 1,
    intersections: bool = True,
    target_name: str = "y_true",
    prediction_name: str = "y_pred",
) -> list[Measurement]:
    """Measure ``metrics`` over each sensitive column and their intersection.

    Args:
        y_true: Target labels.
        y_pred: Predicted labels.
        sensitive: The sensitive columns (see :func:`sensitive_frame`), aligned with the labels.
        metrics: Metric names (see :data:`METRICS`).
        pos_label: The positive label for metrics on binary labels (``1`` by default;
            0/1 and boolean labels need nothing).
        intersections: Also measure the intersection of all sensitive columns when there are
            several.
        target_name: How errors name the target (e.g. its column).
        prediction_name: How errors name the predictions.

    Returns:
        One :class:`Measurement` per metric and feature set, metrics in the given order.

    Raises:
        InvalidInput: Unknown metric, empty or misaligned data, missing values, labels that are
            not binary where the metric needs it, a group lacking what the metric needs.

    Example:
        >>> sens = pd.DataFrame({"sex": list("FFMM"), "race": list("ABAB")})
        >>> [m.sensitive_feature for m in measure([1, 0, 1, 0], [1, 0, 0, 1], sens, ["selection_rate"])]
        ['sex', 'race', 'race&sex']
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    specs = [METRICS[check_metric_name(m)] for m in dict.fromkeys(metrics)]
    if not specs:
        raise InvalidInput("No fairness metric requested")
    target_what = f"Target column {target_name!r}"
    prediction_what = f"Prediction column {prediction_name!r}"
    y_true = _as_1d(y_true, target_what)
    y_pred = _as_1d(y_pred, prediction_what)
    if len(y_true) == 0:
        raise InvalidInput("No rows to measure: the evaluation data is empty")
    if len(y_true) != len(y_pred):
        raise InvalidInput(f"{target_what} has {len(y_true)} rows but {prediction_what} has {len(y_pred)}")
    if len(sensitive) != len(y_true):
        raise InvalidInput(f"Sensitive features have {len(sensitive)} rows but the targets have {len(y_true)}")
    _check_complete(y_true, target_what)
    _check_complete(y_pred, prediction_what)

    with warnings.catch_warnings():
        # Undefined per-group values are refused explicitly; the library warnings add noise.
        warnings.simplefilter("ignore")
        plans = _plan(specs, y_true, y_pred, pos_label, target_what, prediction_what)
        found: dict[tuple[str, tuple[str, ...]], Measurement] = {}
        for features in _feature_sets(list(sensitive.columns), intersections):
            frame = sensitive[list(features)]
            for yt, yp, group in plans:
                for spec in group:
                    _check_groups(spec, yt, yp, frame)
                for m in _measure_frame(group, yt, yp, frame):
                    found[(m.metric, features)] = m
    sets = _feature_sets(list(sensitive.columns), intersections)
    return [found[(spec.name, features)] for spec in specs for features in sets]


def _plan(specs, y_true, y_pred, pos_label, target_what, prediction_what) -> list[tuple[Any, Any, list[MetricSpec]]]:
    """Group the metrics by the label arrays they run on, so each group needs one MetricFrame.

    Binary labels are mapped to 0/1 once and every metric sees them so; labels that are not
    binary reach only the metrics that accept them (accuracy; the target of selection rates).
    """
    roles = {"true": (y_true, target_what), "pred": (y_pred, prediction_what)}
    cache: dict[str, Any] = {}

    def binary(role: str, metric: str | None):
        values, what = roles[role]
        if role not in cache:
            try:
                cache[role] = _binarize(values, what, pos_label, metric or "this metric")
            except InvalidInput:
                cache[role] = None
        if cache[role] is None and metric is not None:
            _binarize(values, what, pos_label, metric)  # raises, naming the metric
        return cache[role]

    groups: dict[tuple[int, int], tuple[Any, Any, list[MetricSpec]]] = {}
    for spec in specs:
        yt = binary("true", spec.name if spec.binary_target else None)
        yp = binary("pred", spec.name if spec.binary_prediction else None)
        if yt is None or yp is None:
            if spec.binary_prediction:
                yt = y_true if yt is None else yt
            else:
                yt, yp = y_true, y_pred
        groups.setdefault((id(yt), id(yp)), (yt, yp, []))[2].append(spec)
    return list(groups.values())


def _measure_frame(specs: list[MetricSpec], y_true, y_pred, frame: pd.DataFrame) -> list[Measurement]:
    name = feature_key(frame.columns)
    components = list(dict.fromkeys(c for spec in specs for c in spec.components))
    try:
        # Group sizes come from pandas: each metric MetricFrame evaluates costs a pass over the rows.
        mf = flm.MetricFrame(
            metrics={c: _COMPONENTS[c] for c in components},
            y_true=y_true,
            y_pred=y_pred,
            sensitive_features=frame,
        )
        differences = mf.difference(method="between_groups")
        ratios = mf.ratio(method="between_groups")
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"Cannot compute {', '.join(s.name for s in specs)} on {name}: {exc}") from exc
    rows = list(mf.by_group.iterrows())
    sizes = {
        (key if isinstance(key, tuple) else (key,)): int(size)
        for key, size in frame.groupby(list(frame.columns), sort=True).size().items()
    }
    results = []
    for spec in specs:
        what = f"{spec.name} on {name}"
        if spec.name in _AGGREGATE_OF:
            value = _AGGREGATE_OF[spec.name](differences, ratios)
        else:
            value = differences[spec.components[0]]
        by_group = []
        for key, row in rows:
            labels = tuple(map(str, key if isinstance(key, tuple) else (key,)))
            by_group.append(
                GroupValue(
                    group=dict(zip(frame.columns, labels)),
                    count=sizes[labels],
                    values={
                        c: _finite(row[c], f"{what} for group {', '.join(labels)!r}") for c in spec.components
                    },
                )
            )
        results.append(
            Measurement(
                metric=spec.name,
                sensitive_features=tuple(frame.columns),
                aggregate=spec.aggregate,
                value=_finite(value, what),
                overall={c: _finite(mf.overall[c], f"{what} overall") for c in spec.components},
                by_group=tuple(by_group),
                n_samples=len(frame),
            )
        )
    return results
