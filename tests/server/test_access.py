"""Who may do what through the REST API, with and without authentication, on real servers."""

from __future__ import annotations

import pytest

from mlflow_registry_ext import api
from tests.support.governance_servers import call, unique

pytestmark = [pytest.mark.server, pytest.mark.slow]

MLFLOW_API = "/api/2.0/mlflow"


def gov(server, operation, user=None, body=None, query="", **params):
    method, path = api.path_for(operation, **params)
    if body is None and method != "GET":
        body = {}
    return call(server.url + path + query, method, body, user=user)[:2]


def mlflow_call(server, path, body=None, user=None, method="POST"):
    return call(server.url + MLFLOW_API + path, method, body, user=user)[:2]


def _version(server, user, name):
    assert mlflow_call(server, "/registered-models/create", {"name": name}, user)[0] == 200
    status, body = mlflow_call(server, "/model-versions/create", {"name": name, "source": "s3://bucket/model"}, user)
    assert status == 200, body
    return body["model_version"]["version"]


def test_reviewers_decide_and_the_policy_refuses_everyone_else(auth_server):
    model = unique("fraud-access")
    version = _version(auth_server, "erin", model)
    status, request = gov(auth_server, "approval_requests_create", "erin",
                          {"model": model, "version": version, "alias": "production"})
    assert status == 200 and request["requester"] == "erin"
    # A client never names its own actor: the field does not exist.
    status, body = gov(auth_server, "approval_requests_create", "erin",
                       {"model": model, "version": version, "alias": "production", "requester": "alice"})
    assert status == 400 and "Unknown field" in body["message"]

    for user, reason in (("viewer", "not an eligible reviewer"), ("erin", "not an eligible reviewer")):
        status, body = gov(auth_server, "approval_requests_approve", user, {}, request_id=request["id"])
        assert (status, body["error_code"]) == (403, "PERMISSION_DENIED") and reason in body["message"]

    # The stock REST API (and so the stock UI) is governed: the alias cannot be set yet.
    status, body = mlflow_call(auth_server, "/registered-models/alias",
                               {"name": model, "alias": "production", "version": version}, "erin")
    assert status == 403 and body["error_code"] == "PERMISSION_DENIED" and "approval" in body["message"]

    status, approved = gov(auth_server, "approval_requests_approve", "alice", {"comment": "ok"},
                           request_id=request["id"])
    assert status == 200 and approved["status"] == "approved"
    assert approved["decisions"][0]["reviewer"] == "alice"
    status, body = mlflow_call(auth_server, "/registered-models/alias",
                               {"name": model, "alias": "production", "version": version}, "erin")
    assert status == 200, body
    status, page = gov(auth_server, "audit_list", "viewer", query=f"?model={model}")
    actors = {(e["action"], e["actor"]) for e in page["entries"]}
    assert ("approval_request.approved", "alice") in actors
    assert ("model_version_alias.created", "erin") in actors


def _deny_model(server, user, model):
    """Take every permission on ``model`` from ``user``, the way the running MLflow offers."""
    grant = {"username": user, "resource_type": "registered_model", "resource_id": model, "permission": "DENY"}
    status, body = call(server.url + "/api/3.0/mlflow/users/permissions/grant", "POST", grant, user="admin")[:2]
    if status == 404:  # MLflow before resource grants: per-model permissions
        create = {"name": model, "username": user, "permission": "NO_PERMISSIONS"}
        status, body = mlflow_call(server, "/registered-models/permissions/create", create, "admin")
    assert status == 200, body


def test_reads_follow_mlflow_permissions_on_the_model(auth_server):
    model = unique("fraud-private")
    version = _version(auth_server, "erin", model)
    _deny_model(auth_server, "viewer", model)
    for operation, query in (
        ("status_get", f"?model={model}&version={version}"),
        ("policy_get", f"?model={model}"),
        ("fairness_checks_list", f"?model={model}&version={version}"),
        ("alias_history", f"?model={model}&alias=production"),
        ("audit_list", f"?model={model}"),
    ):
        status, body = gov(auth_server, operation, "viewer", query=query)
        assert (status, body["error_code"]) == (403, "PERMISSION_DENIED"), operation
        assert gov(auth_server, operation, "erin", query=query)[0] == 200, operation
    # Listings across models leave out what the user may not read.
    status, page = gov(auth_server, "audit_list", "viewer", query="?limit=10000")
    assert status == 200 and model not in {e["model"] for e in page["entries"]}
    status, page = gov(auth_server, "audit_list", "erin", query="?limit=10000")
    assert model in {e["model"] for e in page["entries"]}
    # Changing needs update permission: viewer may read other models but not request approvals.
    other = unique("fraud-readonly")
    other_version = _version(auth_server, "erin", other)
    status, body = gov(auth_server, "approval_requests_create", "viewer",
                       {"model": other, "version": other_version, "alias": "production"})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")


def test_webhooks_and_deliveries_need_an_mlflow_admin(auth_server):
    for operation, params in (("webhooks_list", {}), ("deliveries_list", {}), ("webhooks_get", {"webhook_id": "x"}),
                              ("deliveries_redeliver", {"delivery_id": "x"})):
        status, body = gov(auth_server, operation, "alice", **params)
        assert (status, body["error_code"]) == (403, "PERMISSION_DENIED"), operation
        assert "admin" in body["message"]
    assert gov(auth_server, "webhooks_list", "admin")[0] == 200
    status, me = gov(auth_server, "whoami", "admin")
    assert me == {"user": "admin", "authenticated": True, "auth": "basic", "admin": True, "governed": True,
                  "can_decide": True}


def test_without_authentication_reviewer_actions_are_refused(open_server):
    model = unique("fraud-open")
    version = _version(open_server, None, model)
    status, request = gov(open_server, "approval_requests_create", None,
                          {"model": model, "version": version, "alias": "production"})
    assert status == 200 and request["requester"] == "server-process"
    for operation in ("approval_requests_approve", "approval_requests_reject", "approval_requests_cancel"):
        status, body = gov(open_server, operation, None, {}, request_id=request["id"])
        assert (status, body["error_code"]) == (401, "UNAUTHENTICATED"), operation
        assert "MLFLOW_GOVERNANCE_AUTH=basic" in body["message"]
    # Credentials sent to a server without authentication name nobody.
    status, me = gov(open_server, "whoami", "alice")
    assert me["user"] == "server-process" and not me["authenticated"] and me["admin"]
