"""Audit entries for a governance database that is *not* the registry database.

A change and its entry can then not share one transaction. Instead the registry transaction
writes an *intent* row into ``gov_audit_pending`` in the registry database (it commits or rolls
back with the change), and a relay moves intents onto the audit chain in the governance database
right after the commit. If a process dies in between, the intent survives and the next store to
start (or the next relay) chains it. Relaying is idempotent: each entry keeps the id it was
given when the intent was written, and an id already on the chain is not appended twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import uuid

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, delete, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.tables import audit_log as audit_table
from mlflow_registry_ext.entities import AuditEntry
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.workspace import DEFAULT_WORKSPACE, current_workspace
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["PendingRelay"]

_log = logging.getLogger(__name__)

pending = Table(
    "gov_audit_pending",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("created_ms", BigInteger, nullable=False, index=True),
    Column("payload", Text, nullable=False),
)


class PendingRelay:
    """Writes intents in registry transactions and chains them in the governance database."""

    def __init__(self, registry_engine: Engine, governance_db: GovernanceDatabase):
        self.registry_engine = registry_engine
        self.governance_db = governance_db
        # The event payloads of the drafts this process staged, by intent: an intent relayed here
        # announces them; one relayed elsewhere (after a crash) is read like a stored entry.
        self._payloads: dict[str, list] = {}
        self._payloads_lock = threading.Lock()
        try:
            pending.create(registry_engine, checkfirst=True)
        except (OperationalError, ProgrammingError):
            # Another worker created it at the same moment.
            if not inspect(registry_engine).has_table(pending.name):
                raise

    def stage(self, conn: Connection, drafts: list[AuditDraft]) -> str:
        """Record ``drafts`` as an intent inside the registry transaction of ``conn``."""
        who = identity.current()
        intent_id = uuid.uuid4().hex
        workspace = current_workspace()
        payload = {
            "timestamp_ms": utc_now_ms(),
            "who": {"actor": who.actor, "request_id": who.request_id,
                    "client_addr": who.client_addr},
            "entry_ids": [uuid.uuid4().hex for _ in drafts],
            "drafts": [
                {"action": d.action, "model": d.model, "version": d.version, "alias": d.alias,
                 "before": d.before, "after": d.after, "details": d.details,
                 "workspace": d.workspace or workspace}
                for d in drafts
            ],
        }
        conn.execute(
            pending.insert(),
            {"id": intent_id, "created_ms": payload["timestamp_ms"],
             "payload": json.dumps(payload, sort_keys=True, default=str)},
        )
        with self._payloads_lock:
            self._payloads[intent_id] = [d.payload for d in drafts]
        return intent_id

    def relay(self, intent_ids: list[str] | None = None) -> list[AuditEntry]:
        """Chain the given intents (default: every pending one, oldest first)."""
        stmt = select(pending.c.id, pending.c.payload).order_by(pending.c.created_ms)
        if intent_ids is not None:
            if not intent_ids:
                return []
            stmt = stmt.where(pending.c.id.in_(intent_ids))
        with self.registry_engine.connect() as conn:
            rows = conn.execute(stmt).all()
        # The given intents' payloads are dropped even if their transaction rolled back (no row).
        ids = list(intent_ids) if intent_ids is not None else [i for i, _ in rows]
        with self._payloads_lock:
            payloads = {i: self._payloads.pop(i) for i in ids if i in self._payloads}
        entries: list[AuditEntry] = []
        for intent_id, text in rows:
            entries.extend(self._relay_one(intent_id, json.loads(text), payloads.get(intent_id)))
            with self.registry_engine.begin() as conn:
                conn.execute(delete(pending).where(pending.c.id == intent_id))
        return entries

    def _relay_one(self, intent_id: str, payload: dict, event_payloads: list | None = None) -> list[AuditEntry]:
        entry_ids = payload["entry_ids"]
        # Intents written before workspaces existed belong to ``default``, whoever relays them.
        drafts = [AuditDraft(**{"workspace": DEFAULT_WORKSPACE, **d}) for d in payload["drafts"]]
        if event_payloads is not None and len(event_payloads) == len(drafts):
            drafts = [dataclasses.replace(d, payload=p) for d, p in zip(drafts, event_payloads)]
        try:
            with self.governance_db.transaction() as conn:
                done = conn.execute(
                    select(audit_table.c.entry_id).where(audit_table.c.entry_id == entry_ids[0])
                ).first()
                if done:
                    return []
                return audit_log.append(
                    conn,
                    drafts,
                    who=identity.RequestIdentity(**payload["who"]),
                    timestamp_ms=payload["timestamp_ms"],
                    entry_ids=entry_ids,
                )
        except IntegrityError:
            # A concurrent relay chained the same intent first.
            _log.debug("intent %s was relayed by another process", intent_id)
            return []
