"""``mlflow-registry-ext approvals ...``, ``promote`` and ``rollback``: the review of promotions."""

from __future__ import annotations


import click

from mlflow_registry_ext.cli._context import MODEL_VERSION, CliContext, pass_cli
from mlflow_registry_ext.entities import REQUEST_STATUSES, ApprovalRequest, PromotionResult
from mlflow_registry_ext.policy import ACTIONS
from mlflow_registry_ext.times import iso_utc


def _when(ms: int | None) -> str:
    return iso_utc(ms)


def _target(kind: str, target: str) -> str:
    return f"@{target}" if kind == "alias" else f"stage {target}"


def _line(r: ApprovalRequest) -> str:
    action = "" if r.action == "promote" else f" ({r.action.replace('_', ' ')})"
    return (
        f"{r.id}  {r.status:<9} {r.model} v{r.version} -> {_target(r.target_kind, r.target)}{action}  "
        f"approvals {r.approvals_text}  by {r.requester}  {_when(r.created_at_ms)}"
    )


def _detail(r: ApprovalRequest) -> str:
    lines = [
        f"request {r.id}: {r.describe()}",
        f"  status      {r.status}" + (f" ({r.closed_reason})" if r.closed_reason else ""),
        f"  approvals   {r.approvals_text}",
        f"  requested   by {r.requester} at {_when(r.created_at_ms)}",
        f"  expires     {_when(r.expires_at_ms) if r.expires_at_ms else 'never'}",
        f"  rule        {r.rule}",
    ]
    if r.version_creator:
        lines.append(f"  creator     {r.version_creator} (created the version)")
    if r.artifact_digest:
        lines.append(f"  artifacts   {r.artifact_digest}")
    if r.applied_at_ms:
        lines.append(f"  applied     by {r.applied_by} at {_when(r.applied_at_ms)}")
    if r.decisions:
        lines.append("  decisions")
        for d in r.decisions:
            note = f": {d.comment}" if d.comment else ""
            lines.append(f"    {_when(d.decided_at_ms)}  {d.reviewer} {d.decision}{note}")
    if r.comments:
        lines.append("  timeline")
        for c in r.comments:
            lines.append(f"    {_when(c.created_at_ms)}  {c.author} ({c.kind}): {c.text}")
    return "\n".join(lines)


def _one_target(alias: str | None, stage: str | None) -> None:
    if bool(alias) == bool(stage):
        raise click.UsageError("give exactly one of --alias and --stage")


@click.group()
def approvals():
    """Request, review and track approvals of protected aliases and stages."""


@approvals.command("request")
@click.argument("model")
@click.argument("version", type=MODEL_VERSION)
@click.option("--alias", help="The protected alias to put the version under.")
@click.option("--stage", help="The protected stage to move the version to.")
@click.option("--comment", help="Why; shown to the reviewers.")
@click.option(
    "--action",
    type=click.Choice(ACTIONS),
    default="promote",
    show_default=True,
    help="rollback: re-point the alias to VERSION, its previous version; "
    "delete_alias: delete the alias, which points to VERSION.",
)
@pass_cli
def request(cli: CliContext, model, version, alias, stage, comment, action):
    """Ask the reviewers to approve putting VERSION of MODEL under a protected alias or stage."""
    _one_target(alias, stage)
    created = cli.client().request_approval(
        model, version, alias=alias, stage=stage, comment=comment, action=action
    )
    cli.emit(created, lambda r: f"requested {r.id}: {r.describe()} (needs {r.required} approval(s))")


@approvals.command()
@click.argument("request_id", metavar="ID")
@click.option("--comment", help="A note with the approval.")
@pass_cli
def approve(cli: CliContext, request_id, comment):
    """Approve request ID as the current user."""
    decided = cli.client().approve(request_id, comment=comment)
    cli.emit(decided, lambda r: f"approved {r.id}: {r.status}, approvals {r.approvals_text}")


@approvals.command()
@click.argument("request_id", metavar="ID")
@click.option("--comment", help="Why.")
@pass_cli
def reject(cli: CliContext, request_id, comment):
    """Reject request ID as the current user; it is closed."""
    decided = cli.client().reject(request_id, comment=comment)
    cli.emit(decided, lambda r: f"rejected {r.id}")


@approvals.command()
@click.argument("request_id", metavar="ID")
@click.option("--comment", help="Why.")
@pass_cli
def cancel(cli: CliContext, request_id, comment):
    """Withdraw request ID (its requester, or an admin of the rule)."""
    cancelled = cli.client().cancel_request(request_id, comment=comment)
    cli.emit(cancelled, lambda r: f"cancelled {r.id}")


@approvals.command("comment")
@click.argument("request_id", metavar="ID")
@click.option("--comment", "text", required=True, help="The comment.")
@pass_cli
def comment_(cli: CliContext, request_id, text):
    """Comment on request ID without deciding."""
    commented = cli.client().comment_request(request_id, text)
    cli.emit(commented, lambda r: f"commented on {r.id}")


@approvals.command("list")
@click.option("--model", help="Only requests for this registered model.")
@click.option("--version", type=MODEL_VERSION, help="Only requests for this model version.")
@click.option("--status", type=click.Choice(REQUEST_STATUSES), help="Only requests with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@pass_cli
def list_(cli: CliContext, model, version, status, limit):
    """List approval requests, newest first."""
    found = cli.client().list_requests(model=model, version=version, status=status, limit=limit)
    cli.emit(found, lambda rows: "\n".join(_line(r) for r in rows) if rows else "no requests")


@approvals.command()
@click.argument("request_id", metavar="ID")
@pass_cli
def show(cli: CliContext, request_id):
    """Show request ID with its decisions and timeline."""
    cli.emit(cli.client().get_request(request_id), _detail)


@approvals.command()
@click.argument("model")
@click.argument("version", type=MODEL_VERSION)
@click.option("--refresh", is_flag=True, help="Also rewrite the version's read-only gov tags.")
@pass_cli
def status(cli: CliContext, model, version, refresh):
    """Show the governance state of VERSION of MODEL, per protected alias and stage (its gov tags)."""
    client = cli.client()
    state = client.refresh_status(model, version) if refresh else client.get_status(model, version)

    def human(s) -> str:
        if not s.covered:
            return f"{model} v{version}: no policy rule protects anything of {model}"
        parts = [f"status {s.status}", f"approvals {s.approvals}", f"fairness {s.fairness}"]
        if s.artifact_digest:
            parts.append(f"artifacts {s.artifact_digest}")
        request_text = f"; request {s.request_id}" if s.request_id else ""
        lines = [f"{model} v{version} ({s.rule}): " + ", ".join(parts) + request_text]
        lines += [f"  {_target(t.target_kind, t.target)}: {t.value}" for t in s.targets]
        if s.page_link:
            lines.append(f"  reviewer page: {s.page_link}")
        return "\n".join(lines)

    cli.emit(state, human)


def _promoted(result: PromotionResult) -> str:
    target = _target(result.target_kind, result.target)
    verb = "rolled back" if result.action == "rollback" else "promoted"
    text = f"{verb} {result.model} {target} to version {result.version}"
    if result.previous_version and result.target_kind == "alias":
        text += f" (was {result.previous_version})"
    if result.alone:
        text += "; alone, under rollback.allowed"
    if result.request_id:
        text += f"; applied request {result.request_id}"
    if result.reason:
        text += f"; reason: {result.reason}"
    if result.override_reason:
        text += f"; ADMIN OVERRIDE: {result.override_reason}"
    if result.audit_seq:
        text += f"; audit entry {result.audit_seq}"
    return text


@click.command()
@click.argument("model")
@click.argument("version", type=MODEL_VERSION)
@click.option("--alias", help="The alias to point at VERSION.")
@click.option("--stage", help="The stage to move VERSION to.")
@click.option("--request", "request_id", help="Apply this approval request (default: any approved one).")
@click.option("--override-reason", help="Admins only: force a refused change through, with this reason.")
@click.option("--archive-existing", is_flag=True, help="With --stage: archive the versions now in it.")
@pass_cli
def promote(cli: CliContext, model, version, alias, stage, request_id, override_reason, archive_existing):
    """Point --alias at VERSION of MODEL (or move it to --stage), applying its approval."""
    _one_target(alias, stage)
    result = cli.client().promote(
        model,
        version,
        alias=alias,
        stage=stage,
        request_id=request_id,
        override_reason=override_reason,
        archive_existing_versions=archive_existing,
    )
    cli.emit(result, _promoted)


@click.command()
@click.argument("model")
@click.option("--alias", required=True, help="The alias to roll back.")
@click.option("--reason", required=True, help="Why (mandatory; recorded in the audit log and the event).")
@click.option("--request", "request_id", help="Apply this rollback request (default: any approved one).")
@click.option("--override-reason", help="Admins only: force a refused rollback through, with this reason.")
@pass_cli
def rollback(cli: CliContext, model, alias, reason, request_id, override_reason):
    """Re-point --alias of MODEL to the version it pointed to before, with a --reason.

    Users the rule lists under rollback.allowed (with required: 0) may do so alone; everybody
    else needs an approved rollback request.
    """
    result = cli.client().rollback(model, alias, reason=reason, request_id=request_id,
                                   override_reason=override_reason)
    cli.emit(result, _promoted)
