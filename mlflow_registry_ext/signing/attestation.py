"""Approval attestations: an in-toto Statement v1 saying who approved which bytes, in a DSSE
envelope signed with the signing key.

The statement's subject is the model version (``models:/<name>/<version>``) with its artifact
digest (the SHA-256 of its file list, see :mod:`~mlflow_registry_ext.artifacts.digest`); its
predicate (type :data:`PREDICATE_TYPE`) records the model, version, digest, the approval request,
the approvers that counted, the policy digest, the protected target and the time. It also names
the SHA-256 of the model signature bundle made at the same moment, so the two cannot be paired
differently later. Statement and envelope come from ``sigstore.dsse`` (the library
``model_signing`` signs with), so any DSSE/in-toto tool reads them.

Example:
    >>> from cryptography.hazmat.primitives.asymmetric import ec
    >>> key = ec.generate_private_key(ec.SECP256R1())
    >>> envelope = sign_attestation(key, "fraud-model/7", "sha256:" + "ab" * 32, {"approvers": ["alice", "bob"]})
    >>> verify_attestation(envelope, key.public_key())["predicate"]["approvers"]
    ['alice', 'bob']
"""

from __future__ import annotations

import base64
import json
from typing import Any

from mlflow_registry_ext.artifacts.digest import DIGEST_PREFIX
from mlflow_registry_ext.errors import IntegrityError, InvalidInput

__all__ = [
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "sign_attestation",
    "verify_attestation",
    "subject_name",
    "statement_digest",
    "payload_of",
]

PREDICATE_TYPE = "https://mlflow-registry-ext/approval/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def subject_name(model: str, version: str) -> str:
    """The subject name of a model version: ``models:/<name>/<version>``."""
    return f"models:/{model}/{version}"


def sign_attestation(private_key, name: str, digest: str, predicate: dict[str, Any]) -> str:
    """Sign an in-toto statement about ``name`` (with artifact ``digest``) as a DSSE envelope.

    Args:
        private_key: The ECDSA P-256 signing key (``cryptography`` object).
        name: The subject's name, e.g. ``models:/fraud-model/7``.
        digest: The subject's ``sha256:<hex>`` artifact digest.
        predicate: The approval record (JSON-ready).

    Returns:
        The DSSE envelope as JSON text.
    """
    from sigstore import dsse

    if not digest.startswith(DIGEST_PREFIX):
        raise InvalidInput(f"Not a sha256 artifact digest: {digest!r}")
    subject = dsse.Subject(name=name, digest=dsse.DigestSet(root={"sha256": digest[len(DIGEST_PREFIX):]}))
    statement = dsse.StatementBuilder([subject], PREDICATE_TYPE, predicate).build()
    # sigstore.dsse's own signing: PAE, ECDSA-SHA256, one signature (the DSSE v1 envelope).
    return dsse._sign(private_key, statement).to_json()


def verify_attestation(envelope_json: str, public_key) -> dict[str, Any]:
    """Check the envelope's signature with ``public_key`` and return the statement it signs.

    Raises:
        IntegrityError: The envelope is malformed, signed by another key, or not an approval
            statement.
    """
    from sigstore import dsse

    try:
        envelope = dsse.Envelope._from_json(envelope_json)
    except Exception as exc:  # noqa: BLE001 - pydantic and DSSE raise several kinds
        raise IntegrityError(f"The approval attestation is not a DSSE envelope: {exc}") from None
    if envelope._inner.payload_type != _PAYLOAD_TYPE:
        raise IntegrityError(f"The approval attestation has payload type {envelope._inner.payload_type!r}")
    try:
        payload = dsse._verify(public_key, envelope)
    except dsse.VerificationError:
        raise IntegrityError("The approval attestation's signature does not verify with this key") from None
    try:
        statement = json.loads(payload)
    except ValueError:
        raise IntegrityError("The approval attestation's payload is not JSON") from None
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise IntegrityError("The approval attestation is not an approval statement")
    subjects = statement.get("subject") or []
    if len(subjects) != 1 or "sha256" not in (subjects[0].get("digest") or {}):
        raise IntegrityError("The approval attestation must name one subject with a sha256 digest")
    return statement


def statement_digest(statement: dict[str, Any]) -> str:
    """The ``sha256:<hex>`` artifact digest a verified statement's subject carries."""
    return DIGEST_PREFIX + statement["subject"][0]["digest"]["sha256"]


def payload_of(envelope_json: str) -> dict[str, Any]:
    """The statement inside an envelope, unverified (for display only)."""
    return json.loads(base64.b64decode(json.loads(envelope_json)["payload"]))
