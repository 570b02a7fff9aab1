"""``mlflow-registry-ext keygen DIR``: the server's signing key and log key."""

from __future__ import annotations

import click

from mlflow_registry_ext.cli._context import CliContext, pass_cli


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--origin",
    default=None,
    help="Name of the audit log (checkpoint origin and note key name); "
    "default MLFLOW_GOVERNANCE_LOG_ORIGIN, else <host name>/mlflow-registry-ext.",
)
@pass_cli
def keygen(cli: CliContext, directory: str, origin: str | None):
    """Write DIR/signing.pem (ECDSA P-256) and DIR/log.pem (Ed25519), public keys beside them.

    The signing key signs model manifests (OpenSSF Model Signing), approval attestations and
    evidence bundles; the log key signs audit checkpoints (C2SP signed notes). Private keys are
    written mode 0600 and never overwritten. Set the two variables printed at the end on the
    server.
    """
    from mlflow_registry_ext import keys

    name = origin or keys.log_origin()
    made = keys.generate_keys(directory, log_name=name)
    log_public = keys.load_public_key(made.log_public)
    result = {
        "signing_key": str(made.signing_key),
        "signing_public_key": str(made.signing_public),
        "signing_key_id": made.signing_key_id,
        "log_key": str(made.log_key),
        "log_public_key": str(made.log_public),
        "log_origin": name,
        "log_key_id": made.log_key_id,
        "log_verifier_key": keys.note_verifier_key(name, log_public),
        "environment": {
            keys.SIGNING_KEY_ENV: str(made.signing_key.resolve()),
            keys.LOG_KEY_ENV: str(made.log_key.resolve()),
            keys.LOG_ORIGIN_ENV: name,
        },
    }
    lines = [
        f"signing key  {made.signing_key}  (public {made.signing_public})",
        f"  key id     {made.signing_key_id}",
        f"log key      {made.log_key}  (public {made.log_public})",
        f"  origin     {name}",
        f"  key id     {made.log_key_id}",
        f"  verifier   {result['log_verifier_key']}",
        "Set on the server:",
        *(f"  export {var}={value}" for var, value in result["environment"].items()),
    ]
    cli.emit(result, "\n".join(lines))
