"""``mlflow server --app-name governance``: MLflow's server plus the governance machinery.

:func:`create_app` takes MLflow's Flask app and

* binds the identity of every request (:mod:`mlflow_registry_ext.identity`): the user MLflow's
  basic auth authenticated when it is on, else the server process's own identity; never a value
  from the request body;
* starts the webhook dispatcher: one thread per server process, of which only the holder of the
  ``server-dispatcher`` lease dispatches, so a deployment sends from one process however many
  workers it runs (``webhooks worker`` processes can add capacity beside it);
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
import sys
import uuid

from mlflow_registry_ext import identity

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
        db: The governance database, when one could be derived from it.
        dispatcher: The background webhook dispatcher of this process.
        pid: The process that started the dispatcher (a forked child starts its own).
    """

    registry_uri: str | None
    db: object | None = None
    dispatcher: object | None = None
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
        state = GovernanceAppState(registry_uri=_registry_uri())
        app.extensions[EXTENSION_KEY] = state
        app.before_request(_bind_identity)
        app.teardown_request(_unbind_identity)
    if state.pid != os.getpid():
        _start_dispatcher(state)
    return _served(app)


def _registry_uri() -> str | None:
    from mlflow.server.constants import BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR

    return os.environ.get(REGISTRY_STORE_URI_ENV_VAR) or os.environ.get(BACKEND_STORE_URI_ENV_VAR)


def _start_dispatcher(state: GovernanceAppState) -> None:
    from mlflow.exceptions import MlflowException

    from mlflow_registry_ext.governance.database import GovernanceDatabase
    from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
    from mlflow_registry_ext.webhooks.leader import Lease
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


def _authenticated_user() -> str | None:
    from flask import g, request

    # Set by MLflow's basic auth (3.x) after it validated the credentials of this request.
    user = getattr(g, "mlflow_authenticated_user", None)
    if user:
        return str(user)
    auth = sys.modules.get("mlflow.server.auth")
    if auth is None or not getattr(auth, "_auth_initialized", False):
        return None
    unprotected = getattr(auth, "is_unprotected_route", None)
    if unprotected is not None and unprotected(request.path):
        return None
    # Older MLflow: its before_request hook ran first and refused bad credentials.
    credentials = request.authorization
    return credentials.username if credentials and credentials.username else None


def _bind_identity():
    from flask import g, request

    header = request.headers.get("X-Request-Id", "")
    request_id = header if _REQUEST_ID.match(header) else uuid.uuid4().hex
    actor = _authenticated_user() or identity.current().actor
    token = identity.set_request(
        identity.RequestIdentity(actor=actor, request_id=request_id, client_addr=request.remote_addr)
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
