"""`mlflow-registry-ext fairness ...`: run a fairness check on a model version, list records."""

from __future__ import annotations

from pathlib import Path

import click

from mlflow_registry_ext.times import iso_utc
from mlflow_registry_ext.cli._context import MODEL_VERSION, CheckFailedExit, CliContext, pass_cli
from mlflow_registry_ext.policy import FAIRNESS_METRICS, POLICY_ENV_VAR, load_policy


@click.group()
def fairness():
    """Measure a model version's fairness and list the recorded checks."""


def _thresholds(maxima: tuple[str, ...], minima: tuple[str, ...]) -> dict:
    from mlflow_registry_ext.fairness.thresholds import parse_threshold_option

    bounds: dict[str, dict[str, float]] = {}
    for direction, options in (("max", maxima), ("min", minima)):
        for text in options:
            metric, threshold = parse_threshold_option(text, direction)
            bounds.setdefault(metric, {})[direction] = getattr(threshold, direction)
    return bounds


@fairness.command("check")
@click.argument("model")
@click.argument("version", type=MODEL_VERSION)
@click.option(
    "--data",
    "data_file",
    required=True,
    help="Evaluation data: a CSV (optionally compressed) or Parquet file.",
)
@click.option("--target", required=True, help="Column with the true labels.")
@click.option("--prediction", required=True, help="Column with the model's predicted labels.")
@click.option(
    "--sensitive",
    "sensitive",
    multiple=True,
    required=True,
    help="Sensitive column; repeat for several (their intersection is measured too).",
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(sorted(FAIRNESS_METRICS)),
    help="Metric to measure; repeatable. Default: those the thresholds or the policy name, "
    "else demographic parity and equalized odds (difference and ratio).",
)
@click.option("--max", "maxima", multiple=True, metavar="METRIC=VALUE", help="Highest acceptable value; repeatable.")
@click.option("--min", "minima", multiple=True, metavar="METRIC=VALUE", help="Lowest acceptable value; repeatable.")
@click.option("--dataset-name", help="Name recorded for the data (default: the file name).")
@click.option("--check-name", default="fairness", show_default=True, help="Label shared by this run's records.")
@click.option("--pos-label", help="The positive label, when the labels are not 0/1 or true/false.")
@click.option("--no-intersection", is_flag=True, help="Do not measure the intersection of several sensitive columns.")
@click.option("--no-chart", is_flag=True, help="Do not log per-group charts to the version's run.")
@click.option(
    "--policy",
    "policy_file",
    envvar=POLICY_ENV_VAR,
    help=f"Policy file whose require.fairness thresholds apply (env {POLICY_ENV_VAR}); "
    "a server applies its own.",
)
@pass_cli
def check(
    cli: CliContext,
    model: str,
    version: str,
    data_file: str,
    target: str,
    prediction: str,
    sensitive: tuple[str, ...],
    metrics: tuple[str, ...],
    maxima: tuple[str, ...],
    minima: tuple[str, ...],
    dataset_name: str | None,
    check_name: str,
    pos_label: str | None,
    no_intersection: bool,
    no_chart: bool,
    policy_file: str | None,
):
    """Measure fairness of MODEL VERSION's predictions in a data file and record the result.

    Exits 1 when a value breaches its threshold (--max/--min, or the policy's); the check is
    recorded either way. Bad input (missing column, non-binary labels, ...) exits 2 and records
    nothing.
    """
    from mlflow_registry_ext.fairness.data import load_table

    frame = load_table(data_file)
    path = Path(data_file)
    options = dict(
        metrics=list(metrics) or None,
        thresholds=_thresholds(maxima, minima),
        check_name=check_name,
        pos_label=1 if pos_label is None else pos_label,
        intersections=not no_intersection,
        log_charts=not no_chart,
    )
    if cli.uses_server:
        # The server measures and records with its own policy.
        where = {}
    else:
        where = dict(dataset_source=str(path.resolve()), policy=load_policy(policy_file) if policy_file else None)
    result = cli.client().record_fairness(
        model, version, frame, target=target, prediction=prediction, sensitive=list(sensitive),
        dataset_name=dataset_name or path.name, **options, **where,
    )
    _report(cli, model, version, result)


def _report(cli: CliContext, model: str, version: str, result) -> None:
    cli.emit(result, _check_text)
    if result.passed is False:
        failed = result.failed
        raise CheckFailedExit(
            f"{len(failed)} fairness check(s) of {model} version {version} breached their threshold: "
            + "; ".join(c.describe() for c in failed)
        )


def _check_text(result) -> str:
    first = result.checks[0]
    lines = [
        f"{result.model} version {result.version}: {len(result.checks)} fairness check(s) recorded "
        f"on {first.dataset_name} ({first.dataset_digest[:19]}…, {first.n_samples} rows)"
    ]
    lines.extend(_table(result.checks))
    verdict = {True: "all thresholds met", False: f"{len(result.failed)} failed", None: "no thresholds set"}
    lines.append(verdict[result.passed])
    if result.chart_error:
        lines.append(f"recorded without charts: {result.chart_error} (--no-chart skips them)")
    return "\n".join(lines)


def _table(checks) -> list[str]:
    rows = [("METRIC", "FEATURE", "VALUE", "THRESHOLD", "RESULT", "CHART")]
    for c in checks:
        rows.append(
            (c.metric, c.sensitive_feature, f"{c.value:.4g}", c.threshold_text, c.verdict, c.chart_uri or "-")
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)) + "  " + r[-1] for r in rows]


@fairness.command("list")
@click.argument("model")
@click.argument("version", type=MODEL_VERSION)
@click.option("--latest", is_flag=True, help="Only the newest record of each metric, feature and dataset.")
@pass_cli
def list_checks(cli: CliContext, model: str, version: str, latest: bool):
    """List the fairness checks recorded on MODEL VERSION, oldest first."""
    checks = cli.client().list_fairness(model, version, latest=latest)
    cli.emit(checks, lambda items: _list_text(model, version, items))


def _list_text(model: str, version: str, checks) -> str:
    if not checks:
        return f"No fairness checks recorded on {model} version {version}"
    rows = [("RECORDED", "BY", "CHECK", "METRIC", "FEATURE", "VALUE", "THRESHOLD", "RESULT", "DATASET")]
    for c in checks:
        rows.append(
            (
                iso_utc(c.created_at_ms),
                c.actor or "-",
                c.check_name,
                c.metric,
                c.sensitive_feature,
                f"{c.value:.4g}",
                c.threshold_text,
                c.verdict,
                c.dataset_name or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)
