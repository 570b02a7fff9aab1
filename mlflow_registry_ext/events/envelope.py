"""The event envelope: what every delivery body carries around its payload. Pure."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from typing import Any

from mlflow_registry_ext.entities import AuditEntry, fields_from
from mlflow_registry_ext.events.payloads import Payload, example_payload

__all__ = ["Event", "entry_event", "example_event"]


def _iso(timestamp_ms: int) -> str:
    moment = _dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"



@dataclasses.dataclass(frozen=True)
class Event:
    """One event: the envelope every delivery body carries, with ``data`` its payload.

    Attributes:
        id: Stable event id (the audit entry id); the ``webhook-id`` of every delivery of it.
        type: The event type, e.g. ``model_version.created``.
        timestamp_ms: When the change was committed (ms since the epoch, UTC).
        actor: Who made the change.
        model: The registered model's name, if any.
        version: The model version, if any.
        alias: The alias, if any.
        seq: Position of the change in the audit chain (``None`` for test events).
        data: The payload dataclass of the event's family.
        test: True only for the example ``webhooks test`` sends.
    """

    id: str
    type: str
    timestamp_ms: int
    actor: str
    model: str | None
    version: str | None
    alias: str | None
    seq: int | None
    data: Payload
    test: bool = False

    @property
    def entity(self) -> str:
        return self.type.rsplit(".", 1)[0]

    @property
    def action(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        body = {
            "id": self.id,
            "type": self.type,
            "entity": self.entity,
            "action": self.action,
            "timestamp": _iso(self.timestamp_ms),
            "actor": self.actor,
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "seq": self.seq,
            "data": self.data.to_dict(),
        }
        if self.test:
            body["test"] = True
        return body

    def to_json(self) -> str:
        """The delivery body: compact, ASCII-only JSON (the exact bytes that are signed)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True, default=str)


def entry_event(entry: AuditEntry, data: Payload) -> Event:
    """The event of a chained audit entry with payload ``data``: the envelope comes from the
    entry (its id, type, time, actor, target and place in the chain)."""
    return fields_from(Event, entry, id=entry.entry_id, type=entry.action, data=data)


def example_event(event_type: str, *, event_id: str, timestamp_ms: int, actor: str) -> Event:
    """A signed-test example of ``event_type`` (what ``webhooks test`` sends), marked ``test``."""
    data = example_payload(event_type)
    fields = data.to_dict()
    version = fields.get("version")
    return Event(
        id=event_id,
        type=event_type,
        timestamp_ms=timestamp_ms,
        actor=actor,
        model=fields.get("name"),
        version=None if version is None else str(version),
        alias=fields.get("alias"),
        seq=None,
        data=data,
        test=True,
    )
