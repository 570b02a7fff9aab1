"""Check a model version's files against its stored signature and approval attestation.

In order, stopping at the first failure (raised as :class:`~mlflow_registry_ext.errors.
IntegrityError` naming it): the record was made with the trusted key; the attestation's signature
verifies and it is about this model version; the files' artifact digest is the attested one; the
model signature is the one the attestation names, verifies, and signs exactly these files.

Example:
    >>> report = check_signature(record, public_pem, files, model="fraud", version="7")  # doctest: +SKIP
    >>> report.approvers                                                                  # doctest: +SKIP
    ('alice', 'bob')
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile

from cryptography.hazmat.primitives import serialization

from mlflow_registry_ext.artifacts.digest import ModelDigest
from mlflow_registry_ext.artifacts.model_signature import verify_files
from mlflow_registry_ext.errors import IntegrityError, InvalidInput
from mlflow_registry_ext.signing.attestation import statement_digest, subject_name, verify_attestation
from mlflow_registry_ext.signing.signatures import SignatureRecord
from mlflow_registry_ext.keys import signing_key_id

__all__ = ["SignatureReport", "check_signature"]


@dataclasses.dataclass(frozen=True)
class SignatureReport:
    """What a successful check verified.

    Attributes:
        model: Registered model name.
        version: The version.
        digest: The artifact digest of the files checked (the attested one).
        files_checked: How many files were hashed.
        files_signed: How many of them the model signature covers (all but ``.git*`` paths).
        key_id: The signing key's id.
        request_id: The approval request the attestation records.
        target: The protected alias or stage it was approved for.
        approvers: Who approved.
        policy_digest: The policy it was approved under.
        approved_at: When (RFC 3339).
    """

    model: str
    version: str
    digest: str
    files_checked: int
    files_signed: int
    key_id: str
    request_id: str
    target: str
    approvers: tuple[str, ...]
    policy_digest: str | None
    approved_at: str

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        return {**dataclasses.asdict(self), "ok": True, "approvers": list(self.approvers)}


def check_signature(
    record: SignatureRecord, public_key_pem: bytes | str, files: ModelDigest, *, model: str, version: str
) -> SignatureReport:
    """Check ``files`` (the model as downloaded) against ``record`` with the trusted public key.

    Raises:
        IntegrityError: Naming the first check that failed.
        InvalidInput: ``public_key_pem`` is not a PEM public key.
    """
    pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
    try:
        public_key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidInput(f"Not a PEM public key: {exc}") from None
    trusted_id = signing_key_id(public_key)
    if record.key_id != trusted_id:
        raise IntegrityError(f"key: the signature was made with key {record.key_id}, not the trusted key {trusted_id}")
    statement = verify_attestation(record.attestation, public_key)
    predicate = statement.get("predicate") or {}
    wanted = subject_name(model, str(version))
    if statement["subject"][0].get("name") != wanted or predicate.get("model") != model or str(
        predicate.get("version")
    ) != str(version):
        raise IntegrityError(f"attestation: it is about {statement['subject'][0].get('name')}, not {wanted}")
    attested = statement_digest(statement)
    if files.digest != attested:
        raise IntegrityError(
            f"manifest: the files of {wanted} have artifact digest {files.digest}; the approval attested {attested}"
        )
    bundle_sha = hashlib.sha256(record.signature_bundle.encode("utf-8")).hexdigest()
    if predicate.get("model_signature_sha256") != bundle_sha:
        raise IntegrityError("signature: the model signature is not the one the approval attestation names")
    with tempfile.TemporaryDirectory(prefix="mlflow-signature-") as tmp:
        key_path = os.path.join(tmp, "signing.pub.pem")
        with open(key_path, "wb") as handle:
            handle.write(pem)
        try:
            signed = verify_files(
                record.signature_bundle, files.files, key_path, registered_as=(model, str(version))
            )
        except IntegrityError as exc:
            raise IntegrityError(f"signature: {exc.message}") from None
    return SignatureReport(
        model=model,
        version=str(version),
        digest=attested,
        files_checked=len(files.files),
        files_signed=signed,
        key_id=trusted_id,
        request_id=str(predicate.get("request_id")),
        target=f"{predicate.get('target_kind')} {predicate.get('target')}",
        approvers=tuple(predicate.get("approvers") or ()),
        policy_digest=predicate.get("policy_digest"),
        approved_at=str(predicate.get("approved_at")),
    )
