"""The transactional outbox: a delivery row per matching subscription, written with the change.

:func:`enqueue` runs at the end of :func:`mlflow_registry_ext.audit.log.append`,
inside the caller's transaction, so an event is queued if and only if its change commits. It
sends nothing: a slow or dead receiver can never slow a registry call. With no active
subscription it costs one indexed query.

Example:
    >>> from mlflow_registry_ext.audit import log as audit_log
    >>> with db.transaction() as conn:   # append calls enqueue(conn, entries)
    ...     entries = audit_log.append(conn, [audit_log.AuditDraft(action="registered_model.created",
    ...                                                           model="fraud-model")])
    >>> [e.action for e in entries]
    ['registered_model.created']
"""

from __future__ import annotations

import fnmatch
import functools
import json
import threading
import uuid
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from mlflow_registry_ext.entities import AuditEntry
from mlflow_registry_ext.events import entry_event, event_from_audit_entry, matches_event_type
from mlflow_registry_ext.events.payloads import Payload
from mlflow_registry_ext.db.webhook_tables import ACTIVE, PENDING, deliveries, webhooks
from mlflow_registry_ext.times import utc_now_ms

__all__ = [
    "enqueue",
    "on_enqueue",
    "subscription_matches",
    "event_model_names",
    "delivery_row",
    "entry_delivery_row",
    "DEPLOYMENT_EVENTS",
    "new_delivery_id",
]

# Dispatchers of this process that want to hear about new outbox rows at once, rather than at
# their next poll (the process-wide hint a same-process dispatcher needs; others poll).
_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()


def on_enqueue(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (cheap, non-blocking) whenever this process queues deliveries.

    The rows are not committed yet when it runs: it is a hint to look soon. Returns a function
    that unregisters the callback.
    """
    with _listeners_lock:
        _listeners.append(callback)

    def remove() -> None:
        with _listeners_lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return remove

_ACTIVE_SUBSCRIPTIONS = select(
    webhooks.c.id, webhooks.c.events, webhooks.c.model_filter, webhooks.c.workspace
).where(webhooks.c.status == ACTIVE)


def new_delivery_id() -> str:
    return "dlv_" + uuid.uuid4().hex


@functools.lru_cache(maxsize=1024)
def _patterns(events_json: str) -> tuple[str, ...]:
    return tuple(json.loads(events_json))


def subscription_matches(
    events: Sequence[str] | str, model_filter: str | None, event_type: str, models: Iterable[str | None]
) -> bool:
    """Whether a subscription wants an event.

    Args:
        events: The subscription's patterns (or their stored JSON text).
        model_filter: Its model-name glob, or ``None`` for every event.
        event_type: The event's type.
        models: The model names the event is about (a rename: old and new name).

    Example:
        >>> subscription_matches(["model_version.*"], "fraud-*", "model_version.created", ["fraud-1"])
        True
    """
    patterns = _patterns(events) if isinstance(events, str) else events
    if not any(matches_event_type(p, event_type) for p in patterns):
        return False
    if not model_filter:
        return True
    return any(name is not None and fnmatch.fnmatchcase(name, model_filter) for name in models)


def event_model_names(entry: AuditEntry) -> list[str | None]:
    """The model names an entry is about: its model, and the new name of a rename."""
    names = [entry.model]
    if entry.action == "registered_model.renamed":
        names.append(entry.after.get("name"))
    return names


def delivery_row(
    *,
    webhook_id: str,
    event_id: str,
    event_type: str,
    model: str | None,
    event_ms: int,
    payload: str,
    origin: str,
    now_ms: int,
    workspace: str,
    source_delivery_id: str | None = None,
) -> dict[str, Any]:
    """A new pending delivery, due at once, in the workspace of its subscription."""
    return {
        "workspace": workspace,
        "id": new_delivery_id(),
        "webhook_id": webhook_id,
        "event_id": event_id,
        "event_type": event_type,
        "model": model,
        "event_ms": event_ms,
        "payload": payload,
        "origin": origin,
        "source_delivery_id": source_delivery_id,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_ms": now_ms,
        "lease_token": None,
        "created_ms": now_ms,
    }


#: Events about the deployment's one log rather than a workspace's data (a checkpoint names only
#: the log's size and root): delivered to the subscribers of every workspace.
DEPLOYMENT_EVENTS = frozenset({"audit.checkpoint"})


def entry_delivery_row(
    webhook_id: str, entry: AuditEntry, *, payload: str, origin: str, now_ms: int, workspace: str | None = None
) -> dict[str, Any]:
    """A new pending delivery of the event of an audit entry (in the entry's workspace, or the
    subscription's ``workspace`` for a deployment-wide event)."""
    return delivery_row(
        workspace=workspace or entry.workspace,
        webhook_id=webhook_id,
        event_id=entry.entry_id,
        event_type=entry.action,
        model=entry.model,
        event_ms=entry.timestamp_ms,
        payload=payload,
        origin=origin,
        now_ms=now_ms,
    )


def enqueue(
    conn: Connection, entries: list[AuditEntry], payloads: Sequence[Payload | None] | None = None
) -> None:
    """Queue a delivery of each entry's event for every active subscription that wants it.

    ``payloads``, one per entry (what :func:`mlflow_registry_ext.audit.log.append` passes: its
    drafts' ``payload``), are the events' ``data``; an entry without one is read like a stored
    entry (:func:`mlflow_registry_ext.events.event_from_audit_entry`).

    Runs in the transaction of ``conn``; commits or rolls back with it.
    """
    if not entries:
        return
    subscriptions = conn.execute(_ACTIVE_SUBSCRIPTIONS).all()
    if not subscriptions:
        return
    if payloads is None:
        payloads = [None] * len(entries)
    elif len(payloads) != len(entries):
        raise ValueError(f"{len(payloads)} payloads for {len(entries)} entries")
    now = utc_now_ms()
    rows = []
    for entry, data in zip(entries, payloads):
        names = event_model_names(entry)
        payload = None
        everywhere = entry.action in DEPLOYMENT_EVENTS
        for webhook_id, events, model_filter, workspace in subscriptions:
            if workspace != entry.workspace and not everywhere:
                continue
            if not subscription_matches(events, model_filter, entry.action, names):
                continue
            if payload is None:
                event = event_from_audit_entry(entry) if data is None else entry_event(entry, data)
                payload = event.to_json()
            rows.append(entry_delivery_row(webhook_id, entry, payload=payload, origin="event", now_ms=now,
                                           workspace=workspace))
    if rows:
        conn.execute(deliveries.insert(), rows)
        for callback in list(_listeners):
            callback()
