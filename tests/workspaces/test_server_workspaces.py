"""Approvals, requests and audit entries never cross MLflow workspaces, on a real
``mlflow server --app-name governance --enable-workspaces`` with basic auth."""

from __future__ import annotations

import pytest

from tests.support.databases import TempDatabase
from tests.support.governance_servers import ADMIN, auth_env, call, create_users, require_auth_extra
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.server, pytest.mark.database, pytest.mark.slow]

API = "/api/2.0/mlflow"
GOV = f"{API}/governance"
MODEL = "fraud-q1"


class WorkspaceServer(MlflowServer):
    """The governed server with MLflow's workspaces turned on."""

    def command(self) -> list[str]:
        return super().command() + ["--enable-workspaces"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    require_auth_extra()
    workdir = tmp_path_factory.mktemp(f"ws-{request.param}")
    database = TempDatabase(request.param, workdir)
    env = auth_env(workdir)
    srv = WorkspaceServer(workdir, registry_uri=f"governed+{database.uri}", backend_uri=database.uri, env=env)
    srv.start()
    srv.database = database
    try:
        create_users(srv)
        status, body, _ = call(f"{srv.url}/api/3.0/mlflow/workspaces", "POST", {"name": "ws2"}, user=ADMIN[0])
        assert status in (200, 201), body
        for workspace in ("default", "ws2"):
            _grant_workspace(srv, workspace, ("erin", "alice", "bob"))
        yield srv
    finally:
        srv.stop()
        database.drop()


def _grant_workspace(server, workspace: str, users) -> None:
    """Let ``users`` work in ``workspace`` (MLflow gives workspace rights through roles)."""
    roles = f"{server.url}/api/3.0/mlflow/roles"
    status, body, _ = call(f"{roles}/create", "POST", {"name": f"{workspace}-users", "workspace": workspace},
                           user=ADMIN[0])
    assert status in (200, 201), body
    role_id = body["role"]["id"]
    status, body, _ = call(f"{roles}/permissions/add", "POST", {
        "role_id": role_id, "resource_type": "workspace", "resource_pattern": "*", "permission": "MANAGE",
    }, user=ADMIN[0])
    assert status in (200, 201), body
    for user in users:
        status, body, _ = call(f"{roles}/assign", "POST", {"username": user, "role_id": role_id}, user=ADMIN[0])
        assert status in (200, 201), body


def _in(server, workspace, path, method="GET", body=None, user="erin"):
    return call(f"{server.url}{path}", method, body, user=user, headers={"X-MLFLOW-WORKSPACE": workspace})


def _ok(result):
    status, body, _ = result
    assert status == 200, body
    return body


def _version(server, workspace, source):
    _in(server, workspace, f"{API}/registered-models/create", "POST", {"name": MODEL})
    body = _ok(_in(server, workspace, f"{API}/model-versions/create", "POST", {"name": MODEL, "source": source}))
    return body["model_version"]["version"]


def _request(server, workspace, version):
    return _in(server, workspace, f"{GOV}/approval-requests", "POST",
               {"model": MODEL, "version": version, "alias": "production"})


def test_an_approval_in_one_workspace_never_applies_in_another(server):
    # default: fraud-q1 v1 is reviewed and approved (not applied yet).
    v_default = _version(server, "default", "s3://reviewed-bucket/fraud-q1")
    approved = _ok(_request(server, "default", v_default))
    decided = _ok(_in(server, "default", f"{GOV}/approval-requests/{approved['id']}/approve", "POST",
                      {"comment": "reviewed"}, user="alice"))
    assert decided["status"] == "approved" and decided["workspace"] == "default"

    # ws2: a different fraud-q1 v1, never reviewed, cannot take the alias on default's approval.
    v_ws2 = _version(server, "ws2", "s3://other-bucket/unreviewed")
    assert v_ws2 == v_default == "1"
    status, body, _ = _in(server, "ws2", f"{API}/registered-models/alias", "POST",
                          {"name": MODEL, "alias": "production", "version": v_ws2})
    assert status == 403, body
    assert "no approval request is open" in body["message"]
    status, body, _ = _in(server, "ws2", f"{GOV}/promote", "POST",
                          {"model": MODEL, "version": v_ws2, "alias": "production"})
    assert status == 403, body

    # A ws2 user sees none of default's requests or audit entries, by list or by id.
    for user in ("erin", "alice", ADMIN[0]):
        listed = _ok(_in(server, "ws2", f"{GOV}/approval-requests?model={MODEL}", user=user))
        assert listed["requests"] == []
        status, body, _ = _in(server, "ws2", f"{GOV}/approval-requests/{approved['id']}", user=user)
        assert status == 404, body
        entries = _ok(_in(server, "ws2", f"{GOV}/audit?model={MODEL}", user=user))["entries"]
        assert all(e["workspace"] == "ws2" for e in entries)
        assert approved["id"] not in str(entries)
    status, body, _ = _in(server, "ws2", f"{GOV}/approval-requests/{approved['id']}/approve", "POST",
                          {}, user="bob")
    assert status == 404, body

    # A ws2 request for the same name, version and alias is its own, not a duplicate.
    mine = _ok(_request(server, "ws2", v_ws2))
    assert mine["id"] != approved["id"] and mine["workspace"] == "ws2"
    _ok(_in(server, "ws2", f"{GOV}/approval-requests/{mine['id']}/approve", "POST", {}, user="alice"))
    _ok(_in(server, "ws2", f"{API}/registered-models/alias", "POST",
            {"name": MODEL, "alias": "production", "version": v_ws2}))
    # ... and applying it used the ws2 request only.
    assert _ok(_in(server, "ws2", f"{GOV}/approval-requests/{mine['id']}"))["status"] == "applied"
    assert _ok(_in(server, "default", f"{GOV}/approval-requests/{approved['id']}"))["status"] == "approved"

    # default still has no alias, and sees nothing of ws2.
    status, body, _ = _in(server, "default", f"{API}/registered-models/alias?name={MODEL}&alias=production")
    assert status in (400, 404) and "not found" in body["message"], body
    listed = _ok(_in(server, "default", f"{GOV}/approval-requests?model={MODEL}", user=ADMIN[0]))["requests"]
    assert [r["id"] for r in listed] == [approved["id"]]
    entries = _ok(_in(server, "default", f"{GOV}/audit?model={MODEL}", user=ADMIN[0]))["entries"]
    assert entries and all(e["workspace"] == "default" for e in entries)
    history = _ok(_in(server, "ws2", f"{GOV}/audit/alias-history?model={MODEL}&alias=production"))["history"]
    assert [h["version"] for h in history] == [v_ws2]
    assert _ok(_in(server, "default", f"{GOV}/audit/alias-history?model={MODEL}&alias=production"))["history"] == []
    status, exported, _ = _in(server, "ws2", f"{GOV}/audit/export", user=ADMIN[0])
    assert status == 200 and '"workspace": "default"' not in exported and approved["id"] not in exported
    # The chain stays one chain over both workspaces.
    assert _ok(_in(server, "ws2", f"{GOV}/audit/verify", "POST", {}, user=ADMIN[0]))["ok"] is True


def test_webhooks_and_their_deliveries_stay_in_their_workspace(server):
    from tests.support.receiver import Receiver

    with Receiver() as hook_default, Receiver() as hook_ws2:
        created = {}
        for workspace, receiver in (("default", hook_default), ("ws2", hook_ws2)):
            body = _ok(_in(server, workspace, f"{GOV}/webhooks", "POST",
                           {"url": receiver.url, "events": ["registered_model.*"]}, user=ADMIN[0]))
            created[workspace] = body["webhook"]["id"]
        for workspace in ("default", "ws2"):
            _ok(_in(server, workspace, f"{API}/registered-models/create", "POST", {"name": f"hooks-{workspace}"}))

        def names(receiver):
            return [d.event.get("data", {}).get("name") for d in receiver.deliveries]

        assert hook_ws2.wait_for(lambda r: "hooks-ws2" in names(r), timeout=60)
        assert hook_default.wait_for(lambda r: "hooks-default" in names(r), timeout=60)
        assert "hooks-default" not in names(hook_ws2) and "hooks-ws2" not in names(hook_default)

        # Each workspace lists, reads and changes its own subscriptions and deliveries only.
        for workspace, other in (("default", "ws2"), ("ws2", "default")):
            listed = _ok(_in(server, workspace, f"{GOV}/webhooks", user=ADMIN[0]))["webhooks"]
            assert [w["id"] for w in listed] == [created[workspace]]
            status, body, _ = _in(server, workspace, f"{GOV}/webhooks/{created[other]}", user=ADMIN[0])
            assert status == 404, body
            status, body, _ = _in(server, workspace, f"{GOV}/webhooks/{created[other]}", "DELETE", user=ADMIN[0])
            assert status == 404, body
            deliveries = _ok(_in(server, workspace, f"{GOV}/deliveries", user=ADMIN[0]))["deliveries"]
            assert deliveries and {d["webhook_id"] for d in deliveries} == {created[workspace]}
def test_reconcile_is_per_workspace(server):
    import sqlalchemy as sa

    name = "drift-ws"
    for workspace in ("default", "ws2"):
        _in(server, workspace, f"{API}/registered-models/create", "POST", {"name": name})
        for source in ("s3://b/1", "s3://b/2"):
            _ok(_in(server, workspace, f"{API}/model-versions/create", "POST", {"name": name, "source": source}))
        _ok(_in(server, workspace, f"{API}/registered-models/alias", "POST",
                {"name": name, "alias": "champion", "version": "1"}))
    for workspace in ("default", "ws2"):
        result = _ok(_in(server, workspace, f"{GOV}/audit/reconcile", "POST", {}, user=ADMIN[0]))
        assert result["ok"] and result["workspace"] == workspace, result
    engine = sa.create_engine(server.database.uri)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE registered_model_aliases SET version = 2 "
                             "WHERE workspace = 'ws2' AND name = :n AND alias = 'champion'"), {"n": name})
    engine.dispose()
    ws2 = _ok(_in(server, "ws2", f"{GOV}/audit/reconcile", "POST", {}, user=ADMIN[0]))
    assert [(d["workspace"], d["model"], d["key"], d["expected"], d["actual"]) for d in ws2["differences"]] == [
        ("ws2", name, "champion", "1", "2")]
    assert _ok(_in(server, "default", f"{GOV}/audit/reconcile", "POST", {}, user=ADMIN[0]))["ok"]
    entries = _ok(_in(server, "default", f"{GOV}/audit?action=audit.drift_detected", user=ADMIN[0]))["entries"]
    assert entries == []
    entries = _ok(_in(server, "ws2", f"{GOV}/audit?action=audit.drift_detected", user=ADMIN[0]))["entries"]
    assert [e["model"] for e in entries] == [name]
