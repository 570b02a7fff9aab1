"""Fairness views: record a check computed on uploaded evaluation data, list and read records."""

from __future__ import annotations

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server.views._serves import serves


def _frame(columns, data):
    import pandas as pd

    if len(set(columns)) != len(columns):
        raise InvalidInput("columns must be distinct")
    width = len(columns)
    for number, row in enumerate(data):
        if len(row) != width:
            raise InvalidInput(f"row {number} of data has {len(row)} values, not {width} (one per column)")
        for value in row:
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise InvalidInput(f"row {number} of data holds a {type(value).__name__}; only plain values are allowed")
    return pd.DataFrame(data, columns=columns)


@serves("fairness_checks_create")
def fairness_checks_create(
    ctx, access, model, version, columns, data, target, prediction, sensitive, metrics, thresholds,
    dataset_name, check_name, pos_label, intersections, log_charts,
):
    from mlflow_registry_ext.fairness.data import DatasetInfo
    from mlflow_registry_ext.fairness.service import evaluate_fairness

    if not data:
        raise InvalidInput("data holds no rows")
    if isinstance(pos_label, (list, dict)):
        raise InvalidInput("pos_label must be a plain value")
    return evaluate_fairness(
        ctx.db,
        model,
        version,
        data=_frame(columns, data),
        y_true=target,
        y_pred=prediction,
        sensitive_features=list(sensitive),
        metrics=metrics or None,
        thresholds=thresholds,
        policy=ctx.policy,
        dataset=DatasetInfo(name=dataset_name or "uploaded", source="rest upload"),
        check_name=check_name or "fairness",
        pos_label=1 if pos_label is None else pos_label,
        intersections=True if intersections is None else intersections,
        client=ctx.mlflow_client(),
        log_charts=True if log_charts is None else log_charts,
    )


@serves("fairness_checks_list")
def fairness_checks_list(ctx, access, model, version, latest):
    checks = ctx.fairness.latest(model, version) if latest else ctx.fairness.list(model, version)
    return {"checks": checks}


@serves("fairness_checks_get")
def fairness_checks_get(ctx, access, check_id):
    check = ctx.fairness.get(check_id)
    access.require_read(check.model)
    return check
