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

import dataclasses
import functools
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
from mlflow_registry_ext.rest_transport import RestTransport
from mlflow_registry_ext.webhooks.entities import (
    Attempt,
    CreatedWebhook,
    Delivery,
    ReplayResult,
    Webhook,
)
from mlflow_registry_ext.webhooks.entities import TestResult as WebhookTestResult
from mlflow_registry_ext import settings

__all__ = ["GovernanceClient"]


def _tracking_scoped(method):
    """In direct mode with a tracking URI too, run ``method`` with MLflow's process-wide tracking
    URI pointing there, so the runs and artifacts it reads resolve through that server."""

    @functools.wraps(method)
    def scoped(self, *args, **kwargs):
        if self._rest is not None or not self.tracking_uri:
            return method(self, *args, **kwargs)
        from mlflow_registry_ext.mlflow_uris import using_uris

        with using_uris(self.tracking_uri, None):
            return method(self, *args, **kwargs)

    return scoped


class GovernanceClient:
    """Approvals, fairness checks, audit and webhooks of a governed MLflow registry.

    Args:
        registry_uri: A ``governed+...`` registry URI for direct mode, or the ``http(s)://`` URI
            of the server holding the registry (default: ``MLFLOW_REGISTRY_URI``).
        tracking_uri: An ``http(s)://`` MLflow server running ``--app-name governance`` for
            REST mode (default: ``MLFLOW_TRACKING_URI``). Used for REST when no registry URI is
            given; next to one, it is the tracking server runs and artifacts are read from.
    """

    def __init__(self, registry_uri: str | None = None, tracking_uri: str | None = None):
        registry_uri = registry_uri or settings.MLFLOW.get("registry_uri")
        tracking_uri = tracking_uri or settings.MLFLOW.get("tracking_uri")
        self.registry_uri = registry_uri
        self.tracking_uri = tracking_uri
        self._rest: RestTransport | None = None
        self._db = None
        if registry_uri and registry_uri.startswith(("http://", "https://")):
            # The registry is a server (as ``mlflow.set_registry_uri(server)`` leaves it): its REST.
            self._rest = RestTransport(registry_uri)
        elif registry_uri:
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
            from mlflow_registry_ext.db.database import GovernanceDatabase

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
        from mlflow_registry_ext.audit import log as audit_log

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
        if self._rest:
            body: dict = {}
            if checkpoints:
                from mlflow_registry_ext.audit.witnesses import witness_for_uri

                # The held checkpoints are read here, where the witness is, and checked by the
                # server against its database.
                body = {"checkpoints": witness_for_uri(checkpoints).notes(), "full": full}
                if verifier_key:
                    body["verifier_key"] = verifier_key
            return VerifyResult(**self._rest.call("audit_verify", body=body))
        from mlflow_registry_ext.audit import log as audit_log

        if checkpoints is None:
            return audit_log.verify_and_record(self.database)
        from mlflow_registry_ext.audit.witnesses import witness_for_uri

        notes = witness_for_uri(checkpoints).notes()
        return audit_log.verify_and_record(self.database, notes, self._verifier(verifier_key), full=full)

    def _verifier(self, verifier_key: str | None):
        from mlflow_registry_ext.audit.checkpoints import log_verifier
        from mlflow_registry_ext.audit.note import NoteError, Verifier

        if verifier_key:
            try:
                return Verifier.parse(verifier_key)
            except NoteError as exc:
                raise InvalidInput(str(exc)) from exc
        return log_verifier()

    def create_checkpoint(self):
        """Sign a checkpoint of the audit log now and send it to the witnesses.

        Returns:
            A ``CheckpointRecord``; ``created`` is False when nothing was added since the last one.
        """
        from mlflow_registry_ext.audit import checkpoints

        if self._rest:
            data = self._rest.call("audit_checkpoint_create", body={})
            return checkpoints.CheckpointRecord(**{**data, "witnessed": tuple(data.get("witnessed") or ())})
        return checkpoints.create(self.database)

    def list_checkpoints(self, limit: int = 100, before_size: int | None = None):
        """The newest checkpoints, newest first (smaller than ``before_size`` when given)."""
        from mlflow_registry_ext.audit import checkpoints

        if self._rest:
            data = self._rest.call("audit_checkpoints_list", query={"limit": limit, "before_size": before_size})
            return [checkpoints.CheckpointRecord(**{**c, "witnessed": tuple(c.get("witnessed") or ())})
                    for c in data["checkpoints"]]
        return checkpoints.list_checkpoints(self.database, limit, before_size)

    def prove_entry(self, seq: int, size: int | None = None) -> dict:
        """An inclusion proof bundle of entry ``seq`` against a checkpoint (default latest);
        check it with :func:`mlflow_registry_ext.audit.verify_inclusion`."""
        if self._rest:
            return self._rest.call("audit_proof", query={"seq": seq, "size": size})
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.inclusion(self.database, seq, size)

    def prove_consistency(self, old: int, new: int | None = None) -> dict:
        """A consistency proof bundle between the checkpoints of sizes ``old`` and ``new``
        (default latest); check it with :func:`mlflow_registry_ext.audit.verify_consistency`."""
        if self._rest:
            return self._rest.call("audit_consistency", query={"old": old, "new": new})
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.consistency(self.database, old, new)

    def health(self) -> dict:
        """Policy digest, age of the last checkpoint, dispatcher lag and last reconcile."""
        if self._rest:
            return self._rest.call("health_get")
        from mlflow_registry_ext.health import health_report
        from mlflow_registry_ext.policy import policy_from_env

        return health_report(self.database, policy_from_env())
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
        from mlflow_registry_ext.audit.reconcile import ReconcileResult, reconcile

        if self._rest:
            return ReconcileResult.from_dict(self._rest.call("audit_reconcile"))
        return reconcile(self.database, self.registry_store().inner.engine)

    def drift(self, model: str | None = None):
        """What the latest reconcile of the caller's workspace found (about ``model`` only when
        given), without running one; ``ran_ms`` is 0 when none ran yet."""
        from mlflow_registry_ext.audit.reconcile import ReconcileResult, last_result

        if self._rest:
            return ReconcileResult.from_dict(self._rest.call("audit_drift", query={"model": model}))
        result = last_result(self.database)
        if result is None:
            from mlflow_registry_ext.workspace import current_workspace

            return ReconcileResult(workspace=current_workspace(), ok=True)
        if model is not None:
            kept = tuple(d for d in result.differences if d.model == model)
            result = dataclasses.replace(result, differences=kept, ok=not kept)
        return result

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
        from mlflow_registry_ext.audit import log as audit_log

        with self.database.reading() as engine:
            return audit_log.alias_history(engine, model, alias, audit_log.parse_time(at))

    # -- approvals --------------------------------------------------------------------------

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
            >>> client.request_approval("fraud-model", 7, alias="production").status
            'pending'
        """
        if self._rest:
            body = dict(model=model, version=str(version), alias=alias, stage=stage, comment=comment, action=action)
            return ApprovalRequest.from_dict(self._rest.call("approval_requests_create", body=body))
        store = self.registry_store()
        return store.approvals.create(model, version, alias=alias, stage=stage, action=action, comment=comment)

    def _decide(self, operation: str, request_id: str, body: dict) -> ApprovalRequest:
        data = self._rest.call(operation, path_params={"request_id": request_id}, body=body)
        return ApprovalRequest.from_dict(data)

    def approve(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Approve a request as the current identity (approving again renews the approval)."""
        if self._rest:
            return self._decide("approval_requests_approve", request_id, {"comment": comment})
        return self.registry_store().approvals.approve(request_id, comment)

    def reject(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Reject a request as the current identity; it is closed as ``rejected``."""
        if self._rest:
            return self._decide("approval_requests_reject", request_id, {"comment": comment})
        return self.registry_store().approvals.reject(request_id, comment)

    def cancel_request(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Withdraw an open request (its requester, or an admin of the rule)."""
        if self._rest:
            return self._decide("approval_requests_cancel", request_id, {"comment": comment})
        return self.registry_store().approvals.cancel(request_id, comment)

    def comment_request(self, request_id: str, text: str) -> ApprovalRequest:
        """Add a comment to a request's timeline without deciding."""
        if self._rest:
            return self._decide("approval_requests_comment", request_id, {"text": text})
        return self.registry_store().approvals.comment(request_id, text)

    def get_request(self, request_id: str) -> ApprovalRequest:
        """One request with its decisions and timeline."""
        if self._rest:
            data = self._rest.call("approval_requests_get", path_params={"request_id": request_id})
            return ApprovalRequest.from_dict(data)
        return self.registry_store().approvals.get(request_id)

    def list_requests(
        self,
        model: str | None = None,
        version: str | int | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[ApprovalRequest]:
        """Requests, newest first, filtered by model, version and status."""
        if self._rest:
            query = dict(model=model, version=None if version is None else str(version), status=status,
                         limit=min(limit, 10_000))
            found: list[ApprovalRequest] = []
            while len(found) < limit:
                data = self._rest.call("approval_requests_list", query=query)
                found.extend(ApprovalRequest.from_dict(r) for r in data["requests"])
                if not data.get("next_page_token"):
                    break
                query["page_token"] = data["next_page_token"]
            return found[:limit]
        store = self.registry_store()
        return store.approvals.list(model=model, version=version, status=status, limit=limit)

    # -- status and promotion ---------------------------------------------------------------

    def get_status(self, model: str, version: str | int) -> GovernanceStatus:
        """The governance state of a version (what its ``gov`` tags show, per protected target)."""
        if self._rest:
            data = self._rest.call("status_get", query={"model": model, "version": str(version)})
            return GovernanceStatus.from_dict(data)
        return self.registry_store().status_tags.compute(model, str(version))

    def refresh_status(self, model: str, version: str | int) -> GovernanceStatus:
        """Recompute a version's state and rewrite its ``gov`` tags (e.g. after a
        fairness check was recorded)."""
        if self._rest:
            body = {"model": model, "version": str(version)}
            return GovernanceStatus.from_dict(self._rest.call("status_refresh", body=body))
        status = self.registry_store().status_tags.refresh(model, str(version))
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
        if self._rest:
            query = dict(model=model, version=str(version), alias=alias, stage=stage, action=action)
            return PromotionCheck.from_dict(self._rest.call("promotion_check", query=query))
        from mlflow_registry_ext.registry import promotion

        store = self.registry_store()
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
        if self._rest:
            body = dict(model=model, version=str(version), alias=alias, stage=stage, request_id=request_id,
                        override_reason=override_reason, archive_existing_versions=archive_existing_versions)
            return PromotionResult.from_dict(self._rest.call("promote", body=body))
        from mlflow_registry_ext.registry import promotion

        store = self.registry_store()
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
        reason: str | None = None,
        request_id: str | None = None,
        override_reason: str | None = None,
    ) -> PromotionResult:
        """Re-point ``alias`` to the version it pointed to before, with a mandatory ``reason``.

        It needs an approved rollback request, or an admin override, or (under
        ``rollback: {required: 0, allowed: [...]}``) an authenticated user listed under
        ``allowed``, who rolls back alone. Recorded as ``promotion.rolled_back``.

        Example:
            >>> client.rollback("fraud-model", "production", reason="incident 42: precision dropped").version
            '6'
        """
        if self._rest:
            body = dict(model=model, alias=alias, reason=reason, request_id=request_id,
                        override_reason=override_reason)
            return PromotionResult.from_dict(self._rest.call("rollback", body=body))
        from mlflow_registry_ext.registry import promotion

        store = self.registry_store()
        return promotion.rollback(store, model, alias, reason=reason, request_id=request_id,
                                  override_reason=override_reason)

    # -- policy -----------------------------------------------------------------------------

    def effective_policy(self, model: str) -> EffectivePolicy:
        """The rule ``model`` is under and what changing each protected target requires.

        Example:
            >>> client.effective_policy("fraud-model").rule_name
            "models[0] (match 'fraud-*')"
        """
        if self._rest:
            return EffectivePolicy.from_dict(self._rest.call("policy_get", query={"model": model}))
        from mlflow_registry_ext.policy.effective import effective_policy

        return effective_policy(self.registry_store().policy, model)

    # -- fairness ---------------------------------------------------------------------------

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
    ):
        """Measure fairness metrics of a version's predictions in ``data`` (a pandas DataFrame)
        and record them; the policy's thresholds apply. Returns a ``FairnessResult``.

        Over REST the data is sent to the server, which measures and records it.

        Example:
            >>> client.record_fairness("fraud", 3, frame, target="label", prediction="pred",
            ...     sensitive=["sex"]).passed
            True
        """
        if self._rest:
            from mlflow_registry_ext.fairness.records import FairnessCheck
            from mlflow_registry_ext.fairness.service import FairnessResult

            body = dict(
                model=model, version=str(version), columns=[str(c) for c in data.columns],
                data=_rows(data), target=target, prediction=prediction, sensitive=list(sensitive),
                metrics=list(metrics) if metrics else None, thresholds=thresholds, dataset_name=dataset_name,
                check_name=check_name, pos_label=pos_label, intersections=intersections, log_charts=log_charts,
            )
            result = self._rest.call("fairness_checks_create", body=body)
            checks = tuple(FairnessCheck.from_dict(c) for c in result["checks"])
            return FairnessResult(model=result["model"], version=result["version"], checks=checks,
                                  chart_error=result.get("chart_error"))
        from mlflow import MlflowClient

        from mlflow_registry_ext.fairness.data import DatasetInfo
        from mlflow_registry_ext.fairness.service import evaluate_fairness

        store = self.registry_store()
        return evaluate_fairness(
            self.database, model, version, data=data, y_true=target, y_pred=prediction,
            sensitive_features=list(sensitive), metrics=metrics, thresholds=thresholds, policy=store.policy,
            dataset=DatasetInfo(name=dataset_name), check_name=check_name, pos_label=pos_label,
            intersections=intersections, log_charts=log_charts,
            client=MlflowClient(tracking_uri=self._tracking_uri(), registry_uri=self.registry_uri),
        )

    def list_fairness(self, model: str, version: str | int, latest: bool = False) -> list:
        """The fairness checks recorded on a version, oldest first (``latest``: only the newest of
        each metric, feature and dataset)."""
        from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore

        if self._rest:
            data = self._rest.call("fairness_checks_list", query={"model": model, "version": str(version),
                                                                  "latest": latest})
            return [FairnessCheck.from_dict(c) for c in data["checks"]]
        store = FairnessStore(self.database)
        return store.latest(model, version) if latest else store.list(model, version)

    def get_fairness_check(self, check_id: str):
        """One recorded fairness check."""
        from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore

        if self._rest:
            return FairnessCheck.from_dict(self._rest.call("fairness_checks_get", path_params={"check_id": check_id}))
        return FairnessStore(self.database).get(check_id)

    # -- webhooks ---------------------------------------------------------------------------

    def _webhooks(self):
        from mlflow_registry_ext.webhooks.service import WebhookService

        return WebhookService(self.database)

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
        if self._rest:
            body = dict(url=url, events=list(events), model_filter=model_filter, secret=secret,
                        signature_scheme=signature_scheme, description=description)
            return _created(self._rest.call("webhooks_create", body=body))
        return self._webhooks().create(url, events, model_filter=model_filter, secret=secret,
                                       signature_scheme=signature_scheme, description=description)

    def list_webhooks(self, status: str | None = None) -> list[Webhook]:
        """Every subscription, oldest first (optionally only ``active`` or ``disabled``)."""
        if self._rest:
            return [Webhook(**w) for w in self._rest.call("webhooks_list", query={"status": status})["webhooks"]]
        return self._webhooks().list(status=status)

    def get_webhook(self, webhook_id: str) -> Webhook:
        """One subscription (never its secret)."""
        if self._rest:
            return Webhook(**self._rest.call("webhooks_get", path_params={"webhook_id": webhook_id}))
        return self._webhooks().get(webhook_id)

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
        fields = dict(url=url, events=None if events is None else list(events), model_filter=model_filter,
                      signature_scheme=signature_scheme, description=description, active=active)
        if self._rest:
            return Webhook(**self._rest.call("webhooks_update", path_params={"webhook_id": webhook_id}, body=fields))
        return self._webhooks().update(webhook_id, **fields)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a subscription with its queued deliveries and delivery log."""
        if self._rest:
            self._rest.call("webhooks_delete", path_params={"webhook_id": webhook_id})
            return
        self._webhooks().delete(webhook_id)

    def test_webhook(self, webhook_id: str, event_type: str | None = None) -> WebhookTestResult:
        """Send a signed example event now and report what the receiver answered."""
        if self._rest:
            data = self._rest.call("webhooks_test", path_params={"webhook_id": webhook_id}, body={"event": event_type})
            return WebhookTestResult(**data)
        return self._webhooks().test(webhook_id, event_type=event_type)

    def rotate_webhook_secret(
        self, webhook_id: str, *, secret: str | None = None, grace_seconds: int | None = None
    ) -> CreatedWebhook:
        """Replace the secret (the old one signs too for ``grace_seconds``, default 24 h)."""
        if self._rest:
            body = {"secret": secret, "grace_seconds": grace_seconds}
            return _created(self._rest.call("webhooks_rotate_secret", path_params={"webhook_id": webhook_id},
                                            body=body))
        from mlflow_registry_ext.webhooks.service import DEFAULT_GRACE_SECONDS

        grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
        return self._webhooks().rotate_secret(webhook_id, secret=secret, grace_seconds=grace)

    def replay_webhook(self, webhook_id: str, since: str | int, until: str | int | None = None) -> ReplayResult:
        """Queue again every event of ``[since, until]`` the subscription wants."""
        if self._rest:
            body = {"since": None if since is None else str(since), "until": None if until is None else str(until)}
            return ReplayResult(**self._rest.call("webhooks_replay", path_params={"webhook_id": webhook_id},
                                                  body=body))
        return self._webhooks().replay(webhook_id, since=since, until=until)

    def list_deliveries(
        self,
        webhook_id: str | None = None,
        status: str | None = None,
        event_type: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, filtered by subscription, status or event type."""
        if self._rest:
            query = dict(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit)
            return [Delivery(**d) for d in self._rest.call("deliveries_list", query=query)["deliveries"]]
        return self._webhooks().deliveries(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit)

    def get_delivery(self, delivery_id: str) -> Delivery:
        """One delivery."""
        if self._rest:
            return Delivery(**self._rest.call("deliveries_get", path_params={"delivery_id": delivery_id}))
        return self._webhooks().get_delivery(delivery_id)

    def delivery_attempts(self, delivery_id: str) -> list[Attempt]:
        """Every attempt of a delivery, first to last."""
        if self._rest:
            data = self._rest.call("deliveries_attempts", path_params={"delivery_id": delivery_id})
            return [Attempt(**a) for a in data["attempts"]]
        return self._webhooks().attempts(delivery_id)

    def redeliver(self, delivery_id: str) -> Delivery:
        """Queue a delivery again (same body, same ``webhook-id``); a dispatcher sends it."""
        if self._rest:
            return Delivery(**self._rest.call("deliveries_redeliver", path_params={"delivery_id": delivery_id},
                                              body={}))
        return self._webhooks().redeliver(delivery_id)

    # -- artifacts --------------------------------------------------------------------------

    def artifact_digest(self, model: str, version: str | int) -> dict:
        """The artifact digest of a model version and the files it covers (as a dict:
        ``digest``, ``files``, ``file_count``, ``total_size``, ``source``, ``uri``)."""
        if self._rest:
            return self._rest.call("artifacts_digest", query={"model": model, "version": str(version)})
        from mlflow_registry_ext.artifacts.digest import model_digest

        with self._stores_in_use():
            return model_digest(f"models:/{model}/{version}").to_dict()

    def verify_artifacts(self, model: str, version: str | int, expected_digest: str | None = None) -> dict:
        """Re-hash every artifact file of a model version (as a dict: ``ok``, ``problems``, ...)."""
        if self._rest:
            body = {"model": model, "version": str(version), "expected_digest": expected_digest}
            return self._rest.call("artifacts_verify", body=body)
        from mlflow_registry_ext.artifacts.verify import verify

        with self._stores_in_use():
            return verify(f"models:/{model}/{version}", expected_digest=expected_digest).to_dict()

    # -- the reviewer's evidence -----------------------------------------------------------

    def dossier(self, model: str, version: str | int, alias: str | None = None) -> dict:
        """Everything a reviewer needs about a version, as one JSON-ready dict (see docs/review.md):
        lineage, datasets, code, environment, signature, metrics beside the version under
        ``alias``, model card, fairness, artifact digest, requests and alias history. A part
        MLflow does not hold has ``status: missing`` and a ``reason``.

        Example:
            >>> client.dossier("fraud-model", 7, alias="production")["comparison"]["current_version"]
            '6'
        """
        if self._rest:
            query = {"model": model, "version": str(version), "alias": alias}
            return self._rest.call("dossier_get", query=query)
        from mlflow import MlflowClient

        from mlflow_registry_ext.dossier.build import build_dossier

        store = self.registry_store()
        with self._stores_in_use():
            client = MlflowClient(tracking_uri=self._tracking_uri(), registry_uri=self.registry_uri)
            return build_dossier(client, store.inner, self.database, store.policy, model, version, alias,
                                 governed=store)
    # -- security scans ---------------------------------------------------------------------

    def scan(self, model: str, version: str | int):
        """Scan the files of a model version now and record the report.

        Returns:
            The :class:`~mlflow_registry_ext.security.report.ScanReport`; ``status`` is ``clean``,
            ``findings`` or ``error`` (the scan failed: never a pass).

        Example:
            >>> GovernanceClient(registry_uri="governed+sqlite:///mlflow.db").scan("fraud", 3).status
            'clean'
        """
        from mlflow_registry_ext.security.report import ScanReport

        if self._rest:
            data = self._rest.call("scans_create", body={"model": model, "version": str(version)})
            return ScanReport.from_dict(data)
        from mlflow_registry_ext.security.service import scan_version

        store = self.registry_store()
        with self._stores_in_use():
            return scan_version(self.database, store.inner, model, version, policy=store.policy)

    def export_evidence(self, model: str, version: str | int) -> bytes:
        """The signed evidence bundle (zip bytes) of a model version (see docs/evidence.md).

        Example:
            >>> open("bundle.zip", "wb").write(client.export_evidence("fraud-model", 7))  # doctest: +SKIP
        """
        if self._rest:
            return self._rest.call("evidence_get", query={"model": model, "version": str(version)}, raw=True)
        from mlflow import MlflowClient

        from mlflow_registry_ext.evidence.export import export_bundle

        store = self.registry_store()
        with self._stores_in_use():
            client = MlflowClient(tracking_uri=self._tracking_uri(), registry_uri=self.registry_uri)
            return export_bundle(store, model, version, client=client)

    def list_scans(self, model: str, version: str | int | None = None) -> list:
        """The security scans recorded on a model (or one version), oldest first."""
        from mlflow_registry_ext.security.records import ScanStore
        from mlflow_registry_ext.security.report import ScanReport

        if self._rest:
            query = {"model": model}
            if version is not None:
                query["version"] = str(version)
            data = self._rest.call("scans_list", query=query)
            return [ScanReport.from_dict(r) for r in data["scans"]]
        return ScanStore(self.database).list(model, version)

    # -- signatures -------------------------------------------------------------------------

    def get_signature(self, model: str, version: str | int):
        """The model signature and approval attestation of a version (a
        :class:`~mlflow_registry_ext.signing.signatures.SignatureRecord`).

        Raises:
            NotFound: The version was never signed.
        """
        from mlflow_registry_ext.signing.signatures import SignatureRecord, find_signature

        if self._rest:
            data = self._rest.call("signature_get", query={"model": model, "version": str(version)})
            return SignatureRecord.from_dict(data)
        store = self.registry_store()
        return find_signature(store.inner, store.governance_db, model, str(version))

    def public_keys(self) -> dict:
        """The public keys consumers verify with: ``{"signing": {...}, "log": {...}}`` (each
        ``None`` when not configured)."""
        if self._rest:
            return self._rest.call("keys_get")
        from mlflow_registry_ext.signing.public_keys import public_keys

        return public_keys()

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

    def _tracking_uri(self) -> str:
        from mlflow_registry_ext.db.database import inner_registry_uri

        return self.tracking_uri or inner_registry_uri(self.registry_uri)

    def _stores_in_use(self):
        from mlflow_registry_ext.mlflow_uris import using_uris

        return using_uris(self._tracking_uri(), self.registry_uri)


def _created(data: dict) -> CreatedWebhook:
    return CreatedWebhook(webhook=Webhook(**data["webhook"]), secret=data["secret"])


def _rows(frame) -> list[list]:
    """A DataFrame's rows as plain JSON values (NaN as null)."""
    import math

    def plain(value):
        if hasattr(value, "item") and callable(value.item):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return [[plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]


for _name, _member in list(vars(GovernanceClient).items()):
    if callable(_member) and not _name.startswith("_"):
        setattr(GovernanceClient, _name, _tracking_scoped(_member))
del _name, _member
