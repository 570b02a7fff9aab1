"""``mlflow-registry-ext audit ...``: list, verify, export, alias history, reconcile."""

from __future__ import annotations

import json

import click

from mlflow_registry_ext.times import iso_utc
from mlflow_registry_ext.cli._context import MODEL_VERSION, CheckFailedExit, CliContext, pass_cli, to_jsonable


def _when(ms: int) -> str:
    return iso_utc(ms)


def _target(entry) -> str:
    parts = [entry.model or ""]
    if entry.version:
        parts.append(f"v{entry.version}")
    if entry.alias:
        parts.append(f"@{entry.alias}")
    return " ".join(p for p in parts if p)


def _change(entry) -> str:
    if entry.before or entry.after:
        return f"{json.dumps(entry.before, sort_keys=True)} -> {json.dumps(entry.after, sort_keys=True)}"
    return ""


@click.group()
def audit():
    """The tamper-evident audit log of every registry and governance change."""


@audit.command("list")
@click.option("--model", help="Only entries about this registered model.")
@click.option("--version", type=MODEL_VERSION, help="Only entries about this model version.")
@click.option("--alias", help="Only entries about this alias.")
@click.option("--actor", help="Only entries by this user.")
@click.option("--action", help="Only this action, e.g. model_version_alias.created.")
@click.option("--since", help="From this time (ISO 8601, a date, or epoch ms).")
@click.option("--until", help="Up to this time (ISO 8601, a date, or epoch ms).")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@pass_cli
def list_(cli: CliContext, model, version, alias, actor, action, since, until, limit):
    """List audit entries, oldest first."""
    entries = cli.client().list_audit(
        model=model, version=version, alias=alias, actor=actor, action=action,
        since=since, until=until, limit=limit,
    )

    def human(items):
        if not items:
            return "no entries"
        return "\n".join(
            f"{e.seq:>6}  {_when(e.timestamp_ms)}  {e.actor:<12} {e.action:<32} {_target(e)}  "
            f"{_change(e)}".rstrip()
            for e in items
        )

    cli.emit(entries, human)


_KEY_HELP = "The log's note verifier key (name+id+base64); default: from MLFLOW_GOVERNANCE_LOG_KEY."


@audit.command()
@click.option("--checkpoints", "checkpoints", metavar="FILE|URI",
              help="Checkpoints held outside the database: file:///..., a path, s3://bucket/prefix, "
                   "or a JSON Lines file of audit.checkpoint events.")
@click.option("--verifier-key", help=_KEY_HELP)
@click.option("--full", is_flag=True, help="Read every entry, not only those after the last verified checkpoint.")
@pass_cli
def verify(cli: CliContext, checkpoints, verifier_key, full):
    """Check the log; exit 1 naming the first bad entry and the kind of tampering."""
    result = cli.client().verify_audit(checkpoints, verifier_key=verifier_key, full=full)
    cli.emit(
        result,
        lambda r: f"audit log intact: {r.checked} entries, head {r.head_hash}"
        + (f" ({r.reason})" if r.reason else "")
        if r.ok
        else f"audit log TAMPERED at entry {r.first_bad_seq} ({r.kind}): {r.reason}",
    )
    if not result.ok:
        raise CheckFailedExit(f"audit log {result.kind} at entry {result.first_bad_seq}")


@audit.command()
@pass_cli
def checkpoint(cli: CliContext):
    """Sign a checkpoint of the log now (C2SP signed note) and send it to the witnesses."""
    record = cli.client().create_checkpoint()
    cli.emit(record, lambda r: (f"checkpoint {r.size} {r.root}" if r.created else
                                f"no new entries; latest checkpoint {r.size} {r.root}")
             + (f"; witnessed by {', '.join(r.witnessed)}" if r.witnessed else "") + "\n" + r.note.rstrip())


@audit.command()
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--size", type=click.IntRange(min=1), help="Against the checkpoint of this size (default: latest).")
@pass_cli
def prove(cli: CliContext, seq: int, size):
    """Print an inclusion proof of entry SEQ (JSON; check it offline with audit check-proof)."""
    click.echo(json.dumps(cli.client().prove_entry(seq, size), indent=2, sort_keys=True))


@audit.command()
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@pass_cli
def consistency(cli: CliContext, old: int, new: int):
    """Print a consistency proof between the checkpoints of sizes OLD and NEW (JSON)."""
    click.echo(json.dumps(cli.client().prove_consistency(old, new), indent=2, sort_keys=True))


@audit.command("check-proof")
@click.argument("file", type=click.File("r"))
@click.option("--verifier-key", required=True, help="The log's note verifier key (name+id+base64).")
def check_proof(file, verifier_key):
    """Check a proof from audit prove or audit consistency offline; exit 1 if it fails."""
    from mlflow_registry_ext.audit import ProofError, verify_consistency, verify_inclusion

    bundle = json.loads(file.read())
    try:
        if "old" in bundle:
            old, new = verify_consistency(bundle, verifier_key)
            click.echo(f"consistent: checkpoint {new.size} extends checkpoint {old.size}")
        else:
            cp = verify_inclusion(bundle, verifier_key)
            click.echo(f"entry {bundle['seq']} is in checkpoint {cp.size} of {cp.origin}")
    except ProofError as exc:
        raise CheckFailedExit(str(exc)) from exc


@audit.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@pass_cli
def export(cli: CliContext, file: str):
    """Write every entry to FILE as JSON Lines (- for stdout), hashes included."""
    count = 0
    last = None
    with click.open_file(file, "w", atomic=file != "-") as out:
        for entry in cli.client().iter_audit():
            out.write(json.dumps(to_jsonable(entry), sort_keys=True) + "\n")
            count += 1
            last = entry
    summary = {"file": file, "entries": count, "head_seq": last.seq if last else 0,
               "head_hash": last.hash if last else None}
    if file != "-":
        cli.emit(summary, f"exported {count} entries to {file}; head hash {summary['head_hash']}")


@audit.command()
@click.argument("model")
@click.option("--alias", required=True, help="The alias, e.g. production.")
@click.option("--at", "at", help="Only what the alias pointed to at this time.")
@pass_cli
def history(cli: CliContext, model: str, alias: str, at: str | None):
    """What an alias pointed to over time, who moved it, and when."""
    items = cli.client().alias_history(model, alias, at=at)

    def human(rows):
        if not rows:
            return f"{model}@{alias} did not exist" + (f" at {at}" if at else "")
        return "\n".join(
            f"{_when(r.since_ms)}  {model}@{alias} -> "
            f"{'(deleted)' if r.version is None else 'version ' + r.version}  by {r.actor}"
            f"  (entry {r.seq})"
            for r in rows
        )

    cli.emit(items, human)


def _register_witness() -> None:
    from mlflow_registry_ext.cli.audit_witness import witness

    audit.add_command(witness)


_register_witness()
@audit.command()
@pass_cli
def reconcile(cli: CliContext):
    """Compare the registry with the state the audit log describes; exit 1 on any difference.

    A difference is a change made around the governed store (a plain MLflow client, SQL). New
    ones are recorded as audit.drift_detected entries, which webhooks deliver.
    """
    result = cli.client().reconcile()

    def human(r):
        if r.ok:
            return (f"registry matches the audit log: {r.models} models, {r.versions} versions "
                    f"({r.entries} entries replayed)")
        lines = [f"registry DRIFT: {len(r.differences)} difference(s) from the audit log "
                 f"({r.new} new, recorded as audit.drift_detected)"]
        lines += [f"  {d.describe()}" for d in r.differences]
        return "\n".join(lines)

    cli.emit(result, human)
    if not result.ok:
        raise CheckFailedExit(f"{len(result.differences)} difference(s) between the registry and its audit log")
