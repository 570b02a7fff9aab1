"""The per-group bar chart of a fairness check, as PNG, and logging it to an MLflow run.

Rendering uses matplotlib's Agg backend on a figure of its own, so it needs no display and leaves
pyplot's global state alone.

Example:
    >>> from mlflow import MlflowClient
    >>> png = render_chart(check)
    >>> client = MlflowClient(tracking_uri)
    >>> run_id = client.create_run(client.create_experiment("fairness")).info.run_id
    >>> log_chart(client, run_id, check, png)
    'runs:/.../fairness/holdout/demographic_parity_difference-sex-....png'
"""

from __future__ import annotations

import io
import os
import re
import tempfile

from mlflow_registry_ext.fairness.records import FairnessCheck

__all__ = ["render_chart", "chart_artifact_path", "log_chart"]

_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")


def render_chart(check: FairnessCheck) -> bytes:
    """A PNG bar chart of the check's per-group values, one bar per group and base metric.

    The title names the metric, the feature, the aggregate value, the threshold and the verdict;
    the overall value of each base metric is drawn as a dashed line.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = list(check.by_group)
    components = list(check.overall) or sorted({k for g in groups for k in g.values})
    width = 0.8 / max(len(components), 1)
    figure = Figure(figsize=(max(5.0, 1.0 + 0.7 * len(groups) * len(components)), 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(groups)))
    for i, component in enumerate(components):
        color = _COLORS[i % len(_COLORS)]
        offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
        heights = [g.values.get(component, 0.0) for g in groups]
        bars = axes.bar(offsets, heights, width=width * 0.95, label=component, color=color)
        axes.bar_label(bars, labels=[f"{h:.3g}" for h in heights], fontsize=8, padding=2)
        if component in check.overall:
            axes.axhline(
                check.overall[component], color=color, linestyle="--", linewidth=1, label=f"{component} (all rows)"
            )
    axes.set_xticks(positions)
    axes.set_xticklabels([f"{g.label}\n(n={g.count})" for g in groups], fontsize=8)
    axes.set_xlabel(check.sensitive_feature)
    top = max([1.0] + [v for g in groups for v in g.values.values()])
    axes.set_ylim(0, top * 1.15)
    axes.legend(fontsize=8, loc="upper right")
    verdict = check.verdict.upper() if check.passed is not None else check.verdict
    subject = f"{check.model} v{check.version}: " if check.model else ""
    axes.set_title(
        f"{subject}{check.metric} on {check.sensitive_feature}\n"
        f"{check.aggregate} {check.value:.4g}  ({check.threshold_text})  {verdict}",
        fontsize=10,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def chart_artifact_path(check: FairnessCheck) -> str:
    """Where the chart of ``check`` goes inside a run's artifacts, e.g.
    ``fairness/holdout/demographic_parity_difference-sex-1a2b3c4d.png``."""
    name = f"{check.metric}-{_slug(check.sensitive_feature)}-{check.id[:8]}.png"
    return f"fairness/{_slug(check.check_name)}/{name}"


def log_chart(client, run_id: str, check: FairnessCheck, png: bytes) -> str:
    """Upload ``png`` to the artifacts of ``run_id``; returns its ``runs:/`` URI.

    Args:
        client: An :class:`mlflow.MlflowClient` for the tracking store holding the run.
        run_id: The run to attach the chart to.
        check: The check the chart shows (names the file).
        png: The chart's bytes.
    """
    path = chart_artifact_path(check)
    directory, filename = path.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, filename)
        with open(local, "wb") as handle:
            handle.write(png)
        client.log_artifact(run_id, local, artifact_path=directory)
    return f"runs:/{run_id}/{path}"
