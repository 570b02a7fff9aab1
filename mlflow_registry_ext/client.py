"""``GovernanceClient``: the Python face of mlflow-registry-ext.

Two modes, one interface:

* **direct**, on a registry URI (``governed+sqlite:///mlflow.db``): library calls against the
  stores, in this process;
* **REST**, on a tracking URI of an ``mlflow server --app-name governance``
  (``http://127.0.0.1:5000``): the same operations over the governance REST API. This is what
  ``mlflow.server.get_app_client("governance", tracking_uri=...)`` returns. It imports only the
  route table and the entities, never the server.

Example:
    >>> client = GovernanceClient(registry_uri="governed+sqlite:///mlflow.db")
    >>> client.verify_audit().ok
    True
"""

from __future__ import annotations

import os
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
from mlflow_registry_ext.rest_transport import RestTransport

__all__ = ["GovernanceClient"]


class GovernanceClient:
    """Approvals, fairness checks, audit and webhooks of a governed MLflow registry.

    Args:
        registry_uri: A ``governed+...`` registry URI for direct mode (default:
            ``MLFLOW_REGISTRY_URI``).
        tracking_uri: An ``http(s)://`` MLflow server running ``--app-name governance`` for
            REST mode (default: ``MLFLOW_TRACKING_URI``). Used when no registry URI is given.
    """

    def __init__(self, registry_uri: str | None = None, tracking_uri: str | None = None):
        registry_uri = registry_uri or os.environ.get("MLFLOW_REGISTRY_URI")
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        self.registry_uri = registry_uri
        self.tracking_uri = tracking_uri
        self._rest: RestTransport | None = None
        self._db = None
        if registry_uri:
            if not registry_uri.startswith("governed+"):
                raise InvalidInput(
                    f"Registry URI {registry_uri!r} is not governed: use governed+{registry_uri}"
                )
        elif tracking_uri and tracking_uri.startswith(("http://", "https://")):
            self._rest = RestTransport(tracking_uri)
        else:
            raise InvalidInput(
                "GovernanceClient needs a governed registry URI (--registry-uri / "
                "MLFLOW_REGISTRY_URI, e.g. governed+sqlite:///mlflow.db) or the http(s) URI of "
                "an MLflow server running --app-name governance (--tracking-uri / "
                "MLFLOW_TRACKING_URI)"
            )

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def is_rest(self) -> bool:
        return self._rest is not None

    @property
    def database(self):
        """The governance database (direct mode only)."""
        if self._db is None:
            from mlflow_registry_ext.governance.database import GovernanceDatabase

            self._db = GovernanceDatabase.for_registry_uri(self.registry_uri).ensure_schema()
        return self._db

    def registry_store(self):
        """The governed registry store (direct mode only), shared with MLflow's own cache."""
        from mlflow.tracking._model_registry.utils import _get_store

        return _get_store(self.registry_uri, self.tracking_uri)

    # -- audit ------------------------------------------------------------------------------

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
        if self._rest:
            params = dict(model=model, version=version, alias=alias, actor=actor, action=action,
                          since=since, until=until, after_seq=after_seq, limit=limit)
            data = self._rest.call("audit_list", query=params)
            return [AuditEntry.from_dict(e) for e in data["entries"]]
        from mlflow_registry_ext.governance import audit_log

        q = audit_log.AuditQuery(
            model=model,
            version=version,
            alias=alias,
            actor=actor,
            action=action,
            since_ms=audit_log.parse_time(since),
            until_ms=audit_log.parse_time(until),
            after_seq=after_seq,
            limit=limit,
        )
        with self.database.reading() as engine:
            return audit_log.query(engine, q)

    def verify_audit(self) -> VerifyResult:
        """Check the whole hash chain; names the first bad entry."""
        if self._rest:
            return VerifyResult(**self._rest.call("audit_verify"))
        from mlflow_registry_ext.governance import audit_log

        with self.database.reading() as engine:
            return audit_log.verify(engine)

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (for export)."""
        after = 0
        while True:
            page = self.list_audit(after_seq=after, limit=5000)
            if not page:
                return
            yield from page
            after = page[-1].seq

    def alias_history(
        self, model: str, alias: str, at: str | int | None = None
    ) -> list[AliasHistoryItem]:
        """Where ``alias`` pointed over time, and who moved it (or only at time ``at``)."""
        if self._rest:
            data = self._rest.call("alias_history", query={"model": model, "alias": alias, "at": at})
            return [AliasHistoryItem(**item) for item in data["history"]]
        from mlflow_registry_ext.governance import audit_log

        with self.database.reading() as engine:
            return audit_log.alias_history(engine, model, alias, audit_log.parse_time(at))

    # -- approvals --------------------------------------------------------------------------

    def _governed_store(self, what: str):
        if self._rest is not None:
            raise InvalidInput(
                f"{what} needs a governed+ registry URI (--registry-uri / MLFLOW_REGISTRY_URI): "
                "this client talks REST, and the server offers no approval endpoints"
            )
        return self.registry_store()

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
        The requester is the current identity.

        Example:
            >>> client.request_approval("fraud-model", 7, alias="production").status
            'pending'
        """
        store = self._governed_store("Requesting an approval")
        return store.approvals.create(model, version, alias=alias, stage=stage, action=action, comment=comment)

    def approve(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Approve a request as the current identity (approving again renews the approval)."""
        return self._governed_store("Approving").approvals.approve(request_id, comment)

    def reject(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Reject a request as the current identity; it is closed as ``rejected``."""
        return self._governed_store("Rejecting").approvals.reject(request_id, comment)

    def cancel_request(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Withdraw an open request (its requester, or an admin of the rule)."""
        return self._governed_store("Cancelling").approvals.cancel(request_id, comment)

    def comment_request(self, request_id: str, text: str) -> ApprovalRequest:
        """Add a comment to a request's timeline without deciding."""
        return self._governed_store("Commenting").approvals.comment(request_id, text)

    def get_request(self, request_id: str) -> ApprovalRequest:
        """One request with its decisions and timeline."""
        return self._governed_store("Reading a request").approvals.get(request_id)

    def list_requests(
        self,
        model: str | None = None,
        version: str | int | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[ApprovalRequest]:
        """Requests, newest first, filtered by model, version and status."""
        store = self._governed_store("Listing requests")
        return store.approvals.list(model=model, version=version, status=status, limit=limit)

    # -- status and promotion ---------------------------------------------------------------

    def get_status(self, model: str, version: str | int) -> GovernanceStatus:
        """The governance state of a version (what its ``governance.*`` tags show)."""
        return self._governed_store("Reading the status").status_tags.compute(model, str(version))

    def refresh_status(self, model: str, version: str | int) -> GovernanceStatus:
        """Recompute a version's state and rewrite its ``governance.*`` tags (e.g. after a
        fairness check was recorded)."""
        status = self._governed_store("Refreshing the status").status_tags.refresh(model, str(version))
        if status is None:
            raise NotFound(f"Model version {model} {version} does not exist")
        return status

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
        from mlflow_registry_ext.governance import promotion

        store = self._governed_store("Checking a promotion")
        return promotion.check_promotion(store, model, version, alias=alias, stage=stage, action=action)

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
        from mlflow_registry_ext.governance import promotion

        store = self._governed_store("Promoting")
        return promotion.promote(
            store,
            model,
            version,
            alias=alias,
            stage=stage,
            request_id=request_id,
            override_reason=override_reason,
            archive_existing_versions=archive_existing_versions,
        )

    def rollback(
        self,
        model: str,
        alias: str,
        *,
        request_id: str | None = None,
        override_reason: str | None = None,
    ) -> PromotionResult:
        """Re-point ``alias`` to the version it pointed to before, under an approved rollback."""
        from mlflow_registry_ext.governance import promotion

        store = self._governed_store("Rolling back")
        return promotion.rollback(store, model, alias, request_id=request_id, override_reason=override_reason)
