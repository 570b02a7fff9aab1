"""Authentication for the ``governance`` app: MLflow's basic auth, wrapped, or a trusted proxy's
header, and who the caller is.

``MLFLOW_GOVERNANCE_AUTH=basic`` makes :func:`enable_auth` install MLflow's own basic-auth app
(``mlflow.server.auth.create_app``: its users, passwords, admin flag and per-model permissions,
configured as usual with ``MLFLOW_AUTH_CONFIG_PATH``) before anything of ours, so a single
``--app-name governance`` gives both, and MLflow authenticates every request before our hooks read
the user. ``MLFLOW_GOVERNANCE_AUTH=proxy`` takes the user from a header set by a trusted reverse
proxy instead (:mod:`.proxy_auth`).

Example:
    >>> auth_mode({"MLFLOW_GOVERNANCE_AUTH": "basic"})
    'basic'
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from mlflow.exceptions import MlflowException

from mlflow_registry_ext import routes
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = ["AUTH_ENV_VAR", "auth_mode", "enable_auth", "active_mode", "auth_enabled", "authenticated_user", "is_admin",
           "model_permission"]

AUTH_ENV_VAR = settings.AUTH.name
_MODES = ("basic", "proxy")
_PROXY_KEY = "mlflow_registry_ext.proxy_auth"
_PROXY_USER = "_governance_proxy_user"


def auth_mode(environ: Mapping[str, str] | None = None) -> str | None:
    """``basic`` or ``None`` (authentication off), from ``MLFLOW_GOVERNANCE_AUTH``.

    Raises:
        InvalidInput: An unknown value (a typo must not silently turn authentication off).
    """
    value = (settings.AUTH.get(environ) or "").lower()
    if value in ("", "none", "off", "false", "0"):
        return None
    if value not in _MODES:
        raise InvalidInput(f"{AUTH_ENV_VAR} must be 'basic', 'proxy' or unset, got {value!r}")
    return value


def enable_auth(app) -> Any | None:
    """Install MLflow's basic-auth app on ``app`` when ``MLFLOW_GOVERNANCE_AUTH=basic``, or the
    trusted-proxy check when it is ``proxy``.

    Returns:
        What MLflow's auth factory returned (its ASGI app under uvicorn, else the Flask app), or
        ``None`` when MLflow's basic auth is not used.
    """
    mode = auth_mode()
    if mode is None:
        return None
    if mode == "proxy":
        _enable_proxy(app)
        return None
    import mlflow.server.auth as mlflow_auth

    served = mlflow_auth.create_app(app)
    _leave_authorization_to_us(mlflow_auth)
    return served


def _leave_authorization_to_us(mlflow_auth) -> None:
    """Let our routes past MLflow's fail-closed check once it has authenticated the user.

    MLflow (3.x, ``MLFLOW_BASIC_AUTH_FAIL_CLOSED``) refuses any route it has no validator for;
    ours authorize each request themselves (:mod:`.access`), after MLflow authenticated it, so
    they are listed among the routes MLflow leaves to their handlers.
    """
    markers = getattr(mlflow_auth, "_KNOWN_UNGATED_ROUTE_MARKERS", None)
    if markers is None:
        return
    ours = (routes.API_PREFIX, routes.AJAX_PREFIX, routes.PAGE_PATH.rstrip("/"))
    mlflow_auth._KNOWN_UNGATED_ROUTE_MARKERS = tuple(dict.fromkeys((*markers, *ours)))


def _enable_proxy(app) -> None:
    from flask import g, request

    from mlflow_registry_ext.server.errors import error_response
    from mlflow_registry_ext.server.proxy_auth import ProxyConfig

    config = ProxyConfig.from_environ(None)
    app.extensions[_PROXY_KEY] = config

    def authenticate():
        try:
            user = config.user_of(request.path, request.remote_addr, request.headers)
        except MlflowException as exc:
            return error_response(exc)
        setattr(g, _PROXY_USER, user)
        return None

    app.before_request(authenticate)


def _proxy_config():
    from flask import current_app, has_app_context

    return current_app.extensions.get(_PROXY_KEY) if has_app_context() else None


def _auth_module():
    module = sys.modules.get("mlflow.server.auth")
    if module is None or not getattr(module, "_auth_initialized", False):
        return None
    return module


def active_mode() -> str | None:
    """``basic`` or ``proxy`` when one guards this server, else ``None``."""
    if _proxy_config() is not None:
        return "proxy"
    return "basic" if _auth_module() is not None else None


def auth_enabled() -> bool:
    """Whether MLflow's basic auth or a trusted proxy guards this server."""
    return active_mode() is not None


def authenticated_user() -> str | None:
    """The user MLflow's basic auth or the trusted proxy authenticated for the current request."""
    from flask import g, request

    if _proxy_config() is not None:
        return getattr(g, _PROXY_USER, None)
    # Set by MLflow's basic auth (newer 3.x) after it validated the credentials of this request.
    user = getattr(g, "mlflow_authenticated_user", None)
    if user:
        return str(user)
    auth = _auth_module()
    if auth is None:
        return None
    if auth.is_unprotected_route(request.path):
        return None
    # Older MLflow: its before_request hook ran first and refused bad credentials.
    credentials = request.authorization
    return credentials.username if credentials and credentials.username else None


def is_admin(user: str) -> bool:
    """Whether ``user`` is an MLflow admin (cached for the request)."""
    from flask import g

    proxy = _proxy_config()
    if proxy is not None:
        return user in proxy.admins
    cache = g.setdefault("_governance_admin", {})
    if user not in cache:
        auth = _auth_module()
        try:
            cache[user] = bool(auth is not None and auth.store.get_user(user).is_admin)
        except Exception:  # noqa: BLE001 - an unknown or deleted user is simply not an admin
            cache[user] = False
    return cache[user]


def model_permission(name: str):
    """MLflow's permission of the current user on registered model ``name`` (cached per request).

    Uses the resolution of the installed MLflow (resource grants, roles and workspaces where it
    has them), falling back to the user's grant or the configured default permission.
    """
    from flask import g

    if _proxy_config() is not None:
        from mlflow_registry_ext.server.proxy_auth import FullPermission

        return FullPermission()
    cache = g.setdefault("_governance_model_permissions", {})
    if name not in cache:
        cache[name] = _resolve_permission(name)
    return cache[name]


def _resolve_permission(name: str):
    auth = _auth_module()
    resolve = getattr(auth, "_get_registered_model_permission", None)
    if resolve is not None:
        return resolve(name)
    username = authenticated_user()
    workspace = getattr(auth, "_workspace_permission_for_registered_model", None)
    kwargs = {}
    if workspace is not None:
        kwargs["workspace_level_permission_func"] = lambda: workspace(username, name)
    return auth._get_permission_from_store_or_default(
        lambda: auth.store.get_registered_model_permission(name, username).permission, **kwargs
    )
