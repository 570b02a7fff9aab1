"""Rollback at 3 a.m. on a real basic-auth ``mlflow server --app-name governance``: the on-call user
rolls back alone with a reason and the subscriber receives ``promotion.rolled_back``; a user not
under ``rollback.allowed`` is refused naming what is missing; a rollback without a reason is a 400.
The shared server's policy: ``oncall-*`` models, ``rollback: {required: 0, allowed: [group:on-call]}``."""

from __future__ import annotations

import pytest

from mlflow_registry_ext import api
from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.support.governance_servers import call, environment, rest_env, unique
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.server, pytest.mark.slow]


def gov(server, operation, user, body=None, query="", **params):
    method, path = api.path_for(operation, **params)
    return call(server.url + path + query, method, {} if body is None and method != "GET" else body, user=user)[:2]


def mlflow(server, path, body, user, method="POST"):
    return call(f"{server.url}/api/2.0/mlflow{path}", method, body, user=user)[:2]


def _grant_edit(server, user, model):
    grant = {"username": user, "resource_type": "registered_model", "resource_id": model, "permission": "EDIT"}
    status, body = call(server.url + "/api/3.0/mlflow/users/permissions/grant", "POST", grant, user="admin")[:2]
    if status == 404:  # MLflow before resource grants: per-model permissions
        status, body = mlflow(server, "/registered-models/permissions/create",
                              {"name": model, "username": user, "permission": "EDIT"}, "admin")
    assert status == 200, body


def _versions(server, model, count=2):
    assert mlflow(server, "/registered-models/create", {"name": model}, "erin")[0] == 200
    for _ in range(count):
        status, body = mlflow(server, "/model-versions/create", {"name": model, "source": "s3://bucket/model"}, "erin")
        assert status == 200, body


def _promote(server, model, version):
    status, request = gov(server, "approval_requests_create", "erin",
                          {"model": model, "version": version, "alias": "production"})
    assert status == 200, request
    status, body = gov(server, "approval_requests_approve", "alice", {}, request_id=request["id"])
    assert status == 200, body
    status, body = gov(server, "promote", "erin", {"model": model, "version": version, "alias": "production"})
    assert status == 200, body
    return request["id"]


def _alias(server, model):
    status, body = mlflow(server, f"/registered-models/alias?name={model}&alias=production", None, "viewer", "GET")
    assert status == 200, body
    return body["model_version"]["version"]


def test_the_on_call_user_rolls_back_alone_and_the_receiver_hears_it(auth_server, capsys):
    model = unique("oncall")
    with Receiver() as receiver:
        status, created = gov(auth_server, "webhooks_create", "admin",
                              {"url": receiver.url, "events": ["promotion.rolled_back"], "model_filter": model})
        assert status == 200, created
        receiver.secrets = [created["secret"]]
        _versions(auth_server, model)
        _grant_edit(auth_server, "olivia", model)
        first = _promote(auth_server, model, "1")
        _promote(auth_server, model, "2")

        # No reason: refused before anything is judged.
        for body in ({"model": model, "alias": "production"}, {"model": model, "alias": "production", "reason": ""}):
            status, answer = gov(auth_server, "rollback", "olivia", body)
            assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), answer
        status, answer = gov(auth_server, "rollback", "olivia",
                             {"model": model, "alias": "production", "reason": "x" * 10_001})
        assert status == 400 and "longer than 10000" in answer["message"]

        # Not on call: the rule's approvals, and the message says what is missing.
        status, answer = gov(auth_server, "rollback", "erin", {"model": model, "alias": "production",
                                                               "reason": "drift alarm"})
        assert (status, answer["error_code"]) == (403, "PERMISSION_DENIED"), answer
        assert "rollback needs 1 approval from risk-reviewers; has 0" in answer["message"]
        assert "erin may not roll back alone: not listed under rollback.allowed (on-call)" in answer["message"]
        assert _alias(auth_server, model) == "2"

        # On call: alone, with the reason.
        status, result = gov(auth_server, "rollback", "olivia", {"model": model, "alias": "production",
                                                                 "reason": "incident 42: precision dropped"})
        assert status == 200, result
        assert (result["version"], result["previous_version"], result["alone"], result["request_id"]) == (
            "1", "2", True, None)
        assert result["reason"] == "incident 42: precision dropped"
        assert _alias(auth_server, model) == "1"

        assert receiver.wait_for(lambda r: len(r.deliveries) >= 1, timeout=60)
        [delivery] = receiver.deliveries
        assert delivery.verified, delivery.error
        event = delivery.event
        assert (event["type"], event["actor"], event["model"], event["alias"]) == (
            "promotion.rolled_back", "olivia", model, "production")
        data = event["data"]
        assert (data["version"], data["previous_version"], data["reason"]) == ("1", "2", "incident 42: precision dropped")
        assert (data["mode"], data["alone"], data["actor_source"]) == ("alone", True, "authenticated")
        assert data["details"]["allowed_by"] == "rollback.allowed"
        assert data["details"]["approved_by_request"] == first

        # The audit log has it too, for anyone who may read the model.
        status, page = gov(auth_server, "audit_list", "viewer", query=f"?model={model}&action=promotion.rolled_back")
        assert status == 200 and [(e["actor"], e["details"]["reason"]) for e in page["entries"]] == [
            ("olivia", "incident 42: precision dropped")]

        # The CLI, as the same user: `rollback MODEL --alias A --reason TEXT` returns (like `cd -`).
        with environment({**rest_env("olivia"), "MLFLOW_REGISTRY_URI": ""}):
            code = run_guarded(cli, ["--tracking-uri", auth_server.url, "rollback", model, "--alias", "production",
                                     "--reason", "false alarm"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out.strip().startswith(f"rolled back {model} @production to version 2 (was 1); alone, under "
                                      "rollback.allowed; reason: false alarm")
        assert receiver.wait_for(lambda r: len(r.deliveries) >= 2, timeout=60)
        assert receiver.deliveries[1].event["data"]["reason"] == "false alarm"


def test_the_cli_asks_for_a_reason(auth_server, capsys):
    with environment({**rest_env("olivia"), "MLFLOW_REGISTRY_URI": ""}):
        code = run_guarded(cli, ["--tracking-uri", auth_server.url, "rollback", "oncall-x", "--alias", "production"])
    _, err = capsys.readouterr()
    assert code == 2 and "--reason" in err


def test_a_version_of_an_earlier_incarnation_stays_refused(auth_server):
    model = unique("oncall-reborn")
    _versions(auth_server, model)
    _grant_edit(auth_server, "olivia", model)
    _promote(auth_server, model, "1")
    _promote(auth_server, model, "2")
    # The rule lets the alias be deleted, so the model can go and a new one take its name.
    status, body = mlflow(auth_server, "/registered-models/alias", {"name": model, "alias": "production"}, "erin",
                          "DELETE")
    assert status == 200, body
    assert mlflow(auth_server, "/registered-models/delete", {"name": model}, "erin", "DELETE")[0] == 200
    _versions(auth_server, model)
    _grant_edit(auth_server, "olivia", model)
    _promote(auth_server, model, "2")
    status, answer = gov(auth_server, "rollback", "olivia", {"model": model, "alias": "production",
                                                             "reason": "drift alarm"})
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), answer
    assert "no earlier version in the audit log of this model" in answer["message"]
    assert _alias(auth_server, model) == "2"
