"""Every endpoint answers errors in MLflow's JSON shape, ``{"error_code", "message"}``, with the
status that goes with the code (the stock UI shows ``message``; a plain-text body would show only
INTERNAL_ERROR)."""

from __future__ import annotations

import pytest

from mlflow_registry_ext import routes
from mlflow_registry_ext.api import OPERATIONS, path_for
from tests.support.governance_servers import call
from tests.support.operations import query_fields

pytestmark = [pytest.mark.server, pytest.mark.slow]

STATUS_OF = {
    "INVALID_PARAMETER_VALUE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
}


def _failing_request(op):
    """A request ``op`` must refuse: unknown ids, a missing required input, an unknown body field
    or a value outside the declared ones."""
    params = {name: "no-such-id" for name in op.path_params}
    body = None
    query = {}
    if op.body is not None:
        body = {"unexpected": 1}
    elif not any(f.required for f in query_fields(op)):
        for field in query_fields(op):
            if field.enum or field.type in ("integer", "boolean") or field.name == "since":
                query[field.name] = "bogus"
                break
    method, path = path_for(op.name, **params)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return method, path, body


def assert_mlflow_error(status, body, headers, where):
    assert isinstance(body, dict), f"{where}: not JSON: {body!r}"
    assert isinstance(body.get("error_code"), str) and isinstance(body.get("message"), str), where
    assert body["message"], where
    assert headers.get("Content-Type", headers.get("content-type", "")).startswith("application/json"), where
    assert STATUS_OF[body["error_code"]] == status, f"{where}: {status} {body}"


def test_every_endpoint_refuses_bad_input_with_mlflow_json(open_server):
    checked = []
    for name, op in OPERATIONS.items():
        method, path, body = _failing_request(op)
        if not op.path_params and op.body is None and "?" not in path and not any(
                f.required for f in query_fields(op)):
            continue  # nothing to get wrong (whoami, keys_get, health_get, audit_drift): covered by the 401 sweep below
        status, answer, headers = call(open_server.url + path, method, body)
        assert 400 <= status < 500, f"{method} {path}: {status} {answer}"
        assert_mlflow_error(status, answer, headers, f"{method} {path}")
        checked.append(name)
    assert set(OPERATIONS) - set(checked) == {"whoami", "keys_get", "health_get", "audit_drift"}


def test_every_endpoint_answers_401_json_without_credentials(auth_server):
    for name, op in OPERATIONS.items():
        params = {p: "x" for p in op.path_params}
        method, path = path_for(name, prefix=routes.AJAX_PREFIX, **params)
        status, answer, headers = call(auth_server.url + path, method, {} if method != "GET" else None)
        assert status == 401, f"{method} {path}: {status}"
        assert_mlflow_error(status, answer, headers, f"{method} {path}")
        assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Basic")


def test_unknown_paths_and_methods_answer_json(open_server):
    status, answer, headers = call(open_server.url + routes.API_PREFIX + "/no-such-thing")
    assert status == 404
    assert_mlflow_error(status, answer, headers, "unknown path")
    status, answer, _ = call(open_server.url + routes.AJAX_PREFIX + "/audit", "DELETE")
    assert status == 405 and answer["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "allowed: GET" in answer["message"]
