"""HTTP calls of the REST client: MLflow's auth and TLS settings, MLflow's error JSON.

It reuses MLflow's ``http_request`` so the credentials and TLS options a user already set for
MLflow (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``/``TOKEN``, ``MLFLOW_TRACKING_INSECURE_TLS``,
...) apply unchanged, and turns an error response into the ``MlflowException`` the server
raised, with the same error code.

Example:
    A server that does not answer is named, with the reason:

    >>> RestTransport("http://127.0.0.1:9").call("health_get")
    Traceback (most recent call last):
        ...
    mlflow_registry_ext.errors.ServerUnreachable: ...http://127.0.0.1:9...connection refused...
"""

from __future__ import annotations

import json
from typing import Any

from mlflow.exceptions import MlflowException, RestException

from mlflow_registry_ext.api import path_for

__all__ = ["RestTransport", "unreachable"]


def unreachable(exc: BaseException, uri: str | None = None):
    """The :class:`~mlflow_registry_ext.errors.ServerUnreachable` that ``exc`` really is, if the
    server did not answer at all (refused, unknown host, timed out), else ``None``.

    MLflow's HTTP helper re-raises every ``requests`` failure as a plain ``MlflowException``; the
    original stays in the exception's context, which is where this looks.
    """
    import urllib.parse

    import requests

    from mlflow_registry_ext.errors import ServerUnreachable, causes

    for current in causes(exc):
        if isinstance(current, ServerUnreachable):
            return current
        if isinstance(current, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            request = getattr(current, "request", None)
            if getattr(request, "url", None):
                parts = urllib.parse.urlsplit(request.url)
                uri = f"{parts.scheme}://{parts.netloc}"
            if isinstance(current, requests.exceptions.Timeout):
                reason = "no answer in time"
            elif "Name or service not known" in str(current) or "NameResolutionError" in str(current):
                reason = "unknown host"
            else:
                reason = "connection refused" if "refused" in str(current).lower() else "no connection"
            return ServerUnreachable(uri or "the tracking URI", reason)
    return None


class RestTransport:
    """Calls governance operations on one server by their names (their declarations in
    :mod:`mlflow_registry_ext.api` give the method and path)."""

    def __init__(self, tracking_uri: str):
        from mlflow.utils.credentials import get_default_host_creds

        self.tracking_uri = tracking_uri.rstrip("/")
        self._creds = get_default_host_creds(self.tracking_uri)

    def call(
        self,
        operation: str,
        *,
        path_params: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        """Call ``operation``; its JSON answer (``raw``: the answer's bytes, for file downloads)."""
        from mlflow.utils.rest_utils import http_request

        method, path = path_for(operation, **(path_params or {}))
        kwargs: dict[str, Any] = {}
        if query:
            kwargs["params"] = {k: v for k, v in query.items() if v is not None}
        if body is not None:
            kwargs["json"] = body
        try:
            response = http_request(self._creds, path, method, max_retries=0, **kwargs)
        except MlflowException as exc:
            error = unreachable(exc, self.tracking_uri)
            if error is not None:
                raise error from None
            raise
        if raw and response.status_code < 400:
            return response.content
        try:
            payload = response.json() if response.content else {}
        except json.JSONDecodeError:
            payload = None
        if response.status_code >= 400:
            if isinstance(payload, dict) and "error_code" in payload:
                raise _coded(payload)
            raise MlflowException(
                f"{method} {path} failed with HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        if payload is None:
            raise MlflowException(f"{method} {path} returned a non-JSON body")
        return payload


def _coded(payload: dict[str, Any]) -> MlflowException:
    from mlflow.protos.databricks_pb2 import ErrorCode

    exc = RestException(payload)
    try:
        code = ErrorCode.Value(payload["error_code"])
    except ValueError:
        return exc
    return MlflowException(payload.get("message", str(exc)), error_code=code)
