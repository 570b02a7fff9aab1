"""The ``mlflow-registry-ext`` command line: a thin click layer over library calls.

Each command group lives in a module of its own and is registered on :data:`cli` here.
"""

from __future__ import annotations

import sys

import click

from mlflow_registry_ext.cli._context import CliContext, run_guarded
from mlflow_registry_ext.cli.approvals import approvals, promote, rollback
from mlflow_registry_ext.cli.artifacts import artifacts
from mlflow_registry_ext.cli.audit import audit
from mlflow_registry_ext.cli.db import db
from mlflow_registry_ext.cli.dossier import card, dossier
from mlflow_registry_ext.cli.evidence import evidence
from mlflow_registry_ext.cli.fairness import fairness
from mlflow_registry_ext.cli.keygen import keygen
from mlflow_registry_ext.cli.policy import policy
from mlflow_registry_ext.cli.scan import scan
from mlflow_registry_ext.cli.webhooks import webhooks
from mlflow_registry_ext.mlflow_uris import using_uris

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--registry-uri",
    envvar="MLFLOW_REGISTRY_URI",
    help="Registry database URI, e.g. governed+sqlite:///mlflow.db (env MLFLOW_REGISTRY_URI).",
)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="An MLflow server running --app-name governance (env MLFLOW_TRACKING_URI).",
)
@click.option("--json", "as_json", is_flag=True, help="Print every result as JSON.")
@click.version_option(package_name="mlflow-registry-ext")
@click.pass_context
def cli(ctx: click.Context, registry_uri: str | None, tracking_uri: str | None, as_json: bool):
    """Govern an MLflow model registry: approvals, fairness, audit, webhooks, artifacts."""
    ctx.obj = CliContext(registry_uri=registry_uri, tracking_uri=tracking_uri, as_json=as_json)
    if registry_uri and tracking_uri:
        # Governance works on the registry database; runs and their artifacts (mlflow-artifacts:
        # locations, runs:/ URIs) resolve through the tracking server, as MLflow's own do.
        ctx.with_resource(using_uris(tracking_uri, None))


for _group in (db, audit, policy, approvals, promote, rollback, fairness, webhooks, artifacts, keygen,
               dossier, card, scan, evidence):
    cli.add_command(_group)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI and maps errors to exit codes."""
    sys.exit(run_guarded(cli, argv))

