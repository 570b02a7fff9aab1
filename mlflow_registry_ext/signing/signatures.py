"""Stored model signatures and approval attestations, scoped to the caller's workspace.

Rows are inserted when an approval request is applied and never updated. The one removal is
:meth:`SignatureStore.withdraw`, for the row of a change that failed after it was signed (its
request is released at the same moment, so no signature stands for a change never made).

Example:
    >>> store = SignatureStore(db)
    >>> store.latest("fraud-model", "1") is None     # no approval of version 1 signed yet
    True
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, insert, select

from mlflow_registry_ext.entities import known_fields
from mlflow_registry_ext.errors import NotFound, missing_as_not_found
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.signing.tables import signatures_table
from mlflow_registry_ext.keys import SIGNING_KEY_ENV
from mlflow_registry_ext.workspace import current_workspace

__all__ = ["SignatureRecord", "SignatureStore", "find_signature"]


@dataclasses.dataclass(frozen=True)
class SignatureRecord:
    """The signature and attestation made when one approval request was applied.

    Attributes:
        id: Unique id (32 hex digits).
        workspace: The MLflow workspace of the model.
        model: Registered model name.
        version: The version signed.
        model_created_ms: Creation time of the registered model (its incarnation).
        version_created_ms: Creation time of the version.
        digest: The artifact digest of the signed file list.
        request_id: The approval request that was applied.
        target_kind: ``alias`` or ``stage``.
        target: The protected alias or stage.
        key_id: SHA-256 of the signing key's DER public key.
        signature_bundle: The OpenSSF Model Signing bundle (JSON text; save as ``model.sig``).
        attestation: The DSSE envelope of the in-toto approval statement (JSON text).
        created_at_ms: When it was signed.
    """

    id: str
    workspace: str
    model: str
    version: str
    model_created_ms: int | None
    version_created_ms: int | None
    digest: str
    request_id: str
    target_kind: str
    target: str
    key_id: str
    signature_bundle: str
    attestation: str
    created_at_ms: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``GET /signature`` returns)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignatureRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(**known_fields(cls, data))


class SignatureStore:
    """Reads and writes ``gov_model_signatures``."""

    def __init__(self, db: GovernanceDatabase):
        self.db = db

    def record(self, record: SignatureRecord) -> None:
        """Insert one record (its own transaction)."""
        with self.db.transaction() as conn:
            conn.execute(insert(signatures_table).values(**record.to_dict()))

    def withdraw(self, record_id: str) -> None:
        """Remove the record of a change that failed after it was signed."""
        with self.db.transaction() as conn:
            conn.execute(delete(signatures_table).where(signatures_table.c.id == record_id))

    def latest(self, model: str, version: str, *, model_created_ms: int | None = None) -> SignatureRecord | None:
        """The newest record of a version in the caller's workspace, or ``None``.

        With ``model_created_ms`` only records of that incarnation of the model count.
        """
        t = signatures_table
        query = select(t).where(t.c.workspace == current_workspace(), t.c.model == model, t.c.version == str(version))
        if model_created_ms is not None:
            query = query.where(t.c.model_created_ms == model_created_ms)
        query = query.order_by(t.c.created_at_ms.desc(), t.c.id.desc()).limit(1)
        with self.db.reading() as engine, engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return SignatureRecord(**row) if row else None


def find_signature(inner_store: Any, db: GovernanceDatabase, model: str, version: str) -> SignatureRecord:
    """The newest signature of a version of the model as it exists now (its current incarnation).

    Raises:
        NotFound: The model or version does not exist, or the version was never signed.
    """
    with missing_as_not_found(f"Model version {model} {version} does not exist"):
        created = inner_store.get_registered_model(model).creation_timestamp
        inner_store.get_model_version(model, str(version))
    record = SignatureStore(db).latest(model, str(version), model_created_ms=created)
    if record is None:
        raise NotFound(
            f"Model version {model} {version} has no signature: it was not promoted by an approval "
            f"request while a signing key ({SIGNING_KEY_ENV}) was configured"
        )
    return record
