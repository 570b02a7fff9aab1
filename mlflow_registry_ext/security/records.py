"""Security scan records: their table and the store that writes and reads them.

A report is inserted once and never updated; writing it chains a ``security_scan.recorded``
audit entry in the same transaction (the webhook outbox rides on the audit entry), so a report
exists together with its audit entry or not at all. Every read is scoped to the caller's
workspace and the registered model's incarnation (``model_created_ms``).

Example:
    >>> from mlflow_registry_ext.security.report import ScanReport
    >>> store = ScanStore(db)
    >>> saved = store.record(ScanReport(model="fraud-model", version="1", scanner="modelscan",
    ...     scanner_version="0.8", status="clean"))
    >>> store.latest("fraud-model", "1").status
    'clean'
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, select
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.metadata import metadata
from mlflow_registry_ext.errors import AlreadyExists, NotFound
from mlflow_registry_ext.entities import values_of
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.events.payloads import SecurityScanPayload
from mlflow_registry_ext.security.report import ScanReport
from mlflow_registry_ext.workspace import WORKSPACE_COLUMN_LENGTH, current_workspace
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["RECORDED_ACTION", "security_scans_table", "ScanStore"]

#: The audit action (and webhook event) of a recorded scan.
RECORDED_ACTION = "security_scan.recorded"

security_scans_table = Table(
    "gov_security_scans",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("workspace", String(WORKSPACE_COLUMN_LENGTH), nullable=False, server_default="default"),
    Column("model", String(256), nullable=False),
    Column("version", String(32), nullable=False),
    Column("model_created_ms", BigInteger),
    Column("artifact_digest", String(80)),
    Column("scanner", String(64), nullable=False),
    Column("scanner_version", String(64)),
    Column("status", String(16), nullable=False),
    Column("highest_severity", String(16)),
    Column("actor", String(256), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("body", Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
)


def _audit_draft(report: ScanReport) -> AuditDraft:
    worst = report.worst
    found = {"findings": len(report.findings), "worst_finding": worst.describe() if worst else None}
    details = {
        **values_of(report, "scanner", "scanner_version", "trigger", "model_created_ms"),
        "scanned": len(report.scanned),
        "skipped": len(report.skipped),
        "errors": list(report.errors)[:5],
    }
    return AuditDraft(
        action=RECORDED_ACTION,
        model=report.model,
        version=report.version,
        after={**values_of(report, "id", "status", "artifact_digest", "highest_severity"), **found},
        details=details,
        payload=SecurityScanPayload(
            scan_id=report.id,
            name=report.model,
            version=None if report.version is None else str(report.version),
            status=report.status,
            artifact_digest=report.artifact_digest,
            highest_severity=report.highest_severity,
            details={**details, **found},
        ),
    )


class ScanStore:
    """Writes and reads security scan reports in the governance database."""

    def __init__(self, db: GovernanceDatabase):
        self.db = db

    def record(self, report: ScanReport) -> ScanReport:
        """Write ``report`` and its audit entry in one transaction.

        The store sets ``actor``, ``workspace`` and ``created_at_ms``.

        Raises:
            AlreadyExists: A report with the same id exists (reports are immutable).
        """
        saved = dataclasses.replace(
            report,
            actor=identity.current_actor(),
            workspace=current_workspace(),
            created_at_ms=utc_now_ms(),
        )
        row = {
            "id": saved.id,
            "workspace": saved.workspace,
            "model": saved.model,
            "version": saved.version,
            "model_created_ms": saved.model_created_ms,
            "artifact_digest": saved.artifact_digest,
            "scanner": saved.scanner,
            "scanner_version": saved.scanner_version,
            "status": saved.status,
            "highest_severity": saved.highest_severity,
            "actor": saved.actor,
            "created_at_ms": saved.created_at_ms,
            "body": json.dumps(saved.to_dict(), sort_keys=True, separators=(",", ":")),
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(security_scans_table.insert(), [row])
                audit_log.append(conn, [_audit_draft(saved)])
        except SqlIntegrityError as exc:
            raise AlreadyExists(f"A security scan with id {saved.id} is already recorded") from exc
        return saved

    def _select(self, model: str, version: str | int | None, model_created_ms: int | None):
        t = security_scans_table
        stmt = select(t.c.body).where(t.c.workspace == current_workspace(), t.c.model == model)
        if version is not None:
            stmt = stmt.where(t.c.version == str(version))
        if model_created_ms is not None:
            stmt = stmt.where(t.c.model_created_ms == int(model_created_ms))
        return stmt

    def list(
        self, model: str, version: str | int | None = None, *, model_created_ms: int | None = None
    ) -> list[ScanReport]:
        """Every report of ``model`` (and ``version``) in this workspace, oldest first; with
        ``model_created_ms`` only those of that incarnation of the model."""
        stmt = self._select(model, version, model_created_ms).order_by(security_scans_table.c.seq)
        with self.db.reading() as engine, engine.connect() as conn:
            return [ScanReport.from_dict(json.loads(body)) for (body,) in conn.execute(stmt)]

    def latest(
        self,
        model: str,
        version: str | int,
        *,
        model_created_ms: int | None = None,
        artifact_digest: str | None = None,
    ) -> ScanReport | None:
        """The newest report of the version (of those for ``artifact_digest``, when given)."""
        stmt = self._select(model, version, model_created_ms)
        if artifact_digest is not None:
            stmt = stmt.where(security_scans_table.c.artifact_digest == artifact_digest)
        stmt = stmt.order_by(security_scans_table.c.seq.desc()).limit(1)
        with self.db.reading() as engine, engine.connect() as conn:
            body = conn.execute(stmt).scalar()
        return ScanReport.from_dict(json.loads(body)) if body is not None else None

    def get(self, scan_id: str) -> ScanReport:
        """The report with ``scan_id`` in this workspace.

        Raises:
            NotFound: No such report.
        """
        t = security_scans_table
        stmt = select(t.c.body).where(t.c.id == scan_id, t.c.workspace == current_workspace())
        with self.db.reading() as engine, engine.connect() as conn:
            body = conn.execute(stmt).scalar()
        if body is None:
            raise NotFound(f"No security scan with id {scan_id!r}")
        return ScanReport.from_dict(json.loads(body))
