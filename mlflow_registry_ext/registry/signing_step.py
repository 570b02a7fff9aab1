"""The gate's signing step: sign what an applied approval request promotes, or refuse it.

Runs after the gate claimed the request and before the registry change. The signature and
attestation are stored first; if the change then fails they are withdrawn together with the
claim. If signing fails the claim is given back, a ``promotion.blocked`` audit entry records why,
and the change is refused with a coded error: an applied request always has its signature.
"""

from __future__ import annotations

from typing import Any, Callable

from mlflow.exceptions import MlflowException

from mlflow_registry_ext.errors import IntegrityError
from mlflow_registry_ext.signing.approval_signer import ApprovalSigner
from mlflow_registry_ext.signing.signatures import SignatureRecord, SignatureStore
from mlflow_registry_ext.signing.version_files import version_files
from mlflow_registry_ext.approvals.version_state import VersionState

__all__ = ["SigningStep"]


class SigningStep:
    """Signs granted promotions that apply an approval request.

    Args:
        signer: The configured signer (``None``: nothing is signed).
        signatures: Where records are kept.
        inner_store: The wrapped MLflow store (reads only).
        clock: Milliseconds since the epoch.
        audit: ``audit(action, model, version, alias, details)`` in its own transaction.
    """

    def __init__(
        self,
        signer: ApprovalSigner | None,
        signatures: SignatureStore,
        inner_store: Any,
        clock: Callable[[], int],
        audit: Callable[..., Any],
    ):
        self.signer = signer
        self.signatures = signatures
        self.inner = inner_store
        self.clock = clock
        self.audit = audit

    def sign(self, grant, state: VersionState, release: Callable[[], None]) -> SignatureRecord | None:
        """Sign and store, or call ``release`` and raise. ``None`` when nothing is to be signed."""
        if self.signer is None or grant.request is None:
            return None
        request = grant.request
        try:
            model_created_ms = self.inner.get_registered_model(state.model).creation_timestamp
            record = self.signer.sign(
                request=request,
                approvers=grant.decision.counted_approvers if grant.decision else (),
                policy_digest=grant.policy_digest,
                files=version_files(self.inner, state.model, state.version),
                model_created_ms=model_created_ms,
                version_created_ms=state.created_ms,
                now_ms=self.clock(),
            )
            self.signatures.record(record)
        except BaseException as exc:
            release()
            if not isinstance(exc, Exception):
                raise
            error = exc if isinstance(exc, MlflowException) else IntegrityError(
                f"Cannot sign model version {state.model} {state.version}: {exc or type(exc).__name__}"
            )
            alias = request.target if request.target_kind == "alias" else None
            self.audit("promotion.blocked", state.model, state.version, alias, {
                "reason": f"signing failed: {error.message}",
                "missing": ["signature"],
                "request_id": request.id,
                "policy_digest": grant.policy_digest,
            })
            raise error from None
        return record

    def withdraw(self, record: SignatureRecord | None) -> None:
        """Remove the record of a change that failed after it was signed."""
        if record is not None:
            self.signatures.withdraw(record.id)
