"""Reconciling: compare the registry with the state its audit log describes, and record drift.

A change made around the governed store (a plain ``sqlite:///`` client, SQL) leaves the
database different from what the log says. :func:`reconcile` rebuilds the state of a workspace
from the log (:mod:`.replay`), reads it from MLflow's tables (:mod:`.registry_reader`) and
lists every difference (:mod:`.state`). Each run is one row of ``gov_audit_reconciles`` (time,
number of differences, the report). A difference not found by the previous run of the workspace
is recorded as an ``audit.drift_detected`` entry (one per model, delivered to webhooks); one
that persists is reported by every run but alerted once.

When the governance tables share the registry's database, the log and the registry are read in
one repeatable-read transaction, so a governed write committing meanwhile is seen on both sides
or on neither. With a separate governance database, the registry is read first and the intents
of changes committed by then are chained before the log is read.

Example:
    >>> from mlflow import MlflowClient
    >>> plain = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)  # not governed+
    >>> plain.set_registered_model_alias("fraud-model", "production", "1")         # around the log
    >>> result = reconcile(db, store.inner.engine)
    >>> result.ok, [d.describe() for d in result.differences]
    (False, ["fraud-model @production: log says None, database says '1'"])
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any, Iterator

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection, Engine

from mlflow_registry_ext.audit.checkpoint_tables import reconciles
from mlflow_registry_ext.audit.chain import decode_body
from mlflow_registry_ext.audit.registry_reader import has_registry, read_state, workspaces
from mlflow_registry_ext.audit.replay import BASELINE_ACTION, REGISTRY_ACTION_PREFIXES, apply
from mlflow_registry_ext.audit.state import Difference, RegistryState, compare
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.audit import log as audit
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.events.payloads import AuditDriftPayload
from mlflow_registry_ext.workspace import current_workspace
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["ReconcileResult", "DRIFT_ACTION", "reconcile", "reconcile_all", "last_result", "same_database"]

DRIFT_ACTION = "audit.drift_detected"
#: Differences per ``audit.drift_detected`` entry (an entry's body stays well under 64 KiB,
#: the size of a TEXT column on MySQL).
_PER_ENTRY = 100
#: Largest report kept in a run's row; a bigger one keeps its first differences.
_REPORT_BYTES = 60_000


@dataclasses.dataclass(frozen=True)
class ReconcileResult:
    """One reconcile run of one workspace.

    Attributes:
        workspace: The MLflow workspace.
        ok: No difference was found.
        differences: Every difference, sorted by model.
        new: How many of them the previous run had not found (these were alerted).
        models: Registered models in the database.
        versions: Live model versions in the database.
        entries: Audit entries replayed.
        ran_ms: When the run read the database.
        drift_seqs: The ``audit.drift_detected`` entries this run recorded.
    """

    workspace: str
    ok: bool
    differences: tuple[Difference, ...] = ()
    new: int = 0
    models: int = 0
    versions: int = 0
    entries: int = 0
    ran_ms: int = 0
    drift_seqs: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["differences"] = [d.to_dict() for d in self.differences]
        data["drift_seqs"] = list(self.drift_seqs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReconcileResult:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["differences"] = tuple(Difference.from_dict(d) for d in data.get("differences") or ())
        values["drift_seqs"] = tuple(data.get("drift_seqs") or ())
        return cls(**values)


def same_database(db, registry_engine: Engine) -> bool:
    """Whether the governance tables live in the registry's own database."""
    return db.engine.url.render_as_string(hide_password=False) == registry_engine.url.render_as_string(
        hide_password=False)


_REGISTRY_ACTIONS = or_(
    *(audit_log.c.action.like(prefix + "%") for prefix in REGISTRY_ACTION_PREFIXES),
    audit_log.c.action == BASELINE_ACTION,
)


def _replay_log(conn: Connection, workspace: str) -> tuple[RegistryState, int]:
    """The state the log of ``workspace`` describes, and how many entries it took."""
    stmt = (
        select(audit_log.c.body)
        .where(and_(audit_log.c.workspace == workspace, _REGISTRY_ACTIONS))
        .order_by(audit_log.c.seq)
    )
    state: RegistryState = {}
    count = 0
    for (body,) in conn.execute(stmt):
        fields = decode_body(body)
        # The hashed body decides, as for every read of the log (an edited column does not
        # move an entry into another workspace; ``audit verify`` reports the edit).
        if fields.get("workspace", "default") != workspace:
            continue
        apply(state, fields)
        count += 1
    return state, count


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection whose reads all see one state of the database."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            # A deferred transaction: a consistent snapshot, without taking the write lock.
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()


def _read(db, registry_engine: Engine, workspace: str) -> tuple[RegistryState, RegistryState, int]:
    if same_database(db, registry_engine):
        with db.reading() as engine, _snapshot(engine) as conn:
            actual = read_state(conn, workspace) if has_registry(conn) else {}
            expected, count = _replay_log(conn, workspace)
        return expected, actual, count
    with registry_engine.connect() as conn:
        actual = read_state(conn, workspace) if has_registry(conn) else {}
    from mlflow_registry_ext.audit.pending import PendingRelay

    # Changes committed before the read above have their intents committed with them: chain
    # them now, so the log read next describes at least as much as the registry read showed.
    PendingRelay(registry_engine, db).relay()
    with db.reading() as engine, engine.connect() as conn:
        expected, count = _replay_log(conn, workspace)
    return expected, actual, count


def reconcile(db, registry_engine: Engine, workspace: str | None = None, *, record: bool = True,
              now_ms: int | None = None) -> ReconcileResult:
    """Compare the registry of ``workspace`` (default: the caller's) with its audit log.

    Args:
        db: The governance database (a ``GovernanceDatabase``).
        registry_engine: An engine on MLflow's registry database.
        workspace: The workspace to reconcile.
        record: Record the run (a ``gov_audit_reconciles`` row; new drift as entries).
        now_ms: The run's time (default: now).
    """
    workspace = workspace or current_workspace()
    ran_ms = now_ms if now_ms is not None else utc_now_ms()
    expected, actual, count = _read(db, registry_engine, workspace)
    differences = tuple(compare(expected, actual, workspace))
    result = ReconcileResult(
        workspace=workspace,
        ok=not differences,
        differences=differences,
        new=len(differences),
        models=len(actual),
        versions=sum(len(m.versions) for m in actual.values()),
        entries=count,
        ran_ms=ran_ms,
    )
    if record:
        result = _record(db, result)
    return result


def reconcile_all(db, registry_engine: Engine, *, now_ms: int | None = None) -> list[ReconcileResult]:
    """Reconcile every workspace that has registered models or audit entries (the server's
    periodic run)."""
    found: set[str] = set()
    with registry_engine.connect() as conn:
        if has_registry(conn):
            found.update(workspaces(conn))
    with db.reading() as engine, engine.connect() as conn:
        found.update(conn.execute(select(audit_log.c.workspace).distinct()).scalars())
    return [reconcile(db, registry_engine, ws, now_ms=now_ms) for ws in sorted(found)]


def _previous(conn: Connection, workspace: str):
    return conn.execute(
        select(reconciles.c.report)
        .where(reconciles.c.workspace == workspace)
        .order_by(reconciles.c.id.desc())
        .limit(1)
    ).first()


def _identities(report: str | None) -> set[tuple]:
    if not report:
        return set()
    try:
        listed = json.loads(report).get("differences") or ()
    except (ValueError, AttributeError):
        return set()
    return {Difference.from_dict(d).identity for d in listed if isinstance(d, dict)}


def _drafts(workspace: str, new: list[Difference]) -> list[AuditDraft]:
    by_model: dict[str, list[Difference]] = {}
    for difference in new:
        by_model.setdefault(difference.model, []).append(difference)
    drafts = []
    for model, listed in by_model.items():
        for start in range(0, len(listed), _PER_ENTRY):
            chunk = listed[start:start + _PER_ENTRY]
            versions = {d.version for d in chunk}
            differences = [d.to_dict() for d in chunk]
            drafts.append(AuditDraft(
                action=DRIFT_ACTION,
                model=model,
                version=versions.pop() if len(versions) == 1 else None,
                details={"count": len(chunk), "differences": differences},
                workspace=workspace,
                payload=AuditDriftPayload(count=len(chunk), differences=list(differences)),
            ))
    return drafts


def _report(result: ReconcileResult) -> str:
    data = result.to_dict()
    data.pop("drift_seqs")
    text = json.dumps(data, sort_keys=True)
    if len(text) <= _REPORT_BYTES:
        return text
    kept = data["differences"]
    while kept and len(text) > _REPORT_BYTES:
        kept = kept[: len(kept) * 3 // 4]
        text = json.dumps({**data, "differences": kept, "truncated": True}, sort_keys=True)
    return text


def _record(db, result: ReconcileResult) -> ReconcileResult:
    with db.transaction() as conn:
        # Runs of the same workspace (server and CLI) queue here, so each compares with the one
        # before it and the same drift is alerted once.
        stmt = select(audit_head.c.seq).where(audit_head.c.id == 1)
        if conn.dialect.name != "sqlite":
            stmt = stmt.with_for_update()
        conn.execute(stmt)
        previous = _previous(conn, result.workspace)
        seen = _identities(previous.report if previous is not None else None)
        new = [d for d in result.differences if d.identity not in seen]
        entries = audit.append(conn, _drafts(result.workspace, new)) if new else []
        result = dataclasses.replace(result, new=len(new), drift_seqs=tuple(e.seq for e in entries))
        conn.execute(reconciles.insert().values(
            workspace=result.workspace,
            ran_ms=result.ran_ms,
            differences=len(result.differences),
            report=_report(result),
            entry_seq=entries[-1].seq if entries else None,
        ))
    return result


def last_result(db, workspace: str | None = None) -> ReconcileResult | None:
    """The latest recorded run of ``workspace`` (default: the caller's), or ``None``."""
    workspace = workspace or current_workspace()
    with db.reading() as engine, engine.connect() as conn:
        row = conn.execute(
            select(reconciles.c.report, reconciles.c.ran_ms, reconciles.c.entry_seq)
            .where(reconciles.c.workspace == workspace)
            .order_by(reconciles.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    try:
        data = json.loads(row.report)
    except ValueError:
        data = {}
    data.update(workspace=workspace, ran_ms=row.ran_ms)
    data.setdefault("ok", not data.get("differences"))
    return ReconcileResult.from_dict(data)
