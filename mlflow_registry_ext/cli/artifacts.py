"""``mlflow-registry-ext artifacts ...``: model digests, verification, garbage collection."""

from __future__ import annotations

import contextlib

import click

from mlflow_registry_ext.cli._context import CheckFailedExit, CliContext, pass_cli


def _use_uris(cli: CliContext):
    # runs:/ and models:/ URIs resolve through the tracking server and the registry.
    from mlflow_registry_ext.mlflow_uris import using_uris

    return using_uris(cli.tracking_uri, cli.registry_uri)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


@click.group()
def artifacts():
    """Content-addressed artifacts: model digests, verification, garbage collection."""


@artifacts.command()
@click.argument("uri")
@pass_cli
def digest(cli: CliContext, uri: str):
    """Print the artifact digest of URI (models:/NAME/VERSION, models:/NAME@ALIAS, runs:/..., cas+...).

    The digest is a SHA-256 over the sorted (path, size, sha256) list of the files.
    """
    from mlflow_registry_ext.artifacts.digest import model_digest

    with _use_uris(cli):
        result = model_digest(uri)

    def human(d) -> str:
        lines = [f"{d.digest}  ({len(d.files)} files, {_size(d.total_size)}, from {d.source})"]
        lines += [f"  {f.sha256}  {f.size:>12}  {f.path}" for f in d.files]
        return "\n".join(lines)

    cli.emit(result, human)


@artifacts.command()
@click.argument("uri")
@click.option(
    "--digest",
    "expected_digest",
    metavar="SHA256",
    help="Also require this artifact digest (e.g. the version's governance.artifact_digest).",
)
@click.option(
    "--signature",
    is_flag=True,
    help="Check the model version's files, model signature and approval attestation instead "
    "(URI is models:/NAME/VERSION or models:/NAME@ALIAS).",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False),
    help="With --signature: the trusted signing public key (signing.pub.pem); default: the "
    "key the server serves.",
)
@pass_cli
def verify(cli: CliContext, uri: str, expected_digest: str | None, signature: bool, public_key: str | None):
    """Re-hash every file of URI and report each bad one (exit 1 if any).

    With --signature, check the model version's manifest, model signature and approval
    attestation (exit 1 naming the first failure).
    """
    from mlflow_registry_ext.artifacts.verify import verify as verify_uri

    if signature:
        _verify_signature(cli, uri, public_key)
        return

    with _use_uris(cli):
        report = verify_uri(uri, expected_digest=expected_digest)

    def human(r) -> str:
        lines = []
        for p in r.problems:
            lines.append(f"BAD {p.problem:<10} {p.path}: {p.detail}")
        if r.digest_matches is False:
            lines.append(f"DIGEST MISMATCH: expected {r.expected_digest}, found {r.digest}")
        state = "ok" if r.ok else "FAILED"
        lines.append(
            f"{state}: {r.checked} files, {_size(r.bytes_checked)} checked ({r.method}), "
            f"{len(r.problems)} bad; digest {r.digest or '-'}"
        )
        return "\n".join(lines)

    cli.emit(report, human)
    if not report.ok:
        bad = len(report.problems)
        raise CheckFailedExit(
            f"{bad} bad file(s) under {uri}" if bad else f"artifact digest of {uri} does not match"
        )


def _verify_signature(cli: CliContext, uri: str, public_key: str | None) -> None:
    from mlflow_registry_ext.errors import IntegrityError, InvalidInput

    pem = None
    if public_key:
        try:
            with open(public_key, "rb") as handle:
                pem = handle.read()
        except OSError as exc:
            raise InvalidInput(f"Cannot read {public_key}: {exc.strerror or exc}") from None
    try:
        report = cli.client().verify_signature(uri, pem)
    except IntegrityError as exc:
        raise CheckFailedExit(f"{uri}: {exc.message}") from None

    def human(r) -> str:
        return "\n".join([
            f"ok: {r.model} version {r.version}",
            f"  manifest     {r.digest} ({r.files_checked} files downloaded and hashed)",
            f"  signature    OpenSSF Model Signing, {r.files_signed} files, key {r.key_id}",
            f"  attestation  request {r.request_id} for {r.target}, approved by "
            f"{', '.join(r.approvers) or '-'} at {r.approved_at}, policy {r.policy_digest or '-'}",
        ])

    cli.emit(report, human)


@artifacts.command()
@click.argument("root")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option(
    "--grace-period",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Keep unreferenced blobs and uploads younger than this (90s, 30m, 24h, 7d); "
    "longer than any upload.",
)
@pass_cli
def gc(cli: CliContext, root: str, dry_run: bool, grace_period: str):
    """Delete blobs of ROOT (cas+file:///path, cas+s3://bucket/prefix) that no artifact references."""
    from mlflow_registry_ext.artifacts.gc import collect_garbage, parse_duration

    grace = parse_duration(grace_period)
    label = "checking unreferenced blobs" if dry_run else "deleting unreferenced blobs"
    with contextlib.ExitStack() as stack:
        bars: list = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bar = click.progressbar(
                    length=total, label=label, file=click.get_text_stream("stderr")
                )
                bars.append(stack.enter_context(bar))
            bars[0].update(1)

        report = collect_garbage(root, grace_seconds=grace, dry_run=dry_run, progress=progress)

    def human(r) -> str:
        verb = "would free" if r.dry_run else "freed"
        return (
            f"{r.root}: {verb} {_size(r.total_bytes_freed)} "
            f"({r.blobs_deleted} blobs, {r.uploads_removed} abandoned uploads); "
            f"{r.blobs_referenced} of {r.blobs_scanned} blobs referenced by {r.tree_entries} "
            f"files; {r.blobs_in_grace} unreferenced blobs ({_size(r.bytes_in_grace)}) kept "
            f"within the grace period"
            + (f"; {r.blobs_missing} referenced blobs MISSING" if r.blobs_missing else "")
        )

    cli.emit(report, human)


@artifacts.command()
@click.argument("model")
@click.argument("version", required=False)
@pass_cli
def pin(cli: CliContext, model: str, version: str | None):
    """Pin VERSION of MODEL (every version when VERSION is left out), with progress on stderr.

    A version pinned already is checked instead: if its source no longer matches its manifest,
    that is recorded (audit entry and event model_version.artifacts_changed, tag
    governance.artifacts=changed) and reported; what it serves does not change.

    Pinning records the version's manifest (path, size, SHA-256 per file) and points the version
    at an immutable snapshot, as the governed store does for every new version. Versions
    registered before the plugin was installed need it before a rule with
    `artifact_digest: true` lets them be promoted. Works on the database (--registry-uri).
    """
    from mlflow_registry_ext.errors import InvalidInput

    client = cli.client()
    if client.is_rest:
        raise InvalidInput("artifacts pin works on the registry database: pass --registry-uri")
    store = client.registry_store()
    with _use_uris(cli):
        if version is None:
            versions = sorted(
                (str(mv.version) for mv in store.search_model_versions(f"name = '{model}'")),
                key=int,
            )
        else:
            versions = [str(version)]
        results, changed = [], {}
        with click.progressbar(
            versions, label=f"Pinning {model}", file=click.get_text_stream("stderr"),
            item_show_func=lambda v: f"version {v}" if v else "",
        ) as bar:
            for number in bar:
                results.append(store.pinner.pin(model, number))
                changed[number] = store.pinner.check(model, number)

    def human(manifests) -> str:
        return "\n".join(
            f"{m.model} version {m.version}: {m.digest} ({len(m.files)} files, "
            f"{_size(m.total_size)}, {m.method}) -> {m.location or m.source}"
            + (f"; its source CHANGED since (now {changed[m.version]})" if changed.get(m.version) else "")
            for m in manifests
        )

    as_dicts = [{**m.to_dict(), "source_changed_to": changed.get(m.version)} for m in results]
    cli.emit(as_dicts if cli.as_json else results, human)
