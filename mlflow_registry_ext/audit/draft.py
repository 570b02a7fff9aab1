"""An audit entry before it is chained (:class:`AuditDraft`). Pure: whoever records a change
builds one, :func:`mlflow_registry_ext.audit.log.append` chains and stores it.

Example:
    >>> draft = AuditDraft(action="approval_request.cancelled", model="fraud-model", version="2",
    ...                    before={"status": "pending"}, after={"status": "cancelled"})
    >>> draft.after["status"], draft.payload is None
    ('cancelled', True)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow_registry_ext.events.payloads import Payload

__all__ = ["AuditDraft"]


@dataclasses.dataclass(frozen=True)
class AuditDraft:
    """An entry before it is chained: what happened to which target, before and after.

    ``payload`` is the typed ``data`` of the webhook event the entry announces, built by whoever
    makes the draft from the values at hand. It is not part of the entry: neither stored nor
    hashed nor compared. The outbox sends it as is; a stored entry (replay, redelivery) is read
    back by :func:`mlflow_registry_ext.events.event_from_audit_entry`, which gives the same
    payload because the draft stores every value the payload holds.
    """

    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The workspace the entry belongs to; ``None``: the workspace of the call appending it.
    workspace: str | None = None
    #: The event's payload (see above); ``None``: read from the entry like a stored one.
    payload: Payload | None = dataclasses.field(default=None, compare=False)
