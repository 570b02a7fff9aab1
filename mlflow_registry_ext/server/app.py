"""``mlflow server --app-name governance``: MLflow's server plus the governance machinery.

:func:`create_app` takes MLflow's Flask app and

* binds the identity of every request (:mod:`mlflow_registry_ext.identity`): the user MLflow's
  basic auth authenticated when it is on, else the server process's own identity; never a value
  from the request body;
* starts the webhook dispatcher: one thread per server process, of which only the holder of the
  ``server-dispatcher`` lease dispatches, so a deployment sends from one process however many
  workers it runs (``webhooks worker`` processes can add capacity beside it);
* with a log key, starts the audit checkpointer the same way (lease ``server-checkpointer``):
  a signed checkpoint every N entries or T seconds (:mod:`mlflow_registry_ext.audit.auto_checkpoint`);
* starts the periodic reconcile (:mod:`mlflow_registry_ext.audit.periodic`), likewise once per
  deployment, every ``MLFLOW_GOVERNANCE_RECONCILE_INTERVAL`` seconds;
* registers the REST API, its OpenAPI document and the reviewer page
  (:mod:`mlflow_registry_ext.server.blueprint`), and with ``MLFLOW_GOVERNANCE_AUTH=basic`` first
  installs MLflow's basic-auth app (:mod:`mlflow_registry_ext.server.auth`);
* returns the ASGI app under uvicorn (MLflow's default) or the Flask app under gunicorn and
  waitress, as MLflow's own basic-auth app does.

Its state lives in ``app.extensions["mlflow_registry_ext"]``.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import re
import uuid

from mlflow_registry_ext import identity
from mlflow_registry_ext.server.auth import active_mode, authenticated_user, enable_auth
from mlflow_registry_ext.server.blueprint import install
from mlflow_registry_ext import settings

__all__ = ["create_app", "EXTENSION_KEY", "GovernanceAppState"]

_log = logging.getLogger(__name__)

EXTENSION_KEY = "mlflow_registry_ext"
_TOKEN_KEY = "_mlflow_registry_ext_identity"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclasses.dataclass
class GovernanceAppState:
    """What the app keeps per process.

    Attributes:
        registry_uri: The registry store URI the server was started with.
        auth_app: What MLflow's basic-auth factory returned, when ``MLFLOW_GOVERNANCE_AUTH=basic``.
        db: The governance database, when one could be derived from it.
        dispatcher: The background webhook dispatcher of this process.
        checkpointer: The background audit checkpointer of this process (with a log key).
        reconciler: The periodic reconcile of this process (``MLFLOW_GOVERNANCE_RECONCILE_INTERVAL``).
        pid: The process that started the dispatcher (a forked child starts its own).
    """

    registry_uri: str | None
    auth_app: object | None = None
    db: object | None = None
    dispatcher: object | None = None
    checkpointer: object | None = None
    reconciler: object | None = None
    pid: int = 0


def create_app(app=None):
    """The ``governance`` app factory (MLflow calls it with no arguments).

    Args:
        app: MLflow's Flask app (default: ``mlflow.server.app``).

    Returns:
        An ASGI app under uvicorn, else the Flask app.

    Example:
        ``mlflow server --app-name governance --registry-store-uri governed+sqlite:///mlflow.db``
    """
    if app is None:
        from mlflow.server import app as mlflow_app

        app = mlflow_app
    state = app.extensions.get(EXTENSION_KEY)
    if state is None:
        from mlflow_registry_ext.server.policy_guard import check_policy_configured

        check_policy_configured()
        # A signing key that is configured but unusable stops the server before it serves:
        # promotions must never quietly go unsigned.
        from mlflow_registry_ext.signing.approval_signer import ApprovalSigner

        ApprovalSigner.from_env()
        settings.ARTIFACT_CHECK_INTERVAL.get()  # a malformed interval stops the server here
        # Likewise a log key or checkpoint schedule that cannot be used stops it: checkpoints
        # must never quietly stop being made.
        from mlflow_registry_ext import keys
        from mlflow_registry_ext.audit.auto_checkpoint import Schedule

        keys.load_log_key()
        Schedule.from_env()
        # MLflow's basic auth goes first, so its hook has authenticated the request before ours
        # reads the user.
        auth_app = enable_auth(app)
        state = GovernanceAppState(registry_uri=_registry_uri(), auth_app=auth_app)
        app.extensions[EXTENSION_KEY] = state
        app.before_request(_bind_identity)
        app.teardown_request(_unbind_identity)
        install(app)
    if state.pid != os.getpid():
        _start_dispatcher(state)
    return state.auth_app if state.auth_app is not None else _served(app)


def _registry_uri() -> str | None:
    from mlflow.server.constants import BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR

    return settings.read(REGISTRY_STORE_URI_ENV_VAR) or settings.read(BACKEND_STORE_URI_ENV_VAR)


def _start_dispatcher(state: GovernanceAppState) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow_registry_ext.db.database import GovernanceDatabase
    from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
    from mlflow_registry_ext.db.lease import Lease
    from mlflow_registry_ext.webhooks.runner import SERVER_LEASE, BackgroundDispatcher

    state.pid = os.getpid()
    try:
        db = GovernanceDatabase.for_registry_uri(state.registry_uri)
    except MlflowException as exc:
        _log.warning("Webhook dispatcher not started: no governance database (%s)", exc.message)
        return
    runner = BackgroundDispatcher(Dispatcher(db), lease=Lease(db, SERVER_LEASE))
    runner.start()
    state.db, state.dispatcher = db, runner
    atexit.register(runner.stop, 20.0)
    _start_artifact_watch(db)
    _start_checkpointer(state, db)
    _start_reconciler(state, db)


def _start_artifact_watch(db) -> None:
    """Check pinned versions' sources every so often (one process of the deployment at a time)."""
    from mlflow_registry_ext.periodic import PeriodicJob
    from mlflow_registry_ext.registry.artifact_watch import LEASE, check_pinned_versions

    interval = settings.ARTIFACT_CHECK_INTERVAL.get()
    if interval <= 0:
        return

    reported: set = set()

    def run() -> None:
        from mlflow.server.handlers import _get_model_registry_store

        store = _get_model_registry_store()
        if getattr(store, "pinner", None) is None:
            return
        for change in check_pinned_versions(store):
            if change in reported:
                continue
            reported.add(change)
            model, version, found = change
            _log.warning("The source of %s version %s changed after pinning (now %s); the pinned files are "
                         "still served", model, version, found)

    job = PeriodicJob(db, LEASE, interval, run)
    job.start()
    atexit.register(job.stop, 5.0)


def _start_checkpointer(state: GovernanceAppState, db) -> None:
    """Automatic audit checkpoints, when a log key is configured (see :mod:`.auto_checkpoint`)."""
    from mlflow_registry_ext import keys
    from mlflow_registry_ext.audit.auto_checkpoint import LEASE_NAME, BackgroundCheckpointer, Schedule
    from mlflow_registry_ext.db.lease import Lease

    key = keys.load_log_key()
    schedule = Schedule.from_env()
    if key is None or not schedule.enabled:
        return
    checkpointer = BackgroundCheckpointer(db, schedule, key, lease=Lease(db, LEASE_NAME))
    checkpointer.start()
    state.checkpointer = checkpointer
    atexit.register(checkpointer.stop, 10.0)


def _start_reconciler(state: GovernanceAppState, db) -> None:
    from mlflow_registry_ext.audit.periodic import PeriodicReconciler
    from mlflow_registry_ext.db.engine import get_engine
    from mlflow_registry_ext.db.database import inner_registry_uri

    interval = settings.RECONCILE_INTERVAL.get()
    if interval <= 0 or not (state.registry_uri or "").startswith("governed+"):
        return
    engine = get_engine(inner_registry_uri(state.registry_uri), for_reads=True)
    reconciler = PeriodicReconciler(db, engine, interval)
    reconciler.start()
    state.reconciler = reconciler
    atexit.register(reconciler.stop, 5.0)


def _bind_identity():
    from flask import g, request

    header = request.headers.get("X-Request-Id", "")
    request_id = header if _REQUEST_ID.match(header) else uuid.uuid4().hex
    user = authenticated_user()
    if user:
        actor, source = user, ("proxy" if active_mode() == "proxy" else "authenticated")
    else:
        # No login: the server process's own identity, which proves nothing about the caller.
        fallback = identity.current()
        actor, source = fallback.actor, fallback.source
    token = identity.set_request(
        identity.RequestIdentity(actor=actor, request_id=request_id, client_addr=request.remote_addr, source=source)
    )
    setattr(g, _TOKEN_KEY, token)


def _unbind_identity(_exc=None):
    from flask import g

    token = g.pop(_TOKEN_KEY, None)
    if token is None:
        return
    try:
        identity.reset_request(token)
    except ValueError:
        # Reset from another context (an unusual server); the context dies with the request.
        pass


def _served(app):
    from mlflow.environment_variables import _MLFLOW_SGI_NAME

    if _MLFLOW_SGI_NAME.get() == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(app)
    return app
