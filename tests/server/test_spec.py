"""The route table, the operation declarations, the views and the OpenAPI document agree."""

from __future__ import annotations

import flask
import pytest
from mlflow.server.constants import REGISTRY_STORE_URI_ENV_VAR

from mlflow_registry_ext import routes
from mlflow_registry_ext.server.blueprint import install
from mlflow_registry_ext.server.openapi import COMPONENTS, openapi_document
from mlflow_registry_ext.server.spec import ACCESS_LEVELS, OPERATIONS
from mlflow_registry_ext.server.views import VIEWS


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv(REGISTRY_STORE_URI_ENV_VAR, f"governed+sqlite:///{tmp_path / 'r.db'}")
    app = flask.Flask("spec-test")
    install(app)
    return app


def test_every_route_has_one_declaration_and_one_view():
    assert set(OPERATIONS) == set(routes.ROUTES)
    assert set(VIEWS) == set(routes.ROUTES)
    for op in OPERATIONS.values():
        assert op.access in ACCESS_LEVELS, op.name
        assert op.response in COMPONENTS, op.name


def test_the_openapi_document_lists_exactly_the_routes():
    doc = openapi_document()
    documented = {
        (method.upper(), path) for path, item in doc["paths"].items() for method in item
    }
    expected = {
        (method, routes.openapi_path(routes.API_PREFIX + path)) for method, path in routes.ROUTES.values()
    }
    assert documented == expected
    ids = [item[m]["operationId"] for item in doc["paths"].values() for m in item]
    assert sorted(ids) == sorted(routes.ROUTES)


def test_the_openapi_document_loads_in_schemathesis_without_errors():
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi_document("/mlflow"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(routes.ROUTES)


def test_every_route_is_served_under_both_prefixes(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods}
    for method, path in routes.ROUTES.values():
        for prefix in routes.PREFIXES:
            assert (method, prefix + path) in served


def test_the_served_document_is_the_generated_one(app):
    client = app.test_client()
    for prefix in routes.PREFIXES:
        response = client.get(prefix + routes.OPENAPI_PATH)
        assert response.status_code == 200
        assert response.get_json() == openapi_document()


def test_path_parameters_are_url_quoted():
    method, path = routes.path_for("approval_requests_get", request_id="a/b c")
    assert (method, path) == ("GET", routes.API_PREFIX + "/approval-requests/a%2Fb%20c")
