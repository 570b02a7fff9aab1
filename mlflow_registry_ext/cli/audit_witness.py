"""``mlflow-registry-ext audit witness``: keep checkpoints, refuse one that does not extend them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlflow_registry_ext.cli._context import CheckFailedExit, CliContext, pass_cli
from mlflow_registry_ext.errors import InvalidInput


def _verifier(log_key: str):
    from mlflow_registry_ext.audit.note import NoteError, Verifier

    text = log_key.strip()
    path = Path(text)
    if "+" not in text or path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInput(f"--log-key: not a verifier key and not a readable file: {exc}") from exc
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        raise InvalidInput(f"--log-key: {exc}") from exc


def _offer_input(text: str) -> tuple[str, list[str] | None, int | None]:
    """``(note, proof, proof_from)`` from a note, an ``audit.checkpoint`` event (a webhook body),
    or a consistency bundle from ``audit consistency``."""
    if not text.lstrip().startswith("{"):
        return text, None, None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"--checkpoint: not a note and not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("--checkpoint: expected a note, an audit.checkpoint event or a consistency bundle")
    if isinstance(data.get("new"), str):
        from mlflow_registry_ext.audit.note import parse_checkpoint, parse_note

        try:
            old = parse_checkpoint(parse_note(data.get("old", "")).text)
        except ValueError as exc:
            raise InvalidInput(f"--checkpoint: the bundle's old checkpoint: {exc}") from exc
        return data["new"], list(data.get("proof") or []), old.size
    event = data.get("data") if isinstance(data.get("data"), dict) else data
    if not isinstance(event.get("note"), str):
        raise InvalidInput("--checkpoint: the JSON carries no checkpoint note")
    proof = event.get("consistency")
    return event["note"], proof if isinstance(proof, list) else None, event.get("previous_size")


def _proof_source(cli: CliContext):
    if not (cli.registry_uri or cli.uses_server):
        return None
    client = cli.client()
    return lambda old, new: client.prove_consistency(old, new)["proof"]


@click.command()
@click.option("--log-key", required=True, help="The log's note verifier key (name+id+base64, as keygen prints "
              "it), or a file holding it.")
@click.option("--state", "state_path", required=True, type=click.Path(dir_okay=False),
              help="The append-only file of accepted checkpoints (audit verify --checkpoints reads it).")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r"),
              help="Offer one checkpoint: a note, an audit.checkpoint event body, or an audit consistency "
                   "bundle (- for stdin).")
@click.option("--serve", metavar="HOST:PORT", help="Receive audit.checkpoint webhook deliveries on HOST:PORT.")
@click.option("--secret", envvar="MLFLOW_GOVERNANCE_WITNESS_SECRET",
              help="The subscription's whsec_ secret (--serve); also read from MLFLOW_GOVERNANCE_WITNESS_SECRET.")
@pass_cli
def witness(cli: CliContext, log_key, state_path, checkpoint_file, serve, secret):
    """Keep the log's checkpoints; refuse (exit 1 / HTTP 409) one that does not extend the newest held.

    With a global --tracking-uri or --registry-uri the witness asks the log for a consistency
    proof when the one given does not start at its newest checkpoint (the proof is checked, not
    trusted).
    """
    from mlflow_registry_ext.audit.witness_state import WitnessState

    if bool(checkpoint_file) == bool(serve):
        raise click.UsageError("give exactly one of --checkpoint FILE and --serve HOST:PORT")
    state = WitnessState(state_path, _verifier(log_key))
    source = _proof_source(cli)
    if checkpoint_file is not None:
        note, proof, proof_from = _offer_input(checkpoint_file.read())
        from mlflow_registry_ext.audit.witness_state import InconsistentCheckpoint

        try:
            accepted = state.offer(note, proof, proof_from=proof_from, proof_source=source)
        except InconsistentCheckpoint as exc:
            raise CheckFailedExit(f"checkpoint refused: {exc.message}") from exc
        cli.emit(accepted, lambda a: f"checkpoint {a.size} {a.root} "
                 + ("accepted" + (f" (extends {a.previous_size})" if a.previous_size else " (first held)")
                    if a.stored else "already held"))
        return
    if not secret:
        raise click.UsageError("--serve needs --secret (the subscription's whsec_ secret)")
    host, _, port = serve.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.UsageError(f"--serve takes HOST:PORT, got {serve!r}")
    from mlflow_registry_ext.audit.witness_http import make_server

    server = make_server(state, secret, host.strip("[]"), int(port), proof_source=source)
    click.echo(f"witness listening on http://{host}:{server.server_address[1]}/ (state {state_path})", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
