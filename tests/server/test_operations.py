"""Each operation is declared once (mlflow_registry_ext.api); the server's routes, views and
OpenAPI document, and the REST client's paths, all come from that declaration."""

from __future__ import annotations

import flask
import pytest
from mlflow.server.constants import REGISTRY_STORE_URI_ENV_VAR

from mlflow_registry_ext import routes
from mlflow_registry_ext.api import ACCESS_LEVELS, OPERATIONS, path_for
from mlflow_registry_ext.server.blueprint import install
from mlflow_registry_ext.server.openapi import openapi_document
from mlflow_registry_ext.server.views import bound_views


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv(REGISTRY_STORE_URI_ENV_VAR, f"governed+sqlite:///{tmp_path / 'r.db'}")
    app = flask.Flask("operations-test")
    install(app)
    return app


def test_every_declaration_has_one_view_a_permission_and_an_answer():
    views = bound_views()
    assert set(views) == set(OPERATIONS)
    for name, op in OPERATIONS.items():
        assert views[name].operation is op
        assert op.access in ACCESS_LEVELS, name
        assert op.response is not None or op.ndjson or op.media, name


def test_a_view_takes_exactly_the_declared_inputs():
    import inspect

    for name, view in bound_views().items():
        op = OPERATIONS[name]
        declared = set(op.path_params)
        for model in (op.query, op.body):
            declared |= set(model.model_fields) if model is not None else set()
        params = inspect.signature(view).parameters
        taken = set(list(params)[2:])
        assert declared <= taken, f"{name} does not take {declared - taken}"
        assert all(params[p].default is not inspect.Parameter.empty for p in taken - declared), name


def test_the_openapi_document_lists_exactly_the_declarations():
    doc = openapi_document()
    documented = {
        (method.upper(), path): item[method] for path, item in doc["paths"].items() for method in item
    }
    expected = {(op.method, routes.openapi_path(routes.API_PREFIX + op.path)): op for op in OPERATIONS.values()}
    assert set(documented) == set(expected)
    for key, op in expected.items():
        entry = documented[key]
        assert entry["operationId"] == op.name and entry["x-access"] == op.access
        if op.response is not None:
            ref = entry["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], op.name
        queried = {p["name"] for p in entry["parameters"] if p["in"] == "query"}
        assert queried == set(op.query.model_fields if op.query else ()), op.name
        if op.body is not None:
            schema = entry["requestBody"]["content"]["application/json"]["schema"]
            assert set(schema["properties"]) == set(op.body.model_fields), op.name
            assert schema["additionalProperties"] is False


def test_the_openapi_document_loads_in_schemathesis_without_errors():
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi_document("/mlflow"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS)


def test_every_operation_is_served_under_both_prefixes(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods}
    for op in OPERATIONS.values():
        for prefix in routes.PREFIXES:
            assert (op.method, prefix + op.path) in served


def test_the_served_document_is_the_generated_one(app):
    client = app.test_client()
    for prefix in routes.PREFIXES:
        response = client.get(prefix + routes.OPENAPI_PATH)
        assert response.status_code == 200
        assert response.get_json() == openapi_document()


def test_path_parameters_are_url_quoted():
    method, path = path_for("approval_requests_get", request_id="a/b c")
    assert (method, path) == ("GET", routes.API_PREFIX + "/approval-requests/a%2Fb%20c")


def test_the_rest_transport_calls_the_declared_method_and_path(monkeypatch):
    import mlflow.utils.rest_utils

    from mlflow_registry_ext.rest_transport import RestTransport

    sent = []

    class Answer:
        status_code, content, text = 200, b"{}", "{}"

        def json(self):
            return {}

    def http_request(creds, path, method, **kwargs):
        kwargs.pop("max_retries", None)
        sent.append((method, path, kwargs))
        return Answer()

    monkeypatch.setattr(mlflow.utils.rest_utils, "http_request", http_request)
    transport = RestTransport("http://127.0.0.1:1")
    transport.call("webhooks_update", path_params={"webhook_id": "wh_1"}, body={"active": False})
    transport.call("audit_list", query={"limit": 5, "model": None})
    assert sent == [
        ("PATCH", routes.API_PREFIX + "/webhooks/wh_1", {"json": {"active": False}}),
        ("GET", routes.API_PREFIX + "/audit", {"params": {"limit": 5}}),
    ]
