"""``mlflow-registry-ext evidence export|verify``: a version's signed evidence bundle."""

from __future__ import annotations

from pathlib import Path

import click

from mlflow_registry_ext.cli._context import CheckFailedExit, CliContext, pass_cli

__all__ = ["evidence"]


@click.group()
def evidence():
    """Export a model version's signed evidence bundle, or verify one offline."""


@evidence.command("export")
@click.argument("model")
@click.argument("version")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The zip to write.")
@pass_cli
def export(cli: CliContext, model: str, version: str, output: str):
    """Write the evidence bundle of MODEL VERSION, signed with the signing key
    (MLFLOW_GOVERNANCE_SIGNING_KEY of this process on a database, of the server against a server)."""
    data = cli.client().export_evidence(model, version)
    Path(output).write_bytes(data)
    cli.emit({"path": output, "bytes": len(data)}, f"Wrote {output} ({len(data)} bytes)")


@evidence.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False),
              help="The signer's public key PEM (default: the key inside the bundle, which proves only integrity).")
@click.option("--model-dir", type=click.Path(exists=True), help="Also check these model files against the bundle.")
@click.option("--log-key", default=None,
              help="The audit log's verifier key (name+id+base64, printed by keygen) to check the checkpoint "
                   "and inclusion proofs with (default: the one inside the bundle).")
@pass_cli
def verify(cli: CliContext, bundle: str, public_key: str | None, model_dir: str | None, log_key: str | None):
    """Check BUNDLE offline: signature, every member, and the model files if given. Exit 1 naming
    the first thing that fails."""
    import zipfile

    from cryptography.hazmat.primitives import serialization

    from mlflow_registry_ext.evidence.bundle import verify_bundle
    from mlflow_registry_ext.keys import load_public_key

    if public_key:
        key = load_public_key(public_key)
    else:
        with zipfile.ZipFile(bundle) as zf:
            key = serialization.load_pem_public_key(zf.read("keys/signing.pub.pem"))
    result = verify_bundle(bundle, key, model_dir=model_dir, log_key=log_key)
    if not result.ok:
        raise CheckFailedExit(f"evidence bundle {bundle}: {result.failure}")
    missing = f"; parts not in the bundle: {', '.join(result.missing_parts)}" if result.missing_parts else ""
    cli.emit(result, f"Verified {bundle}: signature and {result.checked} members{missing}")
