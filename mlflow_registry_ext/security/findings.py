"""What a scanner says about a folder of model files: findings, skipped files, errors. Pure.

Example:
    >>> Finding("model.pkl", "critical", "Use of unsafe operator 'system' from module 'posix'").describe()
    "critical: Use of unsafe operator 'system' from module 'posix' in model.pkl"
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

from mlflow_registry_ext.policy import SCAN_SEVERITIES

__all__ = ["Finding", "Skipped", "ScanOutcome", "highest_severity", "severity_rank"]


def severity_rank(severity: str | None) -> int:
    """Position of ``severity`` in :data:`~mlflow_registry_ext.policy.SCAN_SEVERITIES` (-1: none);
    an unknown severity ranks above ``critical``, so it is never taken for harmless."""
    if severity is None:
        return -1
    return SCAN_SEVERITIES.index(severity) if severity in SCAN_SEVERITIES else len(SCAN_SEVERITIES)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One dangerous thing found in one file.

    Attributes:
        file: Path relative to the model's root, ``/``-separated.
        severity: ``low``, ``medium``, ``high`` or ``critical``.
        description: What the scanner says.
        module: The module of the unsafe operator, when the scanner names one (``posix``).
        operator: The operator (``system``).
        scanner: The scanner part that found it.
    """

    file: str
    severity: str
    description: str
    module: str | None = None
    operator: str | None = None
    scanner: str | None = None

    def describe(self) -> str:
        return f"{self.severity}: {self.description} in {self.file}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A file the scanner did not read, and why (e.g. a format it has no scanner for)."""

    file: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skipped:
        return cls(file=data["file"], reason=data["reason"])


@dataclasses.dataclass(frozen=True)
class ScanOutcome:
    """What one scanner run reported.

    Attributes:
        scanned: Files it read.
        findings: Dangerous things found, per file.
        skipped: Files it did not read, with the reason.
        errors: Problems that kept it from judging a file (any error fails the scan).
    """

    scanned: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    errors: tuple[str, ...] = ()


def highest_severity(findings: Iterable[Finding]) -> Finding | None:
    """The finding of the highest severity (the first of them), or ``None``."""
    worst = None
    for finding in findings:
        if worst is None or severity_rank(finding.severity) > severity_rank(worst.severity):
            worst = finding
    return worst
