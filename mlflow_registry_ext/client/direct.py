"""The operations of :class:`~mlflow_registry_ext.client.interface.GovernanceBackend` carried
out in this process: on the governance database and the governed registry store.

Built on a ``governed+`` registry URI, every operation works; built on a governance database
alone (``MLFLOW_GOVERNANCE_DATABASE_URI``, no registry), those that need only the database do
(audit, checkpoints, proofs, fairness records, webhooks) and the rest say they need the registry.

Example:
    >>> backend = DirectBackend("governed+sqlite:///mlflow.db", None)
    >>> backend.verify_audit().ok
    True
"""

from __future__ import annotations

import contextlib
import dataclasses

from mlflow_registry_ext.client.interface import GovernanceBackend
from mlflow_registry_ext.errors import InvalidInput, NotFound

__all__ = ["DirectBackend"]


class DirectBackend(GovernanceBackend):
    """Library calls against the stores of ``registry_uri`` (or a governance ``database`` alone)."""

    is_rest = False

    def __init__(self, registry_uri: str | None, tracking_uri: str | None, *, database=None):
        if registry_uri is not None and not registry_uri.startswith("governed+"):
            raise InvalidInput(f"Registry URI {registry_uri!r} is not governed: use governed+{registry_uri}")
        if registry_uri is None and database is None:
            raise InvalidInput("A direct client needs a governed+ registry URI or a governance database")
        super().__init__(registry_uri, tracking_uri)
        self._db = database

    def scoped(self):
        if not self.tracking_uri:
            return contextlib.nullcontext()
        from mlflow_registry_ext.mlflow_uris import using_uris

        return using_uris(self.tracking_uri, None)

    @property
    def database(self):
        """The governance database."""
        if self._db is None:
            from mlflow_registry_ext.db.database import GovernanceDatabase

            self._db = GovernanceDatabase.for_registry_uri(self.registry_uri)
        return self._db.ensure_schema()

    def registry_store(self):
        """The governed registry store, shared with MLflow's own cache."""
        if self.registry_uri is None:
            raise InvalidInput(
                "This needs the registry, not only the governance database: pass --registry-uri "
                "(MLFLOW_REGISTRY_URI, e.g. governed+sqlite:///mlflow.db) or a server (--tracking-uri)"
            )
        from mlflow.tracking._model_registry.utils import _get_store

        return _get_store(self.registry_uri, self.tracking_uri)

    # -- audit ------------------------------------------------------------------------------

    def list_audit(self, model=None, version=None, alias=None, actor=None, action=None, since=None,
                   until=None, after_seq=None, limit=1000):
        from mlflow_registry_ext.audit import log as audit_log

        q = audit_log.AuditQuery(
            model=model, version=version, alias=alias, actor=actor, action=action,
            since_ms=audit_log.parse_time(since), until_ms=audit_log.parse_time(until),
            after_seq=after_seq, limit=limit,
        )
        with self.database.reading() as engine:
            return audit_log.query(engine, q)

    def verify_audit(self, checkpoints=None, *, verifier_key=None, full=False):
        from mlflow_registry_ext.audit import log as audit_log

        if checkpoints is None:
            return audit_log.verify_and_record(self.database)
        from mlflow_registry_ext.audit.witnesses import witness_for_uri

        notes = witness_for_uri(checkpoints).notes()
        return audit_log.verify_and_record(self.database, notes, _verifier(verifier_key), full=full)

    def create_checkpoint(self):
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.create(self.database)

    def list_checkpoints(self, limit=100, before_size=None):
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.list_checkpoints(self.database, limit, before_size)

    def prove_entry(self, seq, size=None):
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.inclusion(self.database, seq, size)

    def prove_consistency(self, old, new=None):
        from mlflow_registry_ext.audit import checkpoints

        return checkpoints.consistency(self.database, old, new)

    def health(self):
        from mlflow_registry_ext.health import health_report
        from mlflow_registry_ext.policy import policy_from_env

        return health_report(self.database, policy_from_env())

    def reconcile(self):
        from mlflow_registry_ext.audit.reconcile import reconcile

        return reconcile(self.database, self.registry_store().inner.engine)

    def drift(self, model=None):
        from mlflow_registry_ext.audit.reconcile import ReconcileResult, last_result

        result = last_result(self.database)
        if result is None:
            from mlflow_registry_ext.workspace import current_workspace

            return ReconcileResult(workspace=current_workspace(), ok=True)
        if model is not None:
            kept = tuple(d for d in result.differences if d.model == model)
            result = dataclasses.replace(result, differences=kept, ok=not kept)
        return result

    def alias_history(self, model, alias, at=None):
        from mlflow_registry_ext.audit import log as audit_log

        with self.database.reading() as engine:
            return audit_log.alias_history(engine, model, alias, audit_log.parse_time(at))

    # -- approvals --------------------------------------------------------------------------

    def request_approval(self, model, version, *, alias=None, stage=None, comment=None, action="promote"):
        return self._approvals().create(model, version, alias=alias, stage=stage, action=action, comment=comment)

    def approve(self, request_id, comment=None):
        return self._approvals().approve(request_id, comment)

    def reject(self, request_id, comment=None):
        return self._approvals().reject(request_id, comment)

    def cancel_request(self, request_id, comment=None):
        return self._approvals().cancel(request_id, comment)

    def comment_request(self, request_id, text):
        return self._approvals().comment(request_id, text)

    def get_request(self, request_id):
        return self._approvals().get(request_id)

    def list_requests(self, model=None, version=None, status=None, limit=1000):
        return self._approvals().list(model=model, version=version, status=status, limit=limit)

    def _approvals(self):
        return self.registry_store().approvals

    # -- status and promotion ---------------------------------------------------------------

    def get_status(self, model, version):
        return self.registry_store().status_tags.compute(model, str(version))

    def refresh_status(self, model, version):
        status = self.registry_store().status_tags.refresh(model, str(version))
        if status is None:
            raise NotFound(f"Model version {model} {version} does not exist")
        return status

    def check_promotion(self, model, version, *, alias=None, stage=None, action="promote"):
        from mlflow_registry_ext.registry import promotion

        return promotion.check_promotion(self.registry_store(), model, version, alias=alias, stage=stage,
                                         action=action)

    def promote(self, model, version, *, alias=None, stage=None, request_id=None, override_reason=None,
                archive_existing_versions=False):
        from mlflow_registry_ext.registry import promotion

        return promotion.promote(
            self.registry_store(), model, version, alias=alias, stage=stage, request_id=request_id,
            override_reason=override_reason, archive_existing_versions=archive_existing_versions,
        )

    def rollback(self, model, alias, *, reason=None, request_id=None, override_reason=None):
        from mlflow_registry_ext.registry import promotion

        return promotion.rollback(self.registry_store(), model, alias, reason=reason, request_id=request_id,
                                  override_reason=override_reason)

    # -- policy -----------------------------------------------------------------------------

    def effective_policy(self, model):
        from mlflow_registry_ext.policy.effective import effective_policy

        return effective_policy(self.registry_store().policy, model)

    # -- fairness ---------------------------------------------------------------------------

    def record_fairness(self, model, version, data, *, target, prediction, sensitive, metrics=None,
                        thresholds=None, dataset_name=None, check_name="fairness", pos_label=1,
                        intersections=True, log_charts=True, dataset_source=None, policy=None):
        from mlflow import MlflowClient

        from mlflow_registry_ext.fairness.data import DatasetInfo
        from mlflow_registry_ext.fairness.service import evaluate_fairness
        from mlflow_registry_ext.policy import Policy, load_policy

        store = self.registry_store()
        if policy is None:
            policy = store.policy
        elif not isinstance(policy, Policy):
            policy = load_policy(policy)
        return evaluate_fairness(
            self.database, model, version, data=data, y_true=target, y_pred=prediction,
            sensitive_features=list(sensitive), metrics=metrics, thresholds=thresholds, policy=policy,
            dataset=DatasetInfo(name=dataset_name, source=dataset_source), check_name=check_name,
            pos_label=pos_label, intersections=intersections, log_charts=log_charts,
            client=MlflowClient(tracking_uri=self._tracking_uri(), registry_uri=self.registry_uri),
        )

    def list_fairness(self, model, version, latest=False):
        from mlflow_registry_ext.fairness.records import FairnessStore

        store = FairnessStore(self.database)
        return store.latest(model, version) if latest else store.list(model, version)

    def get_fairness_check(self, check_id):
        from mlflow_registry_ext.fairness.records import FairnessStore

        return FairnessStore(self.database).get(check_id)

    # -- webhooks ---------------------------------------------------------------------------

    def _webhooks(self):
        from mlflow_registry_ext.webhooks.service import WebhookService

        return WebhookService(self.database)

    def create_webhook(self, url, events, *, model_filter=None, secret=None, signature_scheme="standard",
                       description=None):
        return self._webhooks().create(url, events, model_filter=model_filter, secret=secret,
                                       signature_scheme=signature_scheme, description=description)

    def list_webhooks(self, status=None):
        return self._webhooks().list(status=status)

    def get_webhook(self, webhook_id):
        return self._webhooks().get(webhook_id)

    def update_webhook(self, webhook_id, *, url=None, events=None, model_filter=None, signature_scheme=None,
                       description=None, active=None):
        return self._webhooks().update(
            webhook_id, url=url, events=None if events is None else list(events), model_filter=model_filter,
            signature_scheme=signature_scheme, description=description, active=active,
        )

    def delete_webhook(self, webhook_id):
        self._webhooks().delete(webhook_id)

    def test_webhook(self, webhook_id, event_type=None):
        return self._webhooks().test(webhook_id, event_type=event_type)

    def rotate_webhook_secret(self, webhook_id, *, secret=None, grace_seconds=None):
        from mlflow_registry_ext.webhooks.service import DEFAULT_GRACE_SECONDS

        grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
        return self._webhooks().rotate_secret(webhook_id, secret=secret, grace_seconds=grace)

    def replay_webhook(self, webhook_id, since, until=None):
        return self._webhooks().replay(webhook_id, since=since, until=until)

    def list_deliveries(self, webhook_id=None, status=None, event_type=None, limit=100):
        return self._webhooks().deliveries(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit)

    def get_delivery(self, delivery_id):
        return self._webhooks().get_delivery(delivery_id)

    def delivery_attempts(self, delivery_id):
        return self._webhooks().attempts(delivery_id)

    def redeliver(self, delivery_id):
        return self._webhooks().redeliver(delivery_id)

    # -- artifacts --------------------------------------------------------------------------

    def artifact_digest(self, model, version):
        from mlflow_registry_ext.artifacts.digest import model_digest

        with self._stores_in_use():
            return model_digest(f"models:/{model}/{version}").to_dict()

    def verify_artifacts(self, model, version, expected_digest=None):
        from mlflow_registry_ext.artifacts.verify import verify

        with self._stores_in_use():
            return verify(f"models:/{model}/{version}", expected_digest=expected_digest).to_dict()

    # -- the reviewer's evidence -----------------------------------------------------------

    def dossier(self, model, version, alias=None):
        from mlflow_registry_ext.dossier.build import build_dossier

        store = self.registry_store()
        with self._stores_in_use():
            return build_dossier(self._mlflow_client(), store.inner, self.database, store.policy, model, version,
                                 alias, governed=store)

    # -- security scans ---------------------------------------------------------------------

    def scan(self, model, version):
        from mlflow_registry_ext.security.service import scan_version

        store = self.registry_store()
        with self._stores_in_use():
            return scan_version(self.database, store.inner, model, version, policy=store.policy)

    def export_evidence(self, model, version):
        from mlflow_registry_ext.evidence.export import export_bundle

        store = self.registry_store()
        with self._stores_in_use():
            return export_bundle(store, model, version, client=self._mlflow_client())

    def list_scans(self, model, version=None):
        from mlflow_registry_ext.security.records import ScanStore

        return ScanStore(self.database).list(model, version)

    # -- signatures -------------------------------------------------------------------------

    def get_signature(self, model, version):
        from mlflow_registry_ext.signing.signatures import find_signature

        store = self.registry_store()
        return find_signature(store.inner, store.governance_db, model, str(version))

    def public_keys(self):
        from mlflow_registry_ext.signing.public_keys import public_keys

        return public_keys()

    def _mlflow_client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self._tracking_uri(), registry_uri=self.registry_uri)


def _verifier(verifier_key: str | None):
    """The note verifier of ``verifier_key``, or the log's own."""
    from mlflow_registry_ext.audit.checkpoints import log_verifier
    from mlflow_registry_ext.audit.note import NoteError, Verifier

    if verifier_key:
        try:
            return Verifier.parse(verifier_key)
        except NoteError as exc:
            raise InvalidInput(str(exc)) from exc
    return log_verifier()
