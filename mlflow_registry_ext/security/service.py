"""Scan a model version's files and record the report: the one library call behind version
creation, the Python client, the CLI and the REST API.

Steps: the version must exist; its files are read locally (downloaded when the store is not
local); the scanner runs over them offline while the files are hashed beside it; the report is
bound to the digest of exactly those files and written with its audit entry; a model under a
protecting rule gets the short ``governance.scan`` tag. Anything that goes wrong after the version
was found (unreadable artifacts, no scanner, a scanner crash) becomes a recorded ``error``
report: never a pass, never a missing record.

Example:
    >>> import os, pathlib, pickle
    >>> _ = pathlib.Path(model_dir, "model.pkl").write_bytes(pickle.dumps(os.system))  # names os.system
    >>> version = store.create_model_version("fraud-model", model_dir).version
    >>> report = scan_version(db, store.inner, "fraud-model", version)
    >>> report.status, report.describe()
    ('findings', "critical: Use of unsafe operator 'system' from module 'posix' in model.pkl")
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from typing import Any


from mlflow_registry_ext.errors import InvalidInput, missing_as_not_found
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.policy import Policy, Rule
from mlflow_registry_ext.security.files import local_model
from mlflow_registry_ext.security.findings import ScanOutcome
from mlflow_registry_ext.security.records import ScanStore
from mlflow_registry_ext.security.report import ScanReport
from mlflow_registry_ext.security.scanners import Scanner, default_scanner
from mlflow_registry_ext.db.incarnation import live_model_created_ms
from mlflow_registry_ext import settings

__all__ = ["SCAN_TAG", "SCAN_ON_CREATE_ENV", "scan_on_create", "scan_version"]

_log = logging.getLogger(__name__)

#: The read-only version tag showing the newest scan: ``clean``, ``error`` or the highest severity.
SCAN_TAG = "governance.scan"

#: ``auto`` (default): scan new versions of models whose rule sets ``require.security_scan``;
#: ``true``: scan every new version; ``false``: scan only on demand.
SCAN_ON_CREATE_ENV = settings.SCAN_ON_CREATE.name


def scan_on_create(rule: Rule | None) -> bool:
    """Whether a new version under ``rule`` is scanned when it is created."""
    mode = (settings.SCAN_ON_CREATE.get() or "auto").lower()
    if mode in ("1", "true", "yes", "on"):
        return True
    if mode in ("0", "false", "no", "off"):
        return False
    return bool(rule is not None and rule.require.security_scan)


def _version(inner_store: Any, model: str, version: str):
    with missing_as_not_found(f"Model version {model} {version} does not exist"):
        return inner_store.get_model_version(model, version)


def _describe(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


def _scan_files(inner_store: Any, model: str, version: str, scanner: Scanner | None):
    """``(outcome, digest, total_bytes, scanner_name, scanner_version)``; failures become errors."""
    name, tool_version = getattr(scanner, "name", "none"), None
    try:
        scanner = scanner or default_scanner()
        name, tool_version = scanner.name, scanner.version
    except Exception as exc:  # noqa: BLE001 - no scanner is an error report, not a crash
        return ScanOutcome(errors=(_describe(exc),)), None, 0, name, tool_version
    try:
        uri = inner_store.get_model_version_download_uri(model, version)
        with local_model(uri) as local:
            # Hashing (hashlib frees the GIL) runs beside the scanner over the same files.
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                hashed = pool.submit(local.files)
                try:
                    outcome = scanner.scan(local.root)
                except Exception as exc:  # noqa: BLE001 - a scanner crash is recorded, never a pass
                    outcome = ScanOutcome(errors=(f"{name} crashed: {_describe(exc)}",))
                files = hashed.result()
            if not files:
                outcome = ScanOutcome(errors=(f"No artifact files at {uri}",))
            return outcome, local.digest(), sum(f.size for f in files), name, tool_version
    except Exception as exc:  # noqa: BLE001 - unreadable artifacts: recorded as an error
        return ScanOutcome(errors=(_describe(exc),)), None, 0, name, tool_version


def scan_version(
    db: GovernanceDatabase,
    inner_store: Any,
    model: str,
    version: str | int,
    *,
    policy: Policy | None = None,
    scanner: Scanner | None = None,
    trigger: str = "on_demand",
) -> ScanReport:
    """Scan the files of a model version and record the report.

    Args:
        db: The governance database the report goes to.
        inner_store: An MLflow registry store holding the version (a governed store's ``inner``).
        model: Registered model name.
        version: Model version.
        policy: The policy: a model its rules protect gets the ``governance.scan`` tag.
        scanner: The scanner; default :func:`~mlflow_registry_ext.security.scanners.default_scanner`.
        trigger: ``created`` or ``on_demand``, recorded with the report.

    Returns:
        The recorded report; ``status`` is ``clean``, ``findings`` or ``error``.

    Raises:
        NotFound: The model version does not exist (nothing is recorded).
        InvalidInput: ``version`` is not a version number.
    """
    version = str(version)
    if not version.isascii() or not version.isdigit():
        raise InvalidInput(f"version must be a version number, got {version!r}")
    _version(inner_store, model, version)
    started = time.monotonic()
    outcome, digest, total, name, tool_version = _scan_files(inner_store, model, version, scanner)
    report = ScanReport.from_outcome(
        outcome,
        model=model,
        version=version,
        model_created_ms=live_model_created_ms(inner_store, model),
        artifact_digest=digest,
        scanner=name,
        scanner_version=tool_version,
        duration_ms=int((time.monotonic() - started) * 1000),
        total_bytes=total,
        trigger=trigger,
    )
    saved = ScanStore(db).record(report)
    _tag(inner_store, policy, saved)
    return saved


def _tag(inner_store: Any, policy: Policy | None, report: ScanReport) -> None:
    from mlflow.entities.model_registry import ModelVersionTag

    # Like the status tags: only models a rule protects show anything.
    rule = policy.rule_for(report.model) if policy is not None else None
    if rule is None or not rule.protects_anything:
        return
    inner_store.set_model_version_tag(report.model, report.version, ModelVersionTag(SCAN_TAG, report.tag_value))
