"""``mlflow-registry-ext dossier`` and ``card``: the reviewer's evidence about a version."""

from __future__ import annotations

import click

from mlflow_registry_ext.cli._context import CliContext, pass_cli


def _value(value) -> str:
    return "-" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def _human(d: dict) -> str:
    lines = [f"{d['model']} version {d['version']}  (dossier v{d['dossier_version']}, {d['generated_at']})"]
    comparison = d["comparison"]
    if comparison["status"] == "present":
        lines.append(f"\nMetrics against @{comparison['alias']} (version {comparison['current_version']}):")
        for row in comparison["rows"]:
            on = f" [{row['dataset_name']}]" if row["dataset_name"] else ""
            lines.append(f"  {row['metric']}{on}: {_value(row['value'])} vs {_value(row['current_value'])} "
                         f"(delta {_value(row['delta'])}, {row['direction']} is better: {row['verdict'] or '-'})")
    else:
        lines.append(f"\nComparison: missing ({comparison['reason']})")
    run = (d["lineage"].get("run") or {})
    lines.append(f"\nRun: {run.get('run_id') or 'missing'}  user {run.get('user') or '-'}  "
                 f"{run.get('start_time') or ''}")
    code = d["code"]
    lines.append(f"Code: {code.get('git_commit') or 'missing'}  {code.get('source_name') or ''}")
    for ds in d["datasets"]["items"]:
        lines.append(f"Dataset: {ds['name']} digest {ds['digest']} ({ds['context'] or '-'})")
    env = d["environment"]
    if env["status"] == "present":
        lines.append(f"Environment: python {env['python_version'] or '-'}, flavors {', '.join(env['flavors'])}, "
                     f"{len(env['requirements'])} requirements ({len(env['unpinned'])} unpinned)")
    card = d["model_card"]
    lines.append(f"Model card: {card['status']}" + (f" ({card['reason']})" if card.get("reason") else ""))
    fairness = d["fairness"]
    lines.append(f"Fairness: {len(fairness['checks'])} checks" if fairness["status"] == "present"
                 else f"Fairness: missing ({fairness['reason']})")
    art = d["artifacts"]
    lines.append(f"Artifact digest: {art.get('digest') or 'missing'}")
    lines.append(f"Artifact signature: {d['artifact_signature']['status']}")
    gov = d["governance"]
    lines.append(f"Requests: {len(gov.get('requests') or [])}")
    lines.append("\nMissing: " + (", ".join(d["missing"]) or "nothing"))
    return "\n".join(lines)


@click.command()
@click.argument("model")
@click.argument("version")
@click.option("--alias", help="Compare with the version this alias points to now.")
@pass_cli
def dossier(cli: CliContext, model: str, version: str, alias: str | None):
    """Print everything a reviewer needs about MODEL VERSION: lineage, data, code, environment,
    metrics against the version under --alias, model card, fairness, digest, requests."""
    cli.emit(cli.client().dossier(model, version, alias=alias), _human)


@click.command()
@click.argument("model")
@click.argument("version")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True,
              help="Markdown or a standalone HTML page.")
@click.option("--alias", help="Compare metrics with the version this alias points to now.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead.")
@pass_cli
def card(cli: CliContext, model: str, version: str, fmt: str, alias: str | None, output: str | None):
    """Render the model card of MODEL VERSION from its dossier (sections of Mitchell et al. and of
    Hugging Face model cards); absent sections say so."""
    from mlflow_registry_ext.dossier.card_render import render_card

    text = render_card(cli.client().dossier(model, version, alias=alias), fmt)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        cli.emit({"written": output, "format": fmt}, f"Wrote {output}")
    elif cli.as_json:
        cli.emit({"format": fmt, "text": text})
    else:
        click.echo(text)
