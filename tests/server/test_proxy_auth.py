"""Identity from a trusted reverse proxy's header (``MLFLOW_GOVERNANCE_AUTH=proxy``)."""

from __future__ import annotations

import http.client
import json

import pytest

from mlflow_registry_ext import api
from mlflow_registry_ext.errors import InvalidInput, Unauthenticated
from mlflow_registry_ext.server.proxy_auth import ProxyConfig
from tests.support.governance_servers import server_env, started, unique

# The trusted proxy connects from 127.0.0.2; anything else on loopback (127.0.0.1) is "the outside".
PROXY_ADDR = "127.0.0.2"
OUTSIDE_ADDR = "127.0.0.1"
HEADER = "X-Auth-Request-User"


# -- configuration and the per-request decision -------------------------------------------------


def test_defaults_trust_loopback_and_read_x_forwarded_user():
    config = ProxyConfig.from_environ({})
    assert config.header == "X-Forwarded-User" and not config.admins
    assert config.trusts("127.0.0.1") and config.trusts("::1") and config.trusts("::ffff:127.0.0.1")
    assert not config.trusts("127.0.0.2") and not config.trusts("10.0.0.1") and not config.trusts(None)
    assert not config.trusts("not-an-address")


def test_networks_and_admins_are_read():
    config = ProxyConfig.from_environ({
        "MLFLOW_GOVERNANCE_TRUSTED_PROXIES": " 10.0.0.0/8, fd00::/8 ",
        "MLFLOW_GOVERNANCE_PROXY_USER_HEADER": HEADER,
        "MLFLOW_GOVERNANCE_ADMINS": "root@example.com, ops",
    })
    assert config.trusts("10.200.1.1") and config.trusts("fd00::5") and not config.trusts("127.0.0.1")
    assert config.admins == {"root@example.com", "ops"} and config.header == HEADER


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"MLFLOW_GOVERNANCE_TRUSTED_PROXIES": "10.0.0.300"}, "not an IP address"),
        ({"MLFLOW_GOVERNANCE_TRUSTED_PROXIES": " , "}, "names no address"),
        ({"MLFLOW_GOVERNANCE_PROXY_USER_HEADER": "X User"}, "header name"),
        ({"MLFLOW_GOVERNANCE_PROXY_USER_HEADER": "authorization"}, "cannot be Authorization"),
        ({"MLFLOW_GOVERNANCE_ADMINS": "ok,bad name"}, "not a user name"),
    ],
)
def test_bad_configuration_is_refused(environ, message):
    with pytest.raises(InvalidInput, match=message):
        ProxyConfig.from_environ(environ)


def test_who_a_request_is():
    config = ProxyConfig.from_environ({})
    assert config.user_of("/api/2.0/mlflow/x", "127.0.0.1", {"X-Forwarded-User": " alice "}) == "alice"
    assert config.user_of("/health", "8.8.8.8", {}) is None
    for address, headers, message in (
        ("10.1.1.1", {"X-Forwarded-User": "alice"}, "trusted proxy"),
        ("127.0.0.1", {}, "no X-Forwarded-User header"),
        ("127.0.0.1", {"X-Forwarded-User": "   "}, "no X-Forwarded-User header"),
        ("127.0.0.1", {"X-Forwarded-User": "a\tb"}, "valid user name"),
        ("127.0.0.1", {"X-Forwarded-User": "x" * 300}, "valid user name"),
    ):
        with pytest.raises(Unauthenticated, match=message):
            config.user_of("/ajax-api/2.0/mlflow/x", address, headers)


# -- a real server behind a (simulated) proxy ----------------------------------------------------


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("proxy-server")
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    env = server_env(
        workdir,
        MLFLOW_GOVERNANCE_AUTH="proxy",
        MLFLOW_GOVERNANCE_PROXY_USER_HEADER=HEADER,
        MLFLOW_GOVERNANCE_TRUSTED_PROXIES=PROXY_ADDR,
        MLFLOW_GOVERNANCE_ADMINS="ops",
    )
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as server:
        yield server


def _request(server, method, path, body=None, user=None, source=PROXY_ADDR):
    """One request from ``source`` (a proxy forwards ``user`` in its header)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers[HEADER] = user
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode(errors="replace")


def _gov(server, operation, user, body=None, query="", **params):
    method, path = api.path_for(operation, **params)
    if body is None and method != "GET":
        body = {}
    return _request(server, method, path + query, body, user)


def _mlflow(server, path, body, user, source=PROXY_ADDR):
    return _request(server, "POST", "/api/2.0/mlflow" + path, body, user, source)


@pytest.mark.server
@pytest.mark.slow
def test_only_the_trusted_proxy_may_name_the_user(proxied_server):
    model = unique("fraud-proxy")
    # Straight to the server, not through the proxy: refused, whatever the header says.
    status, body = _mlflow(proxied_server, "/registered-models/create", {"name": model}, "ops", source=OUTSIDE_ADDR)
    assert (status, body["error_code"]) == (401, "UNAUTHENTICATED") and "trusted proxy" in body["message"]
    status, body = _request(proxied_server, "GET", api.path_for("whoami")[1], user="ops", source=OUTSIDE_ADDR)
    assert status == 401
    # Through the proxy without a user: refused too; and nothing was created by either.
    status, body = _mlflow(proxied_server, "/registered-models/create", {"name": model}, None)
    assert (status, body["error_code"]) == (401, "UNAUTHENTICATED") and HEADER in body["message"]
    status, body = _request(proxied_server, "GET", f"/api/2.0/mlflow/registered-models/get?name={model}", user="erin")
    assert status == 404, body
    # Liveness probes need no user.
    assert _request(proxied_server, "GET", "/health", source=OUTSIDE_ADDR)[0] == 200


@pytest.mark.server
@pytest.mark.slow
def test_the_header_user_acts_reviews_and_is_audited(proxied_server):
    model = unique("fraud-proxy")
    assert _mlflow(proxied_server, "/registered-models/create", {"name": model}, "erin")[0] == 200
    status, created = _mlflow(proxied_server, "/model-versions/create", {"name": model, "source": "s3://b/m"}, "erin")
    assert status == 200, created
    version = created["model_version"]["version"]

    status, me = _gov(proxied_server, "whoami", "erin")
    assert me == {"user": "erin", "authenticated": True, "auth": "proxy", "admin": False, "governed": True,
                  "can_decide": True}
    status, request = _gov(proxied_server, "approval_requests_create", "erin",
                           {"model": model, "version": version, "alias": "production"})
    assert status == 200 and request["requester"] == "erin"
    # The policy still decides who may approve: not the requester, not a non-reviewer.
    for user in ("erin", "mallory"):
        status, body = _gov(proxied_server, "approval_requests_approve", user, request_id=request["id"])
        assert (status, body["error_code"]) == (403, "PERMISSION_DENIED"), user
    status, body = _mlflow(proxied_server, "/registered-models/alias",
                           {"name": model, "alias": "production", "version": version}, "erin")
    assert status == 403 and "approval" in body["message"]
    status, approved = _gov(proxied_server, "approval_requests_approve", "alice", request_id=request["id"])
    assert status == 200 and approved["decisions"][0]["reviewer"] == "alice"
    status, body = _mlflow(proxied_server, "/registered-models/alias",
                           {"name": model, "alias": "production", "version": version}, "erin")
    assert status == 200, body

    status, page = _gov(proxied_server, "audit_list", "erin", query=f"?model={model}")
    actors = {(e["action"], e["actor"]) for e in page["entries"]}
    assert {("registered_model.created", "erin"), ("approval_request.approved", "alice"),
            ("model_version_alias.created", "erin")} <= actors


@pytest.mark.server
@pytest.mark.slow
def test_admins_are_the_configured_users(proxied_server):
    status, body = _gov(proxied_server, "webhooks_list", "alice")
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")
    assert "MLFLOW_GOVERNANCE_ADMINS" in body["message"]
    assert _gov(proxied_server, "webhooks_list", "ops")[0] == 200
    assert _gov(proxied_server, "whoami", "ops")[1]["admin"] is True
