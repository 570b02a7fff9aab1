"""The governance REST API and reviewer page as Flask Blueprints.

:func:`install` registers, on MLflow's Flask app:

* every operation of :data:`mlflow_registry_ext.api.OPERATIONS` under both prefixes (behind
  ``--static-prefix`` when one is set), each answered by the view bound to it (``@serves``),
  its inputs parsed by its declared models (:mod:`mlflow_registry_ext.api.validation`),
  authorized by :mod:`.access`, and answered as JSON (errors in MLflow's shape, see :mod:`.errors`);
* a JSON 404/405 for any other path under the prefixes;
* the OpenAPI document at ``.../governance/openapi.json``;
* the reviewer page at ``/governance/`` with its static files.

Example:
    >>> install(flask_app)   # what create_app does
"""

from __future__ import annotations

import json
from typing import Any, Callable

from flask import Blueprint, Response, current_app, request

from mlflow_registry_ext import routes, settings
from mlflow_registry_ext.api import OPERATIONS, Operation
from mlflow_registry_ext.api import validation as inputs
from mlflow_registry_ext.cli._context import to_jsonable
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server import errors
from mlflow_registry_ext.server.access import Access
from mlflow_registry_ext.server.context import CONTEXT_KEY, ApiContext

__all__ = ["install", "static_prefix", "to_json", "MAX_BODY_BYTES"]

#: Largest request body accepted (fairness data uploads are the big ones).
MAX_BODY_BYTES = 64 * 1024 * 1024
_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
_FALLBACK = "__not_found"


def static_prefix() -> str:
    """``--static-prefix`` as ``mlflow server`` passed it to its workers (``""`` when unset)."""
    from mlflow.server import STATIC_PREFIX_ENV_VAR

    return (settings.read(STATIC_PREFIX_ENV_VAR) or "").rstrip("/")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """Entities (``to_dict``), dataclasses and containers as a JSON document."""
    return json.dumps(to_jsonable(value), default=_json_default)


def _context() -> ApiContext:
    return current_app.extensions[CONTEXT_KEY]


def _read_body() -> bytes:
    too_large = InvalidInput(f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise too_large
    # A chunked body has no length: read one byte past the limit, never the whole stream.
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise too_large
    return data


def _handler(op: Operation, view: Callable[..., Any]) -> Callable[..., Response]:
    def handle(**view_args):
        values = inputs.parse_path(op, view_args)
        values.update(inputs.parse_query(op, request.args))
        values.update(inputs.parse_body(op, _read_body() if op.body is not None else b""))
        access = Access.current()
        access.check(op.access, values.get("model"))
        result = view(_context(), access, **values)
        if isinstance(result, Response):
            return result
        return Response(to_json(result), mimetype="application/json")

    handle.__name__ = op.name
    return handle


def _not_found(rest: str = ""):
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    adapter = current_app.url_map.bind("")
    allowed = sorted(
        m for m in _METHODS
        if m != request.method and _matches_specific(adapter, request.path, m)
    )
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed, description=(
            f"{request.method} is not allowed on {request.path} (allowed: {', '.join(allowed)})"))
    raise NotFound(description=f"No governance endpoint {request.method} {request.path}")


def _matches_specific(adapter, path: str, method: str) -> bool:
    from werkzeug.exceptions import HTTPException

    try:
        endpoint, _ = adapter.match(path, method=method)
    except HTTPException:
        return False
    return not endpoint.endswith(_FALLBACK)


def _api_blueprint(prefix: str) -> Blueprint:
    from mlflow_registry_ext.server.openapi import openapi_document
    from mlflow_registry_ext.server.views import bound_views

    views = bound_views()
    unserved = sorted(set(OPERATIONS) - set(views))
    if unserved:
        raise RuntimeError(f"No view serves {', '.join(unserved)}")
    api = Blueprint("mlflow_registry_ext_api", __name__)
    for name, op in OPERATIONS.items():
        handler = _handler(op, views[name])
        for n, base in enumerate(routes.PREFIXES):
            api.add_url_rule(prefix + base + op.path, endpoint=f"{name}_{n}", view_func=handler, methods=[op.method])

    def openapi():
        return Response(json.dumps(openapi_document(static_prefix())), mimetype="application/json")

    for n, base in enumerate(routes.PREFIXES):
        api.add_url_rule(prefix + base + routes.OPENAPI_PATH, endpoint=f"openapi_{n}", view_func=openapi)
        api.add_url_rule(prefix + base, endpoint=f"root_{n}{_FALLBACK}", view_func=_not_found, methods=_METHODS)
        api.add_url_rule(
            prefix + base + "/<path:rest>", endpoint=f"any_{n}{_FALLBACK}", view_func=_not_found, methods=_METHODS
        )
    api.register_error_handler(Exception, errors.handle_exception)
    api.after_request(errors.json_auth_refusals)
    return api


def install(app, context: ApiContext | None = None) -> None:
    """Register the API, the OpenAPI document and the reviewer page on ``app`` (once)."""
    if CONTEXT_KEY in app.extensions:
        return
    from mlflow_registry_ext.server.page import page_blueprint

    app.extensions[CONTEXT_KEY] = context or ApiContext()
    prefix = static_prefix()
    app.register_blueprint(_api_blueprint(prefix))
    app.register_blueprint(page_blueprint(prefix))
