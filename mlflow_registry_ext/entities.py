"""Plain, frozen records the library hands out. No database or web code here.

Times are integer milliseconds since the epoch (UTC), as in MLflow's own entities.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["AuditEntry", "AliasHistoryItem"]


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One link of the audit chain: a registry or governance change.

    Attributes:
        seq: Position in the chain, from 1, without gaps.
        entry_id: A stable unique id (also the webhook event id of the change).
        timestamp_ms: When the change was committed.
        actor: Who made it (the authenticated user, or the in-process identity).
        action: What happened, named like MLflow's webhook events, e.g.
            ``model_version_alias.created`` or ``approval_request.approved``.
        model: Registered model name, if any.
        version: Model version, if any.
        alias: Alias, if any.
        before: The changed values before the change (``{}`` for a creation).
        after: The changed values after the change (``{}`` for a deletion).
        details: Anything else worth keeping (e.g. the policy rule that applied).
        request_id: The HTTP request id when served by the server.
        client_addr: The client address when served by the server.
        prev_hash: ``hash`` of entry ``seq - 1`` (64 zeros for the first).
        hash: SHA-256 over the canonical encoding of this entry and ``prev_hash``.

    Example:
        >>> entry.action, entry.before, entry.after
        ('model_version_alias.created', {'version': '3'}, {'version': '4'})
    """

    seq: int
    entry_id: str
    timestamp_ms: int
    actor: str
    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    request_id: str | None = None
    client_addr: str | None = None
    prev_hash: str = ""
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclasses.dataclass(frozen=True)
class AliasHistoryItem:
    """Where an alias pointed from ``since_ms`` on, and who moved it there.

    ``version`` is ``None`` for a period in which the alias did not exist (after a deletion).
    """

    model: str
    alias: str
    version: str | None
    since_ms: int
    actor: str
    seq: int
    action: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
