"""``mlflow-registry-ext scan MODEL VERSION``: scan a version's files now (exit 1 on findings)."""

from __future__ import annotations

import click

from mlflow_registry_ext.cli._context import CheckFailedExit, CliContext, pass_cli

__all__ = ["scan"]


def _text(report) -> str:
    lines = [
        f"{report.model} version {report.version}: {report.status} "
        f"({report.scanner} {report.scanner_version or '?'}, {report.artifact_digest or 'digest unknown'})"
    ]
    lines += [f"  {f.severity.upper():8} {f.file}: {f.description}" for f in report.findings]
    lines += [f"  ERROR    {e}" for e in report.errors]
    lines += [f"  skipped  {s.file}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


@click.command("scan")
@click.argument("model")
@click.argument("version")
@pass_cli
def scan(cli: CliContext, model: str, version: str):
    """Scan the files of MODEL VERSION for code that runs on load, and record the report.

    Exits 1 when the scanner found anything or failed (a failed scan is never a pass).
    """
    report = cli.client().scan(model, version)
    cli.emit(report, _text)
    if report.status != "clean":
        raise CheckFailedExit(f"security scan of {model} version {version}: {report.describe()}")
