"""One deployment shape beyond the defaults: four uvicorn workers, a PostgreSQL backend,
``--static-prefix`` and basic auth. Every worker initialises on its own (schema, stores, auth
store, dispatcher lease) without stepping on the others, and every route lives under the prefix."""

from __future__ import annotations

import concurrent.futures

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext import routes
from mlflow_registry_ext.client import GovernanceClient
from tests.support.databases import TempDatabase
from tests.support.governance_servers import (
    auth_env,
    call,
    create_users,
    environment,
    require_auth_extra,
    rest_env,
    unique,
)
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.server, pytest.mark.database, pytest.mark.slow]

PREFIX = "/mlflow"


class PrefixedServer(MlflowServer):
    """An ``mlflow server`` with ``--static-prefix``; health is under the prefix too."""

    def command(self):
        return [*super().command(), "--static-prefix", PREFIX]

    def start(self):
        from tests.support import servers

        original = servers.wait_http_ok
        servers.wait_http_ok = lambda url, timeout, process=None: original(
            url.replace("/health", PREFIX + "/health"), timeout, process
        )
        try:
            return super().start()
        finally:
            servers.wait_http_ok = original


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory):
    require_auth_extra()
    workdir = tmp_path_factory.mktemp("pg-server")
    database = TempDatabase("postgresql", workdir)
    server = PrefixedServer(
        workdir,
        registry_uri="governed+" + database.uri,
        backend_uri=database.uri,
        workers=4,
        env=auth_env(workdir),
    )
    try:
        server.start()
        server.base = server.url + PREFIX
        create_users(_Prefixed(server))
        yield server
    finally:
        server.stop()
        database.drop()


class _Prefixed:
    def __init__(self, server):
        self.url = server.url + PREFIX


def test_four_workers_on_postgresql_behind_a_static_prefix_with_basic_auth(postgres_server):
    base = postgres_server.base
    model = unique("fraud-pg")
    with environment(rest_env("erin")):
        mlflow_client = MlflowClient(tracking_uri=base)
        mlflow_client.create_registered_model(model)
        version = mlflow_client.create_model_version(model, "s3://bucket/model").version
        client = GovernanceClient(tracking_uri=base)
    with environment(rest_env("alice")):
        reviewer = GovernanceClient(tracking_uri=base)
    request = client.request_approval(model, version, alias="production")
    assert client.get_status(model, version).status == "pending"

    # Many requests spread over the workers: every one answers, and all see the same data.
    def read(_):
        return client.get_request(request.id).status, len(client.list_audit(model=model))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = set(pool.map(read, range(40)))
    assert answers == {("pending", 3)}
    assert reviewer.approve(request.id).status == "approved"
    assert client.promote(model, version, alias="production").request_id == request.id
    assert client.verify_audit().ok

    assert call(base + routes.PAGE_PATH)[0] == 401
    status, page, _ = call(base + routes.PAGE_PATH, user="alice")
    assert status == 200 and f'data-api-base="{PREFIX}{routes.AJAX_PREFIX}"' in page
    assert call(base + routes.PAGE_PATH + "static/governance.js", user="alice")[0] == 200
    doc = call(base + routes.API_PREFIX + routes.OPENAPI_PATH, user="alice")[1]
    assert doc["servers"] == [{"url": PREFIX}]
    assert call(postgres_server.url + routes.API_PREFIX + "/whoami", user="alice")[0] == 404  # only under the prefix
