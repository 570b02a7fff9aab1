"""A recorded security scan of one model version's files. Pure.

A report is bound to the artifact digest of exactly the files that were scanned; it is written
once and never changed (a new scan is a new report).

Example:
    >>> from mlflow_registry_ext.security.findings import Finding
    >>> report = ScanReport(model="fraud-model", version="1", scanner="modelscan", scanner_version=None,
    ...     status="findings", findings=(Finding("model.pkl", "critical", "Use of unsafe operator"),))
    >>> report.status, report.highest_severity, report.tag_value
    ('findings', 'critical', 'critical')
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Mapping

from mlflow_registry_ext.entities import known_fields
from mlflow_registry_ext.policy import SecurityScanFact
from mlflow_registry_ext.security.findings import Finding, ScanOutcome, Skipped, highest_severity

__all__ = ["STATUSES", "ScanReport"]

#: ``clean``: nothing found; ``findings``: something found; ``error``: the scan failed (never a pass).
STATUSES: tuple[str, ...] = ("clean", "findings", "error")


@dataclasses.dataclass(frozen=True)
class ScanReport:
    """The result of scanning a model version's files.

    Attributes:
        id: Unique id (32 hex digits).
        model: Registered model name.
        version: Model version.
        model_created_ms: The registered model's creation time (its incarnation).
        workspace: The MLflow workspace it belongs to.
        artifact_digest: Digest of the files scanned (``None`` when they could not be read).
        scanner: ``modelscan`` or ``picklescan``.
        scanner_version: Its version.
        status: One of :data:`STATUSES`.
        scanned: Files read.
        findings: Findings, per file, with severity.
        skipped: Files not read, and why.
        errors: Why the scan failed (for ``error``).
        duration_ms: How long scanning took.
        total_bytes: Bytes of the files scanned.
        trigger: ``created`` (on version creation) or ``on_demand``.
        actor: Who ran it (filled in by the store).
        created_at_ms: When it was recorded (filled in by the store).
    """

    model: str
    version: str
    scanner: str
    scanner_version: str | None
    status: str
    artifact_digest: str | None = None
    model_created_ms: int | None = None
    workspace: str = "default"
    scanned: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    errors: tuple[str, ...] = ()
    duration_ms: int = 0
    total_bytes: int = 0
    trigger: str = "on_demand"
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    actor: str | None = None
    created_at_ms: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "version", str(self.version))
        for name in ("scanned", "findings", "skipped", "errors"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def from_outcome(cls, outcome: ScanOutcome, **fields: Any) -> ScanReport:
        """The report of a scanner run: ``error`` when it reported any error, else ``findings``
        or ``clean``."""
        status = "error" if outcome.errors else ("findings" if outcome.findings else "clean")
        return cls(
            status=status,
            scanned=outcome.scanned,
            findings=outcome.findings,
            skipped=outcome.skipped,
            errors=outcome.errors,
            **fields,
        )

    @property
    def worst(self) -> Finding | None:
        return highest_severity(self.findings)

    @property
    def highest_severity(self) -> str | None:
        worst = self.worst
        return worst.severity if worst else None

    @property
    def tag_value(self) -> str:
        """The ``governance.scan`` tag: ``clean``, ``error``, or the highest severity found."""
        if self.status == "findings":
            return self.highest_severity or "findings"
        return self.status

    def describe(self) -> str:
        """One line, e.g. ``critical: Use of unsafe operator 'system' ... in model.pkl`` or ``clean``."""
        if self.status == "error":
            return "error: " + "; ".join(self.errors)
        if self.status == "findings":
            extra = len(self.findings) - 1
            return self.worst.describe() + (f" (and {extra} more)" if extra else "")
        return f"clean ({len(self.scanned)} scanned, {len(self.skipped)} skipped)"

    def fact(self) -> SecurityScanFact:
        """The report as the promotion gate judges it."""
        worst = self.worst
        return SecurityScanFact(
            status=self.status,
            artifact_digest=self.artifact_digest,
            highest_severity=worst.severity if worst else None,
            worst_finding=worst.describe() if worst else None,
            error="; ".join(self.errors) or None,
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(
            scanned=list(self.scanned),
            findings=[f.to_dict() for f in self.findings],
            skipped=[s.to_dict() for s in self.skipped],
            errors=list(self.errors),
            highest_severity=self.highest_severity,
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanReport:
        values = known_fields(cls, data)
        values["findings"] = tuple(Finding.from_dict(f) for f in data.get("findings") or ())
        values["skipped"] = tuple(Skipped.from_dict(s) for s in data.get("skipped") or ())
        values["scanned"] = tuple(data.get("scanned") or ())
        values["errors"] = tuple(data.get("errors") or ())
        return cls(**values)
