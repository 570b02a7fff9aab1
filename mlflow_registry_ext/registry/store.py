"""``GovernedRegistryStore``: the ``governed+<inner URI>`` model registry store.

It wraps the MLflow store of the inner URI and delegates **every** public method explicitly:
MLflow's ``AbstractStore`` has concrete defaults and does not enforce abstract methods, so a
``__getattr__`` wrapper would silently run the base class's code instead of the inner store's.
``tests/registry/test_delegation.py`` fails when MLflow grows a public method this class lacks.

Every mutating call runs as an :class:`~mlflow_registry_ext.registry.operation.Operation`; the
session hook appends its audit entry inside the inner store's own transaction.

Changes the policy governs (protected aliases and stages, deleting what they point to, renaming)
first pass the :class:`~mlflow_registry_ext.registry.gate.Gate`; the policy is read once,
when the store is built. With no policy, or one that protects nothing, no call costs more than a
flag test and the store behaves exactly like the one it wraps.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.abstract_store import AbstractStore
from sqlalchemy.exc import SQLAlchemyError

from mlflow_registry_ext.audit.baseline import ensure_baseline
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.signing.approval_signer import ApprovalSigner
from mlflow_registry_ext.approvals.service import ApprovalStore
from mlflow_registry_ext.db.database import GovernanceDatabase, inner_registry_uri
from mlflow_registry_ext.registry.gate import Gate, Grant, note_entries
from mlflow_registry_ext.registry.status_tags import StatusTags, is_status_tag, target_tag
from mlflow_registry_ext.approvals.version_state import alias_version
from mlflow_registry_ext.policy import policy_from_env
from mlflow_registry_ext.registry import operation
from mlflow_registry_ext.registry.operation import Operation
from mlflow_registry_ext.audit.pending import PendingRelay
from mlflow_registry_ext.registry.pinning import Pinner
from mlflow_registry_ext.registry.session_hook import install_audit_hook
from mlflow_registry_ext.security.service import scan_on_create, scan_version

__all__ = ["GovernedRegistryStore", "build_inner_store"]

_log = logging.getLogger(__name__)


def _left_a_live_stage(mv) -> bool:
    """Whether a transitioned version's tags still say it is live in a stage it has left (an
    ungoverned move out of a protected stage)."""
    prefix = target_tag("stage", "")
    return any(
        key.startswith(prefix) and value == "live" and key[len(prefix):].lower() != (mv.current_stage or "").lower()
        for key, value in (mv.tags or {}).items()
    )


def build_inner_store(inner_uri: str, tracking_uri: str | None = None):
    """The MLflow store for ``inner_uri``, resolved through MLflow's own store registry."""
    from mlflow.tracking._model_registry.utils import _get_store_registry
    from mlflow.tracking.registry import UnsupportedModelRegistryStoreURIException

    try:
        builder = _get_store_registry().get_store_builder(inner_uri)
    except UnsupportedModelRegistryStoreURIException as exc:
        raise InvalidInput(f"Unsupported inner registry URI {inner_uri!r}: {exc}") from exc
    params = inspect.signature(builder).parameters
    if "tracking_uri" in params:
        return builder(store_uri=inner_uri, tracking_uri=tracking_uri)
    return builder(store_uri=inner_uri)


class GovernedRegistryStore(AbstractStore):
    """A model registry store that audits every change and enforces the governance policy.

    Example:
        >>> from mlflow import MlflowClient
        >>> client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)  # governed+sqlite:///...
        >>> client.create_registered_model("fraud-v2").name  # audited
        'fraud-v2'
    """

    def __init__(self, store_uri: str, tracking_uri: str | None = None):
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
        self.store_uri = store_uri
        self.inner_uri = inner_registry_uri(store_uri)
        # Checked first: an unreachable database fails here at once with a coded error, instead
        # of in MLflow's engine set-up, which retries for minutes.
        self.governance_db = GovernanceDatabase.for_registry_uri(store_uri).ensure_schema()
        self._inner = build_inner_store(self.inner_uri, tracking_uri)
        # Where digests and pins resolve runs:/ sources: the client's tracking store, never
        # MLflow's process default (which would create ./mlflow.db in the working directory).
        self.tracking_uri = tracking_uri
        if getattr(self._inner, "tracking_uri", None) is None:
            self._inner.tracking_uri = tracking_uri
        if not hasattr(self._inner, "ManagedSessionMaker"):
            raise InvalidInput(
                f"governed+ needs an SQL registry store; {self.inner_uri!r} gives "
                f"{type(self._inner).__name__}"
            )
        self._relay = None
        if self.governance_db.engine.url != self._inner.engine.url:
            # Separate governance database: intents in the registry transaction, relayed after
            # the commit; intents a dead process left behind are chained now.
            self._relay = PendingRelay(self._inner.engine, self.governance_db)
            self._relay.relay()
        install_audit_hook(self._inner, self._relay)
        self._record_baseline()
        self.policy = policy_from_env()
        self.approvals = ApprovalStore(
            self.policy, self.governance_db, self._inner, on_change=self._status_changed
        )
        self.status_tags = StatusTags(self.policy, self.governance_db, self._inner, self.approvals)
        self.pinner = Pinner(self._inner, self.governance_db)
        # A configured but unusable signing key stops the store (and the server) here.
        self.signer = ApprovalSigner.from_env()
        self.gate = Gate(
            self.policy,
            self.governance_db,
            self._inner,
            self.approvals,
            self.status_tags,
            is_pinned=lambda name, version: self.pinner.manifest(name, version) is not None,
            signer=self.signer,
        )

    def _record_baseline(self) -> None:
        # A database that held models before the plugin was installed: record what is there, so
        # reconciling covers it (a no-op, two cheap reads, once the log has entries).
        try:
            ensure_baseline(self.governance_db, self._inner.engine)
        except SQLAlchemyError as exc:
            _log.warning("Could not record the registry's baseline yet: %s", exc)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def inner(self):
        """The wrapped MLflow store."""
        return self._inner

    @property
    def engine(self):
        return self._inner.engine

    @property
    def db_uri(self):
        return self._inner.db_uri

    @property
    def supports_workspaces(self) -> bool:
        return self._inner.supports_workspaces

    @contextlib.contextmanager
    def _operation(self, action: str, **target: Any):
        for key in ("version",):
            if target.get(key) is not None:
                target[key] = str(target[key])
        details = target.pop("details", {})
        follow = target.pop("follow", [])
        op = Operation(action=action, details=details, follow=list(follow), **target)
        try:
            with operation.running(op):
                yield op
        finally:
            if self._relay is not None and op.intents:
                op.entries.extend(self._relay.relay(op.intents))

    @contextlib.contextmanager
    def _governed(self, grant: Grant | None, action: str, **target: Any):
        """An operation the gate granted: its audit entry names the rule and the request; a
        claimed request is given back if the change fails."""
        if grant is not None:
            target["details"] = {**target.get("details", {}), **grant.audit_details()}
            target["follow"] = [*target.get("follow", ()),
                                *grant.follow_drafts(target.get("model"), target.get("alias"), target.get("version"))]
        try:
            with self._operation(action, **target) as op:
                yield op
        except BaseException:
            self.gate.failed(grant)
            raise
        note_entries(op.entries)
        self.gate.succeeded(grant)

    def _pin_new(self, name: str, version: str) -> None:
        """Pin a new version of a model a rule covers; one whose files cannot be read stays
        unpinned (and cannot be promoted under ``artifact_digest: true`` until pinned)."""
        if self.gate.covering_rule(name) is None:
            return
        try:
            self.pinner.pin(name, str(version))
        except MlflowException as exc:
            _log.warning("Version %s of %s is not pinned: %s", version, name, exc.message)

    def _status_changed(self, model: str, version: str) -> None:
        self.status_tags.refresh(model, version)

    # -- registered models ------------------------------------------------------------------

    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        with self._operation("registered_model.created", model=name):
            return self._inner.create_registered_model(
                name, tags=tags, description=description, deployment_job_id=deployment_job_id
            )

    def update_registered_model(self, name, description, deployment_job_id=None):
        with self._operation("registered_model.updated", model=name):
            return self._inner.update_registered_model(
                name, description, deployment_job_id=deployment_job_id
            )

    def rename_registered_model(self, name, new_name):
        grant = self.gate.before_rename(name, new_name)
        details = {"new_name": new_name}
        with self._governed(grant, "registered_model.renamed", model=name, details=details):
            return self._inner.rename_registered_model(name, new_name)

    def delete_registered_model(self, name):
        grant = self.gate.before_delete_model(name)
        with self._governed(grant, "registered_model.deleted", model=name):
            return self._inner.delete_registered_model(name)

    def search_registered_models(
        self, filter_string=None, max_results=100, order_by=None, page_token=None
    ):
        return self._inner.search_registered_models(
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def get_registered_model(self, name):
        return self._inner.get_registered_model(name)

    def get_latest_versions(self, name, stages=None):
        return self._inner.get_latest_versions(name, stages=stages)

    def set_registered_model_tag(self, name, tag):
        details = {"key": tag.key, "value": tag.value}
        with self._operation("registered_model_tag.set", model=name, details=details):
            return self._inner.set_registered_model_tag(name, tag)

    def delete_registered_model_tag(self, name, key):
        with self._operation("registered_model_tag.deleted", model=name, details={"key": key}):
            return self._inner.delete_registered_model_tag(name, key)

    # -- model versions ---------------------------------------------------------------------

    def create_model_version(
        self,
        name,
        source,
        run_id=None,
        tags=None,
        run_link=None,
        description=None,
        local_model_path=None,
        model_id=None,
    ):
        if self.gate.active:
            tags = self.gate.tags_for_new_version(name, tags)
        with self._operation("model_version.created", model=name) as op:
            mv = self._inner.create_model_version(
                name,
                source,
                run_id=run_id,
                tags=tags,
                run_link=run_link,
                description=description,
                local_model_path=local_model_path,
                model_id=model_id,
            )
        if not mv.user_id and op.entries:
            mv._user_id = op.entries[0].after.get("user_id")
        self._pin_new(name, mv.version)
        if self.gate.active:
            self.gate.after_version_created(name, mv.version)
        self._scan_new_version(name, mv.version)
        return mv

    def _scan_new_version(self, model: str, version: str) -> None:
        # After the commit, so a slow or failing scan never holds up or undoes the registration;
        # the scan records its own failures as error reports.
        if not scan_on_create(self.policy.rule_for(model)):
            return
        try:
            scan_version(self.governance_db, self._inner, model, version, policy=self.policy, trigger="created")
        except Exception:  # noqa: BLE001 - the version exists; promotion will ask for a scan
            _log.warning("Security scan of %s version %s at creation failed", model, version, exc_info=True)

    def update_model_version(self, name, version, description=None):
        # The description is part of what an approval is bound to.
        recount = self.gate.needs_recount(name)
        with self._operation("model_version.updated", model=name, version=version):
            result = self._inner.update_model_version(name, version, description=description)
        if recount:
            self.gate.after_version_change(name, version)
        return result

    def transition_model_version_stage(self, name, version, stage, archive_existing_versions):
        grant = self.gate.before_transition(name, version, stage)
        archived = self._stage_holders(name, version, stage) if grant and archive_existing_versions else []
        details = {"archive_existing_versions": bool(archive_existing_versions)}
        with self._governed(
            grant, "model_version.stage_transitioned", model=name, version=version, details=details
        ):
            result = self._inner.transition_model_version_stage(
                name, version, stage, archive_existing_versions
            )
        if grant is not None or _left_a_live_stage(result):
            archived.append(str(version))
        self._refresh_versions(name, archived)
        return result

    def _stage_holders(self, name, version, stage) -> list[str]:
        """The other versions in ``stage``, which a transition with ``archive_existing_versions``
        moves out (their ``gov.stage.*`` tags change)."""
        return [
            str(mv.version)
            for mv in self.status_tags.versions_of(name)
            if (mv.current_stage or "").lower() == stage.lower() and str(mv.version) != str(version)
        ]

    def _alias_holder(self, name, alias) -> str | None:
        """The version a protected alias of a covered model points to now (its ``gov.<alias>``
        tag changes when the alias moves)."""
        rule = self.gate.covering_rule(name)
        if rule is None or not rule.protects_alias(alias):
            return None
        return alias_version(self._inner, name, alias)

    def _refresh_versions(self, name, versions) -> None:
        for version in dict.fromkeys(v for v in versions if v is not None):
            self.status_tags.refresh(name, version)

    def delete_model_version(self, name, version):
        grant = self.gate.before_delete_version(name, version)
        with self._governed(grant, "model_version.deleted", model=name, version=version):
            return self._inner.delete_model_version(name, version)

    def get_model_version(self, name, version):
        return self._inner.get_model_version(name, version)

    def get_model_version_download_uri(self, name, version):
        return self.pinner.served_uri(name, version)

    def search_model_versions(
        self, filter_string=None, max_results=10000, order_by=None, page_token=None
    ):
        return self._inner.search_model_versions(
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def set_model_version_tag(self, name, version, tag):
        recount = False
        if self.gate.active:
            self.gate.check_tag_write(name, tag.key)
            recount = self.gate.needs_recount(name, tag.key)
        details = {"key": tag.key, "value": tag.value}
        with self._operation(
            "model_version_tag.set", model=name, version=version, details=details
        ):
            result = self._inner.set_model_version_tag(name, version, tag)
        if recount:
            self.gate.after_version_change(name, version)
        return result

    def delete_model_version_tag(self, name, version, key):
        recount = False
        if self.gate.active:
            self.gate.check_tag_write(name, key)
            recount = self.gate.needs_recount(name, key)
        with self._operation(
            "model_version_tag.deleted", model=name, version=version, details={"key": key}
        ):
            result = self._inner.delete_model_version_tag(name, version, key)
        if recount:
            self.gate.after_version_change(name, version)
        return result

    def copy_model_version(self, src_mv, dst_name):
        details = {"copied_from": f"models:/{src_mv.name}/{src_mv.version}"}
        covered = self.gate.covering_rule(src_mv.name) is not None or self.gate.covering_rule(dst_name) is not None
        if covered and any(is_status_tag(key) for key in (src_mv.tags or {})):
            # The source's governance state says nothing about the copy (and a covered
            # destination reserves these keys).
            src_mv = copy.copy(src_mv)
            src_mv._tags = {k: v for k, v in src_mv.tags.items() if not is_status_tag(k)}
        with self._operation("model_version.created", model=dst_name, details=details):
            mv = self._inner.copy_model_version(src_mv, dst_name)
        self._pin_new(dst_name, mv.version)
        if self.gate.covering_rule(dst_name) is not None:
            self.status_tags.refresh(dst_name, mv.version)
        return mv

    # -- aliases ----------------------------------------------------------------------------

    def set_registered_model_alias(self, name, alias, version):
        grant = self.gate.before_set_alias(name, alias, version)
        follow = self.gate.ungoverned_rollback(name, alias, version) if grant is None else []
        held = self._alias_holder(name, alias) if grant is not None else None
        with self._governed(
            grant, "model_version_alias.created", model=name, alias=alias, version=version, follow=follow
        ):
            result = self._inner.set_registered_model_alias(name, alias, version)
        if grant is not None:
            self._refresh_versions(name, [held, str(version)])
        return result

    def delete_registered_model_alias(self, name, alias):
        grant = self.gate.before_delete_alias(name, alias)
        held = self._alias_holder(name, alias)
        with self._governed(grant, "model_version_alias.deleted", model=name, alias=alias):
            result = self._inner.delete_registered_model_alias(name, alias)
        self._refresh_versions(name, [held])
        return result

    def get_model_version_by_alias(self, name, alias):
        return self._inner.get_model_version_by_alias(name, alias)

    # -- prompts (registered models underneath; audited under prompt actions) ---------------

    def create_prompt(self, name, description=None, tags=None):
        with self._operation("prompt.created", model=name):
            return self._inner.create_prompt(name, description=description, tags=tags)

    def search_prompts(self, filter_string=None, max_results=None, order_by=None, page_token=None):
        return self._inner.search_prompts(
            filter_string=filter_string,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def delete_prompt(self, name):
        grant = self.gate.before_delete_model(name)
        with self._governed(grant, "prompt.deleted", model=name):
            return self._inner.delete_prompt(name)

    def set_prompt_tag(self, name, key, value):
        with self._operation("prompt_tag.set", model=name, details={"key": key, "value": value}):
            return self._inner.set_prompt_tag(name, key, value)

    def delete_prompt_tag(self, name, key):
        with self._operation("prompt_tag.deleted", model=name, details={"key": key}):
            return self._inner.delete_prompt_tag(name, key)

    def get_prompt(self, name):
        return self._inner.get_prompt(name)

    def create_prompt_version(
        self, name, template, description=None, tags=None, response_format=None, model_config=None
    ):
        with self._operation("prompt_version.created", model=name):
            return self._inner.create_prompt_version(
                name,
                template,
                description=description,
                tags=tags,
                response_format=response_format,
                model_config=model_config,
            )

    def get_prompt_version(self, name, version):
        return self._inner.get_prompt_version(name, version)

    def delete_prompt_version(self, name, version):
        grant = self.gate.before_delete_version(name, version)
        with self._governed(grant, "prompt_version.deleted", model=name, version=version):
            return self._inner.delete_prompt_version(name, version)

    def get_prompt_version_by_alias(self, name, alias):
        return self._inner.get_prompt_version_by_alias(name, alias)

    def set_prompt_alias(self, name, alias, version):
        grant = self.gate.before_set_alias(name, alias, version)
        with self._governed(grant, "prompt_alias.created", model=name, alias=alias, version=version):
            return self._inner.set_prompt_alias(name, alias, version)

    def delete_prompt_alias(self, name, alias):
        grant = self.gate.before_delete_alias(name, alias)
        with self._governed(grant, "prompt_alias.deleted", model=name, alias=alias):
            return self._inner.delete_prompt_alias(name, alias)

    def search_prompt_versions(self, name, max_results=None, page_token=None):
        return self._inner.search_prompt_versions(
            name, max_results=max_results, page_token=page_token
        )

    def link_prompts_to_trace(self, prompt_versions, trace_id):
        with self._operation("prompt_version.linked_to_trace", details={"trace_id": trace_id}):
            return self._inner.link_prompts_to_trace(prompt_versions, trace_id)

    def set_prompt_version_tag(self, name, version, key, value):
        if self.gate.active:
            self.gate.check_tag_write(name, key)
        details = {"key": key, "value": value}
        with self._operation("prompt_version_tag.set", model=name, version=version, details=details):
            return self._inner.set_prompt_version_tag(name, version, key, value)

    def delete_prompt_version_tag(self, name, version, key):
        if self.gate.active:
            self.gate.check_tag_write(name, key)
        with self._operation(
            "prompt_version_tag.deleted", model=name, version=version, details={"key": key}
        ):
            return self._inner.delete_prompt_version_tag(name, version, key)

    def link_prompt_version_to_model(self, name, version, model_id):
        details = {"model_id": model_id}
        with self._operation(
            "prompt_version.linked_to_model", model=name, version=version, details=details
        ):
            return self._inner.link_prompt_version_to_model(name, version, model_id)

    def link_prompt_version_to_run(self, name, version, run_id):
        details = {"run_id": run_id}
        with self._operation(
            "prompt_version.linked_to_run", model=name, version=version, details=details
        ):
            return self._inner.link_prompt_version_to_run(name, version, run_id)

    # -- MLflow's native webhooks (secrets never reach the audit log) -----------------------

    def create_webhook(self, name, url, events, description=None, secret=None, status=None):
        with self._operation("mlflow_webhook.created", details={"name": name, "url": url}):
            return self._inner.create_webhook(
                name, url, events, description=description, secret=secret, status=status
            )

    def get_webhook(self, webhook_id):
        return self._inner.get_webhook(webhook_id)

    def list_webhooks(self, max_results=None, page_token=None):
        return self._inner.list_webhooks(max_results=max_results, page_token=page_token)

    def list_webhooks_by_event(self, event, max_results=None, page_token=None):
        return self._inner.list_webhooks_by_event(
            event, max_results=max_results, page_token=page_token
        )

    def update_webhook(
        self,
        webhook_id,
        name=None,
        description=None,
        url=None,
        events=None,
        secret=None,
        status=None,
    ):
        with self._operation("mlflow_webhook.updated", details={"webhook_id": webhook_id}):
            return self._inner.update_webhook(
                webhook_id,
                name=name,
                description=description,
                url=url,
                events=events,
                secret=secret,
                status=status,
            )

    def delete_webhook(self, webhook_id):
        with self._operation("mlflow_webhook.deleted", details={"webhook_id": webhook_id}):
            return self._inner.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id, event=None):
        return self._inner.test_webhook(webhook_id, event=event)

    # -- MLflow's own private helpers -------------------------------------------------------
    # MLflow's store tests and some of its tooling reach these on a SQL registry store. Each is
    # a read (or engine housekeeping) on the inner store, delegated explicitly so the governed
    # store stays a drop-in; none of them changes registry data.

    @property
    def ManagedSessionMaker(self):  # noqa: N802 - MLflow's name
        """The inner store's session factory (the audit hook sees every session it opens)."""
        return self._inner.ManagedSessionMaker

    def _get_sql_model_version_including_deleted(self, name, version):
        return self._inner._get_sql_model_version_including_deleted(name, version)

    def _get_registered_model(self, session, name, eager=False):
        return self._inner._get_registered_model(session, name, eager=eager)

    def _get_sql_model_version(self, session, name, version, eager=False):
        return self._inner._get_sql_model_version(session, name, version, eager=eager)

    def _get_registered_model_tag(self, session, name, key):
        return self._inner._get_registered_model_tag(session, name, key)

    def _get_model_version_tag(self, session, name, version, key):
        return self._inner._get_model_version_tag(session, name, version, key)

    def _get_registered_model_alias(self, session, name, alias):
        return self._inner._get_registered_model_alias(session, name, alias)

    def _get_webhook_by_id(self, session, webhook_id):
        return self._inner._get_webhook_by_id(session, webhook_id)

    def _get_dialect(self):
        return self._inner._get_dialect()

    def _dispose_engine(self):
        return self._inner._dispose_engine()

    def _await_model_version_creation(self, mv, await_creation_for):
        return self._inner._await_model_version_creation(mv, await_creation_for)

    # -- pickling (MLflow pickles stores into evaluation subprocesses) ----------------------

    def __getstate__(self):
        return {"store_uri": self.store_uri, "tracking_uri": self.tracking_uri}

    def __setstate__(self, state):
        self.__init__(state["store_uri"], state["tracking_uri"])

