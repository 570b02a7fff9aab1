"""Signing what an applied approval request promotes: the model signature and the attestation.

With ``MLFLOW_GOVERNANCE_SIGNING_KEY`` unset, nothing is signed (promotions work as before and
``GET /signature`` answers 404). With it set, the key must load as an ECDSA P-256 private key and
``model_signing`` must be importable, or the registry store, and so the server, refuses to start:
a deployment that meant to sign never silently stops signing.

The gate calls :meth:`ApprovalSigner.sign` after it claimed the request and before the registry
change is made: if signing fails, the claim is given back and the change is refused, so there is
never a promotion by an approved request without its signature.

Example:
    >>> signer = ApprovalSigner.from_env()      # None when no key is configured
    >>> record = signer.sign(...)               # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import hashlib
import os
import uuid
from typing import Any

from mlflow_registry_ext import keys
from mlflow_registry_ext.artifacts.digest import ModelDigest
from mlflow_registry_ext.artifacts.model_signature import sign_files
from mlflow_registry_ext.entities import ApprovalRequest
from mlflow_registry_ext.errors import IntegrityError, InvalidInput
from mlflow_registry_ext.signing.attestation import sign_attestation, subject_name
from mlflow_registry_ext.signing.signatures import SignatureRecord
from mlflow_registry_ext.workspace import current_workspace
from mlflow_registry_ext import settings

__all__ = ["ApprovalSigner"]


class ApprovalSigner:
    """Signs model versions with the server's signing key.

    Args:
        key_path: Path of the ECDSA P-256 PKCS#8 PEM private key.
    """

    def __init__(self, key_path: str | os.PathLike):
        self.key_path = os.fspath(key_path)
        key = keys.load_signing_key(self.key_path)
        if key is None:
            raise InvalidInput(f"No signing key at {self.key_path!r}")
        self._key = key
        self.key_id = keys.signing_key_id(key.public_key())
        self.public_pem = keys.public_pem(key.public_key()).decode("ascii")
        try:
            import model_signing  # noqa: F401
            import OpenSSL  # noqa: F401  model_signing imports it without declaring it
        except ImportError as exc:
            raise InvalidInput(
                f"{keys.SIGNING_KEY_ENV} is set but model signing is not installed "
                f"(pip install 'mlflow-registry-ext[signing]'): {exc}"
            ) from None

    @classmethod
    def from_env(cls) -> ApprovalSigner | None:
        """The signer ``MLFLOW_GOVERNANCE_SIGNING_KEY`` names, ``None`` when it is unset.

        Raises:
            InvalidInput: It is set but the key cannot be used.
        """
        path = settings.SIGNING_KEY.get()
        return cls(path) if path else None

    def sign(
        self,
        *,
        request: ApprovalRequest,
        approvers: tuple[str, ...] | list[str],
        policy_digest: str | None,
        files: ModelDigest,
        model_created_ms: int | None,
        version_created_ms: int | None,
        now_ms: int,
    ) -> SignatureRecord:
        """Sign the version ``request`` promotes: its files, and the approval that let it through.

        Raises:
            IntegrityError: The files are not the ones the request was made for.
            InvalidInput: The files cannot be signed.
        """
        if request.artifact_digest and request.artifact_digest != files.digest:
            raise IntegrityError(
                f"Model version {request.model} {request.version} now has artifact digest "
                f"{files.digest}, not {request.artifact_digest} that approval request {request.id} "
                "was made for; it is not signed or promoted"
            )
        bundle = sign_files(
            request.model, files.files, self.key_path, registered_as=(request.model, str(request.version))
        )
        predicate: dict[str, Any] = {
            "workspace": current_workspace(),
            "model": request.model,
            "version": str(request.version),
            "model_created_ms": model_created_ms,
            "version_created_ms": version_created_ms,
            "artifact_digest": files.digest,
            "file_count": len(files.files),
            "request_id": request.id,
            "action": request.action,
            "target_kind": request.target_kind,
            "target": request.target,
            "requester": request.requester,
            "approvers": sorted(approvers),
            "rule": request.rule,
            "policy_digest": policy_digest,
            "approved_at": _rfc3339(now_ms),
            "key_id": self.key_id,
            "model_signature_sha256": hashlib.sha256(bundle.encode("utf-8")).hexdigest(),
        }
        envelope = sign_attestation(
            self._key, subject_name(request.model, str(request.version)), files.digest, predicate
        )
        return SignatureRecord(
            id=uuid.uuid4().hex,
            workspace=predicate["workspace"],
            model=request.model,
            version=str(request.version),
            model_created_ms=model_created_ms,
            version_created_ms=version_created_ms,
            digest=files.digest,
            request_id=request.id,
            target_kind=request.target_kind,
            target=request.target,
            key_id=self.key_id,
            signature_bundle=bundle,
            attestation=envelope,
            created_at_ms=now_ms,
        )


def _rfc3339(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
