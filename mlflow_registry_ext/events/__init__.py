"""Webhook events: their type names, payload shapes, and how an audit entry becomes one. Pure.

Every registry mutation and governance action is chained into the audit log, and the audit
``action`` *is* the event type. :func:`event_from_audit_entry` turns an entry into an
:class:`Event`, whose JSON body is what a subscription receives::

    {
      "id": "6f1c0d2e9b7a4c55a1f3e2d4c6b8a0f1",     stable event id (= webhook-id header)
      "type": "model_version_alias.created",        one of EVENT_TYPES
      "entity": "model_version_alias",              MLflow's native envelope fields ...
      "action": "created",
      "timestamp": "2026-01-31T12:00:00.123Z",      ... when the change was committed
      "actor": "alice",                             who made it (never a client-supplied value)
      "model": "fraud-detector", "version": "4", "alias": "production",
      "seq": 42,                                    position in the audit chain
      "data": {"name": "fraud-detector", "alias": "production", "version": "4",
               "previous_version": "3"}
    }

``data`` is one of the payload dataclasses of :mod:`.payloads`, one per event family. The
package's modules: :mod:`.types` (type names, subscription patterns), :mod:`.payloads` (the
payload classes and their examples), :mod:`.envelope` (:class:`Event`) and :mod:`.from_audit`
(the reading of a stored audit entry, for webhook replay and redelivery). Whoever drafts an
audit entry builds its payload (``AuditDraft.payload``), which the outbox sends with the entry's
envelope (:func:`entry_event`).

Example:
    >>> from mlflow_registry_ext.entities import AuditEntry
    >>> entry = AuditEntry(seq=4, entry_id="e4", timestamp_ms=0, actor="alice",
    ...     action="model_version_alias.created", model="fraud-detector", alias="production",
    ...     version="4", before={"version": "3"}, after={"version": "4"})
    >>> event = event_from_audit_entry(entry)
    >>> event.type, event.data.previous_version
    ('model_version_alias.created', '3')
"""

from __future__ import annotations

from mlflow_registry_ext.events.types import *  # noqa: F403
from mlflow_registry_ext.events.payloads import *  # noqa: F403
from mlflow_registry_ext.events.envelope import *  # noqa: F403
from mlflow_registry_ext.events.from_audit import *  # noqa: F403
from mlflow_registry_ext.events.types import __all__ as _types
from mlflow_registry_ext.events.payloads import __all__ as _payloads
from mlflow_registry_ext.events.envelope import __all__ as _envelope
from mlflow_registry_ext.events.from_audit import __all__ as _from_audit

# The package's names are its modules' own: each lists what it offers in its ``__all__``.
__all__ = [*_types, *_payloads, *_envelope, *_from_audit]
