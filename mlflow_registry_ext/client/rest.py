"""The operations of :class:`~mlflow_registry_ext.client.interface.GovernanceBackend` over the
governance REST API of an ``mlflow server --app-name governance``.

Each call names its operation; the declaration in :mod:`mlflow_registry_ext.api` gives the
method and path, and :class:`~mlflow_registry_ext.rest_transport.RestTransport` brings MLflow's
credentials, TLS settings and error codes. It imports the declarations and the entities, never
the server.

Example:
    >>> backend = RestBackend("http://127.0.0.1:5000", None)  # doctest: +SKIP
    >>> backend.health()["policy"]["digest"]  # doctest: +SKIP
    'sha256:...'
"""

from __future__ import annotations

import math

from mlflow_registry_ext.audit.chain import VerifyResult
from mlflow_registry_ext.client.interface import GovernanceBackend
from mlflow_registry_ext.entities import (
    AliasHistoryItem,
    ApprovalRequest,
    AuditEntry,
    GovernanceStatus,
    PromotionCheck,
    PromotionResult,
)
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.policy.effective import EffectivePolicy
from mlflow_registry_ext.rest_transport import RestTransport
from mlflow_registry_ext.webhooks.entities import Attempt, CreatedWebhook, Delivery, ReplayResult, Webhook
from mlflow_registry_ext.webhooks.entities import TestResult as WebhookTestResult

__all__ = ["RestBackend"]


class RestBackend(GovernanceBackend):
    """Calls to the server at ``server_uri``."""

    is_rest = True

    def __init__(self, registry_uri: str | None, tracking_uri: str | None, *, server_uri: str | None = None):
        super().__init__(registry_uri, tracking_uri)
        self._rest = RestTransport(server_uri or registry_uri or tracking_uri)

    # -- audit ------------------------------------------------------------------------------

    def list_audit(self, model=None, version=None, alias=None, actor=None, action=None, since=None,
                   until=None, after_seq=None, limit=1000):
        params = dict(model=model, version=version, alias=alias, actor=actor, action=action, since=since,
                      until=until, after_seq=after_seq, limit=limit)
        data = self._rest.call("audit_list", query=params)
        return [AuditEntry.from_dict(e) for e in data["entries"]]

    def verify_audit(self, checkpoints=None, *, verifier_key=None, full=False):
        body: dict = {}
        if checkpoints:
            from mlflow_registry_ext.audit.witnesses import witness_for_uri

            # The held checkpoints are read here, where the witness is, and checked by the
            # server against its database.
            body = {"checkpoints": witness_for_uri(checkpoints).notes(), "full": full}
            if verifier_key:
                body["verifier_key"] = verifier_key
        return VerifyResult(**self._rest.call("audit_verify", body=body))

    def create_checkpoint(self):
        return _checkpoint(self._rest.call("audit_checkpoint_create", body={}))

    def list_checkpoints(self, limit=100, before_size=None):
        data = self._rest.call("audit_checkpoints_list", query={"limit": limit, "before_size": before_size})
        return [_checkpoint(c) for c in data["checkpoints"]]

    def prove_entry(self, seq, size=None):
        return self._rest.call("audit_proof", query={"seq": seq, "size": size})

    def prove_consistency(self, old, new=None):
        return self._rest.call("audit_consistency", query={"old": old, "new": new})

    def health(self):
        return self._rest.call("health_get")

    def reconcile(self):
        from mlflow_registry_ext.audit.reconcile import ReconcileResult

        return ReconcileResult.from_dict(self._rest.call("audit_reconcile"))

    def drift(self, model=None):
        from mlflow_registry_ext.audit.reconcile import ReconcileResult

        return ReconcileResult.from_dict(self._rest.call("audit_drift", query={"model": model}))

    def alias_history(self, model, alias, at=None):
        data = self._rest.call("alias_history", query={"model": model, "alias": alias, "at": at})
        return [AliasHistoryItem(**item) for item in data["history"]]

    # -- approvals --------------------------------------------------------------------------

    def request_approval(self, model, version, *, alias=None, stage=None, comment=None, action="promote"):
        body = dict(model=model, version=str(version), alias=alias, stage=stage, comment=comment, action=action)
        return ApprovalRequest.from_dict(self._rest.call("approval_requests_create", body=body))

    def approve(self, request_id, comment=None):
        return self._decide("approval_requests_approve", request_id, {"comment": comment})

    def reject(self, request_id, comment=None):
        return self._decide("approval_requests_reject", request_id, {"comment": comment})

    def cancel_request(self, request_id, comment=None):
        return self._decide("approval_requests_cancel", request_id, {"comment": comment})

    def comment_request(self, request_id, text):
        return self._decide("approval_requests_comment", request_id, {"text": text})

    def _decide(self, operation: str, request_id: str, body: dict) -> ApprovalRequest:
        data = self._rest.call(operation, path_params={"request_id": request_id}, body=body)
        return ApprovalRequest.from_dict(data)

    def get_request(self, request_id):
        return ApprovalRequest.from_dict(self._rest.call("approval_requests_get",
                                                         path_params={"request_id": request_id}))

    def list_requests(self, model=None, version=None, status=None, limit=1000):
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

    # -- status and promotion ---------------------------------------------------------------

    def get_status(self, model, version):
        return GovernanceStatus.from_dict(self._rest.call("status_get", query={"model": model,
                                                                               "version": str(version)}))

    def refresh_status(self, model, version):
        body = {"model": model, "version": str(version)}
        return GovernanceStatus.from_dict(self._rest.call("status_refresh", body=body))

    def check_promotion(self, model, version, *, alias=None, stage=None, action="promote"):
        query = dict(model=model, version=str(version), alias=alias, stage=stage, action=action)
        return PromotionCheck.from_dict(self._rest.call("promotion_check", query=query))

    def promote(self, model, version, *, alias=None, stage=None, request_id=None, override_reason=None,
                archive_existing_versions=False):
        body = dict(model=model, version=str(version), alias=alias, stage=stage, request_id=request_id,
                    override_reason=override_reason, archive_existing_versions=archive_existing_versions)
        return PromotionResult.from_dict(self._rest.call("promote", body=body))

    def rollback(self, model, alias, *, reason=None, request_id=None, override_reason=None):
        body = dict(model=model, alias=alias, reason=reason, request_id=request_id, override_reason=override_reason)
        return PromotionResult.from_dict(self._rest.call("rollback", body=body))

    # -- policy -----------------------------------------------------------------------------

    def effective_policy(self, model):
        return EffectivePolicy.from_dict(self._rest.call("policy_get", query={"model": model}))

    # -- fairness ---------------------------------------------------------------------------

    def record_fairness(self, model, version, data, *, target, prediction, sensitive, metrics=None,
                        thresholds=None, dataset_name=None, check_name="fairness", pos_label=1,
                        intersections=True, log_charts=True, dataset_source=None, policy=None):
        from mlflow_registry_ext.fairness.records import FairnessCheck
        from mlflow_registry_ext.fairness.service import FairnessResult

        if policy is not None:
            raise InvalidInput("A server measures fairness with its own policy: do not pass one over REST")
        body = dict(
            model=model, version=str(version), columns=[str(c) for c in data.columns], data=_rows(data),
            target=target, prediction=prediction, sensitive=list(sensitive),
            metrics=list(metrics) if metrics else None, thresholds=thresholds, dataset_name=dataset_name,
            check_name=check_name, pos_label=pos_label, intersections=intersections, log_charts=log_charts,
        )
        result = self._rest.call("fairness_checks_create", body=body)
        checks = tuple(FairnessCheck.from_dict(c) for c in result["checks"])
        return FairnessResult(model=result["model"], version=result["version"], checks=checks,
                              chart_error=result.get("chart_error"))

    def list_fairness(self, model, version, latest=False):
        from mlflow_registry_ext.fairness.records import FairnessCheck

        data = self._rest.call("fairness_checks_list", query={"model": model, "version": str(version),
                                                              "latest": latest})
        return [FairnessCheck.from_dict(c) for c in data["checks"]]

    def get_fairness_check(self, check_id):
        from mlflow_registry_ext.fairness.records import FairnessCheck

        return FairnessCheck.from_dict(self._rest.call("fairness_checks_get", path_params={"check_id": check_id}))

    # -- webhooks ---------------------------------------------------------------------------

    def create_webhook(self, url, events, *, model_filter=None, secret=None, signature_scheme="standard",
                       description=None):
        body = dict(url=url, events=list(events), model_filter=model_filter, secret=secret,
                    signature_scheme=signature_scheme, description=description)
        return _created(self._rest.call("webhooks_create", body=body))

    def list_webhooks(self, status=None):
        return [Webhook(**w) for w in self._rest.call("webhooks_list", query={"status": status})["webhooks"]]

    def get_webhook(self, webhook_id):
        return Webhook(**self._webhook_call("webhooks_get", webhook_id))

    def update_webhook(self, webhook_id, *, url=None, events=None, model_filter=None, signature_scheme=None,
                       description=None, active=None):
        fields = dict(url=url, events=None if events is None else list(events), model_filter=model_filter,
                      signature_scheme=signature_scheme, description=description, active=active)
        return Webhook(**self._webhook_call("webhooks_update", webhook_id, fields))

    def delete_webhook(self, webhook_id):
        self._webhook_call("webhooks_delete", webhook_id)

    def test_webhook(self, webhook_id, event_type=None):
        return WebhookTestResult(**self._webhook_call("webhooks_test", webhook_id, {"event": event_type}))

    def rotate_webhook_secret(self, webhook_id, *, secret=None, grace_seconds=None):
        body = {"secret": secret, "grace_seconds": grace_seconds}
        return _created(self._webhook_call("webhooks_rotate_secret", webhook_id, body))

    def replay_webhook(self, webhook_id, since, until=None):
        body = {"since": None if since is None else str(since), "until": None if until is None else str(until)}
        return ReplayResult(**self._webhook_call("webhooks_replay", webhook_id, body))

    def _webhook_call(self, operation: str, webhook_id: str, body: dict | None = None):
        return self._rest.call(operation, path_params={"webhook_id": webhook_id}, body=body)

    def list_deliveries(self, webhook_id=None, status=None, event_type=None, limit=100):
        query = dict(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit)
        return [Delivery(**d) for d in self._rest.call("deliveries_list", query=query)["deliveries"]]

    def get_delivery(self, delivery_id):
        return Delivery(**self._delivery_call("deliveries_get", delivery_id))

    def delivery_attempts(self, delivery_id):
        return [Attempt(**a) for a in self._delivery_call("deliveries_attempts", delivery_id)["attempts"]]

    def redeliver(self, delivery_id):
        return Delivery(**self._delivery_call("deliveries_redeliver", delivery_id, {}))

    def _delivery_call(self, operation: str, delivery_id: str, body: dict | None = None):
        return self._rest.call(operation, path_params={"delivery_id": delivery_id}, body=body)

    # -- artifacts --------------------------------------------------------------------------

    def artifact_digest(self, model, version):
        return self._rest.call("artifacts_digest", query={"model": model, "version": str(version)})

    def verify_artifacts(self, model, version, expected_digest=None):
        body = {"model": model, "version": str(version), "expected_digest": expected_digest}
        return self._rest.call("artifacts_verify", body=body)

    # -- the reviewer's evidence -----------------------------------------------------------

    def dossier(self, model, version, alias=None):
        return self._rest.call("dossier_get", query={"model": model, "version": str(version), "alias": alias})

    # -- security scans ---------------------------------------------------------------------

    def scan(self, model, version):
        from mlflow_registry_ext.security.report import ScanReport

        return ScanReport.from_dict(self._rest.call("scans_create", body={"model": model, "version": str(version)}))

    def export_evidence(self, model, version):
        return self._rest.call("evidence_get", query={"model": model, "version": str(version)}, raw=True)

    def list_scans(self, model, version=None):
        from mlflow_registry_ext.security.report import ScanReport

        query = {"model": model}
        if version is not None:
            query["version"] = str(version)
        return [ScanReport.from_dict(r) for r in self._rest.call("scans_list", query=query)["scans"]]

    # -- signatures -------------------------------------------------------------------------

    def get_signature(self, model, version):
        from mlflow_registry_ext.signing.signatures import SignatureRecord

        return SignatureRecord.from_dict(self._rest.call("signature_get",
                                                         query={"model": model, "version": str(version)}))

    def public_keys(self):
        return self._rest.call("keys_get")


def _checkpoint(data: dict):
    from mlflow_registry_ext.audit.checkpoints import CheckpointRecord

    return CheckpointRecord(**{**data, "witnessed": tuple(data.get("witnessed") or ())})


def _created(data: dict) -> CreatedWebhook:
    return CreatedWebhook(webhook=Webhook(**data["webhook"]), secret=data["secret"])


def _rows(frame) -> list[list]:
    """A DataFrame's rows as plain JSON values (NaN as null)."""

    def plain(value):
        if hasattr(value, "item") and callable(value.item):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return [[plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
