"""The ``artifact_signature`` part: the OpenSSF model signature and approval attestation made
when an approval request of the version was applied (see docs/approvals.md, signed approvals)."""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.dossier.parts import iso, missing, present
from mlflow_registry_ext.errors import NotFound

__all__ = ["artifact_signature_part"]


def artifact_signature_part(registry: Any, db: Any, model: str, version: str) -> dict:
    """The newest signature of the version in the model's current incarnation, or ``missing``."""
    from mlflow_registry_ext.signing.signatures import find_signature

    try:
        record = find_signature(registry, db, model, str(version))
    except NotFound as exc:
        return missing(exc.message, signed=False, key_id=None, digest=None, request_id=None, target=None,
                       signed_at=None, signature=None, attestation=None)
    return present(
        signed=True,
        key_id=record.key_id,
        digest=record.digest,
        request_id=record.request_id,
        target=f"{record.target_kind} {record.target}",
        signed_at=iso(record.created_at_ms),
        signature=record.signature_bundle,
        attestation=record.attestation,
    )
