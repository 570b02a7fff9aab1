"""What a :class:`~mlflow_registry_ext.client.GovernanceClient` can do, declared once.

:class:`GovernanceBackend` names every operation with its signature and documentation; its two
implementations carry them out: :class:`~mlflow_registry_ext.client.direct.DirectBackend`
against the governance database and registry stores in this process, and
:class:`~mlflow_registry_ext.client.rest.RestBackend` over the governance REST API of a server.
The few operations built from others (``iter_audit``, ``verify_signature``) are written here,
once, for both.

Example:
    >>> GovernanceBackend.operations()[:3]
    ['list_audit', 'verify_audit', 'create_checkpoint']
"""

from __future__ import annotations

import abc
import contextlib
from typing import Iterator

from mlflow_registry_ext.audit.chain import VerifyResult
from mlflow_registry_ext.entities import (
    AliasHistoryItem,
    ApprovalRequest,
    AuditEntry,
    GovernanceStatus,
    PromotionCheck,
    PromotionResult,
)
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext.policy.effective import EffectivePolicy
from mlflow_registry_ext.webhooks.entities import Attempt, CreatedWebhook, Delivery, ReplayResult, Webhook
from mlflow_registry_ext.webhooks.entities import TestResult as WebhookTestResult

__all__ = ["GovernanceBackend"]

#: Public members of a backend that are not operations.
_PLUMBING = frozenset({"operations", "scoped"})


class GovernanceBackend(abc.ABC):
    """Approvals, fairness checks, audit, webhooks, artifacts and evidence of a governed registry.

    Args:
        registry_uri: The registry the calls act on (a ``governed+...`` URI, or a server's).
        tracking_uri: Where runs and artifacts are read from (and, over REST, the server).
    """

    #: Whether the calls go to a server over REST.
    is_rest: bool = False

    def __init__(self, registry_uri: str | None, tracking_uri: str | None):
        self.registry_uri = registry_uri
        self.tracking_uri = tracking_uri

    @classmethod
    def operations(cls) -> list[str]:
        """The names of the operations, in the order they are declared."""
        return [name for name, member in vars(GovernanceBackend).items()
                if callable(member) and not name.startswith("_") and name not in _PLUMBING]

    def scoped(self) -> contextlib.AbstractContextManager:
        """The context each operation runs in (direct mode: MLflow's URIs set to this client's)."""
        return contextlib.nullcontext()

    # -- audit ------------------------------------------------------------------------------

    @abc.abstractmethod
    def list_audit(
        self,
        model: str | None = None,
        version: str | None = None,
        alias: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: str | int | None = None,
        until: str | int | None = None,
        after_seq: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, filtered by any of the arguments.

        ``since``/``until`` take ISO 8601 times, dates or epoch milliseconds.
        """

    @abc.abstractmethod
    def verify_audit(self, checkpoints: str | None = None, *, verifier_key: str | None = None,
                     full: bool = False) -> VerifyResult:
        """Check the audit chain (a broken chain is recorded as an ``audit.verification_failed``
        entry, which webhooks deliver).

        Args:
            checkpoints: Where checkpoints are held outside the database (``file:///...``, a
                path, ``s3://bucket/prefix``, or a JSON Lines file of ``audit.checkpoint``
                events): truncation, rewrites and forks are found against them.
            verifier_key: The log's note verifier key (default: from ``MLFLOW_GOVERNANCE_LOG_KEY``).
            full: Read every entry even when an earlier run verified a checkpoint.
        """

    @abc.abstractmethod
    def create_checkpoint(self):
        """Sign a checkpoint of the audit log now and send it to the witnesses.

        Returns:
            A ``CheckpointRecord``; ``created`` is False when nothing was added since the last one.
        """

    @abc.abstractmethod
    def list_checkpoints(self, limit: int = 100, before_size: int | None = None):
        """The newest checkpoints, newest first (smaller than ``before_size`` when given)."""

    @abc.abstractmethod
    def prove_entry(self, seq: int, size: int | None = None) -> dict:
        """An inclusion proof bundle of entry ``seq`` against a checkpoint (default latest);
        check it with :func:`mlflow_registry_ext.audit.verify_inclusion`."""

    @abc.abstractmethod
    def prove_consistency(self, old: int, new: int | None = None) -> dict:
        """A consistency proof bundle between the checkpoints of sizes ``old`` and ``new``
        (default latest); check it with :func:`mlflow_registry_ext.audit.verify_consistency`."""

    @abc.abstractmethod
    def health(self) -> dict:
        """Policy digest, age of the last checkpoint, dispatcher lag and last reconcile."""

    @abc.abstractmethod
    def reconcile(self):
        """Compare the registry of the caller's workspace with the state its audit log describes.

        Every difference (a change made around the governed store) is in the result; those the
        previous run had not found are recorded as ``audit.drift_detected`` entries, which
        webhooks deliver.

        Returns:
            A :class:`~mlflow_registry_ext.audit.reconcile.ReconcileResult` (``ok`` is False
            when anything differs).

        Example:
            >>> result = client.reconcile()
            >>> result.ok, [d.describe() for d in result.differences]
            (True, [])
        """

    @abc.abstractmethod
    def drift(self, model: str | None = None):
        """What the latest reconcile of the caller's workspace found (about ``model`` only when
        given), without running one; ``ran_ms`` is 0 when none ran yet."""

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (for export)."""
        after = 0
        while True:
            page = self.list_audit(after_seq=after, limit=5000)
            if not page:
                return
            yield from page
            after = page[-1].seq

    @abc.abstractmethod
    def alias_history(
        self, model: str, alias: str, at: str | int | None = None
    ) -> list[AliasHistoryItem]:
        """Where ``alias`` pointed over time, and who moved it (or only at time ``at``)."""

    # -- approvals --------------------------------------------------------------------------

    @abc.abstractmethod
    def request_approval(
        self,
        model: str,
        version: str | int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        comment: str | None = None,
        action: str = "promote",
    ) -> ApprovalRequest:
        """Ask for approval to put ``version`` under a protected ``alias`` or ``stage``.

        ``action="rollback"`` asks to re-point ``alias`` to its previous version (give that
        version); ``action="delete_alias"`` asks to delete it (give the version it points to).
        The requester is the current identity (over REST: the authenticated user).

        Example:
            >>> client.request_approval("fraud-model", 2, alias="production").status
            'pending'
        """

    @abc.abstractmethod
    def approve(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Approve a request as the current identity (approving again renews the approval)."""

    @abc.abstractmethod
    def reject(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Reject a request as the current identity; it is closed as ``rejected``."""

    @abc.abstractmethod
    def cancel_request(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Withdraw an open request (its requester, or an admin of the rule)."""

    @abc.abstractmethod
    def comment_request(self, request_id: str, text: str) -> ApprovalRequest:
        """Add a comment to a request's timeline without deciding."""

    @abc.abstractmethod
    def get_request(self, request_id: str) -> ApprovalRequest:
        """One request with its decisions and timeline."""

    @abc.abstractmethod
    def list_requests(
        self,
        model: str | None = None,
        version: str | int | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[ApprovalRequest]:
        """Requests, newest first, filtered by model, version and status."""

    # -- status and promotion ---------------------------------------------------------------

    @abc.abstractmethod
    def get_status(self, model: str, version: str | int) -> GovernanceStatus:
        """The governance state of a version (what its ``gov`` tags show, per protected target)."""

    @abc.abstractmethod
    def refresh_status(self, model: str, version: str | int) -> GovernanceStatus:
        """Recompute a version's state and rewrite its ``gov`` tags (e.g. after a
        fairness check was recorded)."""

    @abc.abstractmethod
    def check_promotion(
        self,
        model: str,
        version: str | int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        action: str = "promote",
    ) -> PromotionCheck:
        """Dry run: would the policy allow the change now, and what is missing?"""

    @abc.abstractmethod
    def promote(
        self,
        model: str,
        version: str | int,
        *,
        alias: str | None = None,
        stage: str | None = None,
        request_id: str | None = None,
        override_reason: str | None = None,
        archive_existing_versions: bool = False,
    ) -> PromotionResult:
        """Put ``version`` under ``alias`` (or move it to ``stage``), applying its approved request.

        ``override_reason`` forces a refused change through, for users the rule lists under
        ``admin_override``; it is audited as ``promotion.overridden``.
        """

    @abc.abstractmethod
    def rollback(
        self,
        model: str,
        alias: str,
        *,
        reason: str | None = None,
        request_id: str | None = None,
        override_reason: str | None = None,
    ) -> PromotionResult:
        """Re-point ``alias`` to the version it pointed to before, with a mandatory ``reason``.

        It needs an approved rollback request, or an admin override, or (under
        ``rollback: {required: 0, allowed: [...]}``) an authenticated user listed under
        ``allowed``, who rolls back alone. Recorded as ``promotion.rolled_back``.

        Example:
            An alias that was never set has nothing to go back to:

            >>> client.rollback("fraud-model", "production", reason="incident 42: precision dropped")
            Traceback (most recent call last):
                ...
            mlflow_registry_ext.errors.InvalidInput: Alias 'production' of fraud-model is not set; there is nothing to roll back
        """

    # -- policy -----------------------------------------------------------------------------

    @abc.abstractmethod
    def effective_policy(self, model: str) -> EffectivePolicy:
        """The rule ``model`` is under and what changing each protected target requires.

        Example:
            >>> client.effective_policy("fraud-model").rule_name
            "models[0] (match 'fraud-*')"
        """

    # -- fairness ---------------------------------------------------------------------------

    @abc.abstractmethod
    def record_fairness(
        self,
        model: str,
        version: str | int,
        data,
        *,
        target: str,
        prediction: str,
        sensitive: list[str],
        metrics: list[str] | None = None,
        thresholds: dict | None = None,
        dataset_name: str | None = None,
        check_name: str = "fairness",
        pos_label=1,
        intersections: bool = True,
        log_charts: bool = True,
        dataset_source: str | None = None,
        policy=None,
    ):
        """Measure fairness metrics of a version's predictions in ``data`` (a pandas DataFrame)
        and record them; the policy's thresholds apply. Returns a ``FairnessResult``.

        Over REST the data is sent to the server, which measures and records it with its own
        policy. In direct mode ``policy`` (a loaded policy or a file) replaces the registry's,
        and ``dataset_source`` is recorded as where the data came from.

        Example:
            >>> client.record_fairness("fraud-model", 2, frame, target="label", prediction="prediction",
            ...     sensitive=["sex"], log_charts=False).passed
            True
        """

    @abc.abstractmethod
    def list_fairness(self, model: str, version: str | int, latest: bool = False) -> list:
        """The fairness checks recorded on a version, oldest first (``latest``: only the newest of
        each metric, feature and dataset)."""

    @abc.abstractmethod
    def get_fairness_check(self, check_id: str):
        """One recorded fairness check."""

    # -- webhooks ---------------------------------------------------------------------------

    @abc.abstractmethod
    def create_webhook(
        self,
        url: str,
        events: list[str],
        *,
        model_filter: str | None = None,
        secret: str | None = None,
        signature_scheme: str = "standard",
        description: str | None = None,
    ) -> CreatedWebhook:
        """Subscribe ``url`` to ``events``; the result holds the secret (shown this once)."""

    @abc.abstractmethod
    def list_webhooks(self, status: str | None = None) -> list[Webhook]:
        """Every subscription, oldest first (optionally only ``active`` or ``disabled``)."""

    @abc.abstractmethod
    def get_webhook(self, webhook_id: str) -> Webhook:
        """One subscription (never its secret)."""

    @abc.abstractmethod
    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        events: list[str] | None = None,
        model_filter: str | None = None,
        signature_scheme: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> Webhook:
        """Change a subscription (``None`` keeps a field; ``active`` resumes or pauses it)."""

    @abc.abstractmethod
    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a subscription with its queued deliveries and delivery log."""

    @abc.abstractmethod
    def test_webhook(self, webhook_id: str, event_type: str | None = None) -> WebhookTestResult:
        """Send a signed example event now and report what the receiver answered."""

    @abc.abstractmethod
    def rotate_webhook_secret(
        self, webhook_id: str, *, secret: str | None = None, grace_seconds: int | None = None
    ) -> CreatedWebhook:
        """Replace the secret (the old one signs too for ``grace_seconds``, default 24 h)."""

    @abc.abstractmethod
    def replay_webhook(self, webhook_id: str, since: str | int, until: str | int | None = None) -> ReplayResult:
        """Queue again every event of ``[since, until]`` the subscription wants."""

    @abc.abstractmethod
    def list_deliveries(
        self,
        webhook_id: str | None = None,
        status: str | None = None,
        event_type: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, filtered by subscription, status or event type."""

    @abc.abstractmethod
    def get_delivery(self, delivery_id: str) -> Delivery:
        """One delivery."""

    @abc.abstractmethod
    def delivery_attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of a delivery, first to last."""

    @abc.abstractmethod
    def redeliver(self, delivery_id: str) -> Delivery:
        """Queue a delivery again (same body, same ``webhook-id``); a dispatcher sends it."""

    # -- artifacts --------------------------------------------------------------------------

    @abc.abstractmethod
    def artifact_digest(self, model: str, version: str | int) -> dict:
        """The artifact digest of a model version and the files it covers (as a dict:
        ``digest``, ``files``, ``file_count``, ``total_size``, ``source``, ``uri``)."""

    @abc.abstractmethod
    def verify_artifacts(self, model: str, version: str | int, expected_digest: str | None = None) -> dict:
        """Re-hash every artifact file of a model version (as a dict: ``ok``, ``problems``, ...)."""

    # -- the reviewer's evidence -----------------------------------------------------------

    @abc.abstractmethod
    def dossier(self, model: str, version: str | int, alias: str | None = None) -> dict:
        """Everything a reviewer needs about a version, as one JSON-ready dict (see docs/review.md):
        lineage, datasets, code, environment, signature, metrics beside the version under
        ``alias``, model card, fairness, artifact digest, requests and alias history. A part
        MLflow does not hold has ``status: missing`` and a ``reason``.

        Example:
            >>> dossier = client.dossier("fraud-model", 2)
            >>> dossier["model_version"]["status"], dossier["fairness"]["status"]
            ('READY', 'present')
        """

    # -- security scans ---------------------------------------------------------------------

    @abc.abstractmethod
    def scan(self, model: str, version: str | int):
        """Scan the files of a model version now and record the report.

        Returns:
            The :class:`~mlflow_registry_ext.security.report.ScanReport`; ``status`` is ``clean``,
            ``findings`` or ``error`` (the scan failed: never a pass).

        Example:
            >>> client.scan("fraud-model", 2).status  # doctest: +SKIP
            'clean'
        """

    @abc.abstractmethod
    def export_evidence(self, model: str, version: str | int) -> bytes:
        """The signed evidence bundle (zip bytes) of a model version (see docs/evidence.md).

        Example:
            >>> open("bundle.zip", "wb").write(client.export_evidence("fraud-model", 7))  # doctest: +SKIP
        """

    @abc.abstractmethod
    def list_scans(self, model: str, version: str | int | None = None) -> list:
        """The security scans recorded on a model (or one version), oldest first."""

    # -- signatures -------------------------------------------------------------------------

    @abc.abstractmethod
    def get_signature(self, model: str, version: str | int):
        """The model signature and approval attestation of a version (a
        :class:`~mlflow_registry_ext.signing.signatures.SignatureRecord`).

        Raises:
            NotFound: The version was never signed.
        """

    @abc.abstractmethod
    def public_keys(self) -> dict:
        """The public keys consumers verify with: ``{"signing": {...}, "log": {...}}`` (each
        ``None`` when not configured)."""

    def verify_signature(self, model_uri: str, public_key_pem: bytes | str | None = None):
        """Check the model at ``model_uri`` (``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``)
        against its signature and approval attestation.

        The files are downloaded and hashed here, so what is checked is what this process
        loads. Pass the signing public key you trust (``signing.pub.pem``); without it the key
        the server serves is used, which proves only that server signed it.

        Returns:
            A :class:`~mlflow_registry_ext.signing.check.SignatureReport`.

        Raises:
            IntegrityError: Naming the first check that failed.
            NotFound: The version was never signed, or no signing key is served.
        """
        from mlflow import MlflowClient
        from mlflow.store.artifact.utils.models import get_model_name_and_version

        from mlflow_registry_ext.artifacts.digest import model_digest
        from mlflow_registry_ext.signing.check import check_signature

        if not model_uri.startswith("models:/"):
            raise InvalidInput(f"A signature belongs to a model version: give models:/NAME/VERSION, not {model_uri!r}")
        with self._stores_in_use():
            resolved = get_model_name_and_version(MlflowClient(), model_uri)
            if len(resolved) != 2:
                raise InvalidInput(f"{model_uri!r} names a logged model, not a registered model version")
            model, version = resolved[0], str(resolved[1])
            record = self.get_signature(model, version)
            if public_key_pem is None:
                served = self.public_keys().get("signing")
                if not served:
                    raise NotFound("The server serves no signing key; pass the trusted public key")
                public_key_pem = served["public_key_pem"]
            files = model_digest(f"models:/{model}/{version}")
        return check_signature(record, public_key_pem, files, model=model, version=version)

    # -- plumbing ---------------------------------------------------------------------------

    def _tracking_uri(self) -> str:
        from mlflow_registry_ext.db.database import inner_registry_uri

        return self.tracking_uri or inner_registry_uri(self.registry_uri)

    def _stores_in_use(self):
        from mlflow_registry_ext.mlflow_uris import using_uris

        return using_uris(self._tracking_uri(), self.registry_uri)
