"""Every error of the governance API as MLflow's JSON: ``{"error_code": ..., "message": ...}``.

The coded errors of :mod:`mlflow_registry_ext.errors` carry their HTTP status (400, 401, 403, 404,
503, ...); an unknown path or method under the API prefixes answers 404/405 in the same shape; an
unexpected failure answers 500 ``INTERNAL_ERROR`` (and is logged with its traceback). MLflow's
basic auth answers its 401 and 403 in plain text, which the stock UI and our clients cannot show,
so on governance paths those are rewritten into the same JSON (keeping ``WWW-Authenticate``).

Example:
    >>> from mlflow_registry_ext.errors import NotFound
    >>> error_response(NotFound("Webhook 'wh_1' does not exist")).status_code
    404
"""

from __future__ import annotations

import json
import logging

from flask import Response, request
from mlflow.exceptions import MlflowException

__all__ = ["error_response", "json_error", "handle_exception", "json_auth_refusals"]

_log = logging.getLogger(__name__)
_REFUSALS = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def json_error(status: int, error_code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON error response in MLflow's shape."""
    body = json.dumps({"error_code": error_code, "message": message})
    return Response(body, status=status, mimetype="application/json", headers=headers)


def error_response(exc: MlflowException) -> Response:
    """The response MLflow's own handlers give for ``exc``."""
    return Response(exc.serialize_as_json(), status=exc.get_http_status_code(), mimetype="application/json")


def handle_exception(exc: Exception) -> Response:
    """Error handler of the governance blueprint."""
    from werkzeug.exceptions import HTTPException

    if isinstance(exc, MlflowException):
        return error_response(exc)
    if isinstance(exc, HTTPException):
        code = "ENDPOINT_NOT_FOUND" if exc.code in (404, 405) else "BAD_REQUEST"
        if exc.code and exc.code >= 500:
            code = "INTERNAL_ERROR"
        return json_error(exc.code or 500, code, exc.description or exc.name)
    _log.exception("Unexpected error serving %s %s", request.method, request.path)
    return json_error(500, "INTERNAL_ERROR", f"Unexpected error: {type(exc).__name__}: {exc}")


def json_auth_refusals(response: Response) -> Response:
    """``after_request``: MLflow basic auth's plain-text 401/403 on our paths, as JSON."""
    code = _REFUSALS.get(response.status_code)
    if code is None or response.mimetype == "application/json":
        return response
    text = response.get_data(as_text=True).strip()
    if response.status_code == 401:
        message = "You are not authenticated: log in with your MLflow user name and password (HTTP basic auth)"
    else:
        message = f"Permission denied: {text}" if text and text != "Permission denied" else "Permission denied"
    headers = {}
    if "WWW-Authenticate" in response.headers:
        headers["WWW-Authenticate"] = response.headers["WWW-Authenticate"]
    return json_error(response.status_code, code, message, headers)
