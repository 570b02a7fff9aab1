"""`mlflow-registry-ext webhooks ...`: subscriptions, the delivery log, and the dispatcher.

Each command is one call of :class:`~mlflow_registry_ext.client.GovernanceClient`: on the
governance database of ``--registry-uri`` (or ``MLFLOW_GOVERNANCE_DATABASE_URI``), or over REST on
the server of ``--tracking-uri``, with the same output. ``worker`` runs a
:class:`~mlflow_registry_ext.webhooks.dispatcher.Dispatcher` and needs the database.
"""

from __future__ import annotations

import re
import signal
import threading

import click

from mlflow_registry_ext.cli._context import CliContext, CheckFailedExit, pass_cli
from mlflow_registry_ext.times import iso_utc

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType):
    """``90s``, ``30m``, ``24h``, ``7d`` or plain seconds, as seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration like 90s, 30m, 24h or 7d", param, ctx)
        return int(match.group(1)) * _UNITS[match.group(2)]


def _when(ms: int | None) -> str:
    return iso_utc(ms)


def _events(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _describe(hook) -> str:
    lines = [
        f"{hook.id}  {hook.status}  {hook.url}",
        f"  events: {', '.join(hook.events)}",
        f"  model filter: {hook.model_filter or '(all models)'}    scheme: {hook.signature_scheme}",
    ]
    if hook.description:
        lines.append(f"  description: {hook.description}")
    if hook.disabled_reason:
        lines.append(f"  disabled: {hook.disabled_reason}")
    if hook.failing_since_ms:
        lines.append(f"  failing since: {_when(hook.failing_since_ms)}")
    if hook.previous_secret_expires_ms:
        lines.append(f"  previous secret signs until: {_when(hook.previous_secret_expires_ms)}")
    return "\n".join(lines)


def _delivery_line(d) -> str:
    code = d.last_status_code if d.last_status_code is not None else "-"
    due = f" next {_when(d.next_attempt_ms)}" if d.status == "pending" else ""
    error = f"  ({d.last_error})" if d.last_error and d.status != "succeeded" else ""
    return (
        f"{d.id}  {d.status:<9} {d.event_type:<34} attempts {d.attempts}  last {code}"
        f"  {d.webhook_id}  {d.origin}{due}{error}"
    )


@click.group()
def webhooks():
    """Durable, signed webhooks: subscribe, inspect deliveries, redeliver, replay, dispatch."""


@webhooks.command("create")
@click.argument("url")
@click.option("--events", "events", required=True, help="Comma-separated event types, '<family>.*' or '*'.")
@click.option("--model-filter", help="Deliver only events about models whose name matches this glob.")
@click.option("--secret", help="A whsec_ secret; generated (and printed once) when omitted.")
@click.option(
    "--signature-scheme",
    type=click.Choice(["standard", "mlflow"]),
    default="standard",
    show_default=True,
    help="Standard Webhooks headers, or MLflow's native X-MLflow-* headers.",
)
@click.option("--description", help="Free text.")
@pass_cli
def create(cli: CliContext, url, events, model_filter, secret, signature_scheme, description):
    """Subscribe URL to events. Prints the secret: the only time it is shown."""
    created = cli.client().create_webhook(
        url,
        _events(events),
        model_filter=model_filter,
        secret=secret,
        signature_scheme=signature_scheme,
        description=description,
    )
    cli.emit(
        created,
        lambda c: f"Created webhook\n{_describe(c.webhook)}\n"
        f"Secret (shown only this once; store it now): {c.secret}",
    )


@webhooks.command("list")
@click.option("--status", type=click.Choice(["active", "disabled"]), help="Only these subscriptions.")
@pass_cli
def list_(cli: CliContext, status):
    """List subscriptions (secrets are never shown)."""
    hooks = cli.client().list_webhooks(status=status)
    cli.emit(hooks, lambda hs: "\n".join(_describe(h) for h in hs) if hs else "No webhooks.")


@webhooks.command("update")
@click.argument("webhook_id")
@click.option("--url", help="New target URL.")
@click.option("--events", help="New comma-separated event types.")
@click.option("--model-filter", help="New model-name glob ('' for all models).")
@click.option("--signature-scheme", type=click.Choice(["standard", "mlflow"]), help="New signature scheme.")
@click.option("--description", help="New description ('' to clear).")
@click.option("--enable/--disable", "active", default=None, help="Resume or pause deliveries.")
@pass_cli
def update(cli: CliContext, webhook_id, url, events, model_filter, signature_scheme, description, active):
    """Change a subscription; --enable resumes a disabled one (its queued deliveries go out)."""
    hook = cli.client().update_webhook(
        webhook_id,
        url=url,
        events=_events(events) if events is not None else None,
        model_filter=model_filter,
        signature_scheme=signature_scheme,
        description=description,
        active=active,
    )
    cli.emit(hook, lambda h: f"Updated webhook\n{_describe(h)}")


@webhooks.command("rotate-secret")
@click.argument("webhook_id")
@click.option("--secret", help="The new whsec_ secret; generated when omitted.")
@click.option(
    "--grace",
    type=Duration(),
    default="24h",
    show_default=True,
    help="How long the old secret keeps signing alongside the new one (e.g. 0, 30m, 7d).",
)
@pass_cli
def rotate_secret(cli: CliContext, webhook_id, secret, grace):
    """Replace the secret; prints the new one (the only time it is shown)."""
    created = cli.client().rotate_webhook_secret(webhook_id, secret=secret, grace_seconds=grace)
    cli.emit(
        created,
        lambda c: f"Rotated the secret of {c.webhook.id}; the old one signs too until "
        f"{_when(c.webhook.previous_secret_expires_ms)}\n"
        f"New secret (shown only this once; store it now): {c.secret}",
    )


@webhooks.command("delete")
@click.argument("webhook_id")
@pass_cli
def delete(cli: CliContext, webhook_id):
    """Delete a subscription, its queued deliveries and its delivery log."""
    cli.client().delete_webhook(webhook_id)
    cli.emit({"deleted": webhook_id}, f"Deleted webhook {webhook_id}")


@webhooks.command("test")
@click.argument("webhook_id")
@click.option("--event", "event_type", help="Event type of the example (default: the first subscribed).")
@pass_cli
def test(cli: CliContext, webhook_id, event_type):
    """Send a signed example event now; exit 1 when the receiver does not answer 2xx."""
    result = cli.client().test_webhook(webhook_id, event_type=event_type)
    cli.emit(
        result,
        lambda r: f"{'OK' if r.ok else 'FAILED'}: {r.event_type} -> "
        f"{r.status_code if r.status_code is not None else r.error} in {r.latency_ms} ms"
        + (f"\n{r.response_excerpt}" if r.response_excerpt else ""),
    )
    if not result.ok:
        raise CheckFailedExit(f"the receiver did not accept the test event: {result.error}")


@webhooks.command("deliveries")
@click.option("--webhook", "webhook_id", help="Only this subscription's deliveries.")
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "succeeded", "dead"]),
    help="Only deliveries in this state ('dead' lists the dead letters).",
)
@click.option("--event", "event_type", help="Only this event type.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@pass_cli
def deliveries(cli: CliContext, webhook_id, status, event_type, limit):
    """List deliveries, newest first."""
    found = cli.client().list_deliveries(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit)
    cli.emit(found, lambda ds: "\n".join(_delivery_line(d) for d in ds) if ds else "No deliveries.")


@webhooks.command("attempts")
@click.argument("delivery_id")
@pass_cli
def attempts(cli: CliContext, delivery_id):
    """Every attempt of one delivery: time, status or error, latency, response excerpt."""
    found = cli.client().delivery_attempts(delivery_id)

    def human(items) -> str:
        if not items:
            return "No attempts yet."
        lines = []
        for a in items:
            answer = a.status_code if a.status_code is not None else a.error
            lines.append(f"#{a.attempt}  {_when(a.started_ms)}  {a.outcome:<9} {answer}  {a.latency_ms} ms")
            if a.response_excerpt:
                lines.append(f"    {a.response_excerpt[:200]}")
        return "\n".join(lines)

    cli.emit(found, human)


@webhooks.command("redeliver")
@click.argument("delivery_id")
@pass_cli
def redeliver(cli: CliContext, delivery_id):
    """Queue one delivery again (same body, same webhook-id); a running dispatcher sends it."""
    queued = cli.client().redeliver(delivery_id)
    cli.emit(queued, lambda d: f"Queued {d.id} (redelivery of {delivery_id}, event {d.event_id})")


@webhooks.command("replay")
@click.argument("webhook_id")
@click.option("--since", required=True, help="Start: ISO 8601 time or date, or epoch milliseconds.")
@click.option("--until", help="End (inclusive); default now.")
@pass_cli
def replay(cli: CliContext, webhook_id, since, until):
    """Queue again every event of a time range that the subscription wants."""
    result = cli.client().replay_webhook(webhook_id, since=since, until=until)
    cli.emit(result, lambda r: f"Queued {r.queued} event(s) for {r.webhook_id}")


@webhooks.command("worker")
@click.option("--concurrency", type=click.IntRange(2, 256), default=32, show_default=True, help="Requests in flight (half of them at most to one subscription).")
@click.option(
    "--poll-interval", type=click.FloatRange(0.01, 60), default=0.05, show_default=True, help="Seconds between polls."
)
@pass_cli
def worker(cli: CliContext, concurrency, poll_interval):
    """Run a dispatcher until SIGTERM or Ctrl-C (any number may run beside the server's)."""
    from mlflow_registry_ext.db.database import GovernanceDatabase
    from mlflow_registry_ext.webhooks.dispatcher import Dispatcher

    db = GovernanceDatabase.for_registry_uri(cli.registry_uri).ensure_schema()
    dispatcher = Dispatcher(db, concurrency=concurrency, per_webhook=concurrency // 2, poll_interval=poll_interval)
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"Webhook dispatcher {dispatcher.name} running; stop with SIGTERM or Ctrl-C", err=True)
    try:
        dispatcher.run(stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo("Webhook dispatcher stopped", err=True)
