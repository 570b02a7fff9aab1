"""What the gate and the approval store need to know about a model version, read from the
registry (through the wrapped MLflow store), the fairness records and the artifacts.

Example:
    >>> state = read_version(store.inner, "fraud-model", "1")
    >>> state.creator, state.tags.get("owner"), state.aliases
    ('frank', 'risk', ())
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.fairness.facts import fairness_facts
from mlflow_registry_ext.fairness.records import FairnessStore
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.policy import FairnessFact, SecurityScanFact

__all__ = [
    "VersionState",
    "DigestReading",
    "read_version",
    "read_digest",
    "read_fairness",
    "read_security_scan",
    "alias_version",
]


@dataclasses.dataclass(frozen=True)
class VersionState:
    """A model version as the registry holds it now.

    Attributes:
        model: Registered model name.
        version: Version number, as text.
        creator: ``ModelVersion.user_id`` (the governed store stamps the actor when it is empty).
        created_ms: Creation time; with ``model`` and ``version`` it names one version for good,
            even if the model is deleted and a new one with the same name and number appears.
        tags: The version's tags.
        description: Its description.
        stage: Its current stage.
        aliases: The aliases pointing at it.
    """

    model: str
    version: str
    creator: str | None
    created_ms: int | None
    tags: dict[str, str]
    description: str | None
    stage: str | None
    aliases: tuple[str, ...]

    @classmethod
    def of(cls, mv: Any) -> VersionState:
        """The state of an MLflow ``ModelVersion`` entity."""
        return cls(
            model=mv.name,
            version=str(mv.version),
            creator=mv.user_id or None,
            created_ms=mv.creation_timestamp,
            tags=dict(mv.tags or {}),
            description=mv.description,
            stage=mv.current_stage,
            aliases=tuple(mv.aliases or ()),
        )


@dataclasses.dataclass(frozen=True)
class DigestReading:
    """The artifact digest of a version, or why it could not be computed."""

    digest: str | None
    problem: str | None = None


def read_version(inner_store: Any, model: str, version: str | int) -> VersionState:
    """The version's state; raises MLflow's own error when it does not exist."""
    return VersionState.of(inner_store.get_model_version(model, str(version)))


def alias_version(inner_store: Any, model: str, alias: str) -> str | None:
    """The version ``alias`` points to, or ``None`` when the model has no such alias."""
    from mlflow.exceptions import MlflowException

    try:
        mv = inner_store.get_model_version_by_alias(model, alias)
    except MlflowException as exc:
        # MLflow answers a missing alias with INVALID_PARAMETER_VALUE, a missing model with
        # RESOURCE_DOES_NOT_EXIST; for the gate both mean "not set".
        if exc.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            return None
        raise
    return str(mv.version)


def read_fairness(
    db: GovernanceDatabase, model: str, version: str | int, model_created_ms: int | None = None
) -> tuple[FairnessFact, ...]:
    """The newest fairness record of each check of the version, as policy facts (with
    ``model_created_ms``, of that incarnation of the model only)."""
    store = FairnessStore(db)
    return tuple(fairness_facts(store.latest(model, str(version), model_created_ms=model_created_ms)))


def read_security_scan(
    db: GovernanceDatabase, inner_store: Any, model: str, version: str | int, digest: str | None
) -> SecurityScanFact | None:
    """The newest scan of exactly the files with ``digest``, as a policy fact.

    ``None`` when the digest is unknown (the files could not be read) or no scan covers them: a
    scan of other artifacts says nothing about these.
    """
    from mlflow_registry_ext.security.records import ScanStore
    from mlflow_registry_ext.db.incarnation import live_model_created_ms

    if not digest:
        return None
    report = ScanStore(db).latest(
        model, str(version), model_created_ms=live_model_created_ms(inner_store, model), artifact_digest=digest
    )
    return report.fact() if report else None


def read_digest(inner_store: Any, model: str, version: str | int) -> DigestReading:
    """The artifact digest of the version's files, or the reason it is unknown.

    Never raises for unreadable artifacts: a version whose files cannot be read simply has no
    digest, and a rule that requires one refuses it with the reason.
    """
    uri = None
    try:
        uri = inner_store.get_model_version_download_uri(model, str(version))
        return DigestReading(model_digest(uri, tracking_uri=getattr(inner_store, "tracking_uri", None)).digest)
    # model_digest raises coded errors, but artifact repositories underneath can still raise
    # anything (OSError, botocore errors); every one of them means "the digest is unknown".
    except Exception as exc:  # noqa: BLE001
        where = f" at {uri}" if uri else ""
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return DigestReading(None, f"cannot read the artifacts of version {version}{where}: {detail}")
