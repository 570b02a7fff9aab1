"""Reconciling on a real ``mlflow server --app-name governance``: ``POST /audit/reconcile``, the
REST client and CLI against it, the periodic run that finds a plain ``sqlite:///`` client's
change of a protected alias and delivers ``audit.drift_detected`` to a real receiver, and the
notice on the reviewer page."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext import routes
from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.client import GovernanceClient
from tests.support.browser import as_user, shot
from tests.support.governance_servers import call, server_env, started, unique
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.server, pytest.mark.slow]

API = routes.API_PREFIX


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reconcile-server")
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    env = server_env(workdir, MLFLOW_GOVERNANCE_RECONCILE_INTERVAL="2")
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as s:
        s.plain_uri = registry.removeprefix("governed+")
        yield s


def _cli(capsys, server, *args):
    code = run_guarded(cli, ["--tracking-uri", server.url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def wait_for(condition, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_reconcile_over_rest_finds_a_plain_client_s_change_and_the_server_delivers_it(server, capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    model = unique("fraud")
    rest = MlflowClient(tracking_uri=server.url)
    rest.create_registered_model(model)
    for i in range(2):
        rest.create_model_version(model, f"s3://bucket/{model}/{i}")
    rest.set_registered_model_alias(model, "staging", "1")

    status, clean, _ = call(server.url + API + "/audit/reconcile", "POST", {})
    assert status == 200 and clean["ok"] and clean["differences"] == [], clean
    assert GovernanceClient(tracking_uri=server.url).reconcile().ok
    code, out, _ = _cli(capsys, server, "audit", "reconcile")
    assert code == 0 and "registry matches the audit log" in out

    with Receiver() as receiver:
        status, created, _ = call(server.url + API + "/webhooks", "POST",
                                  {"url": receiver.url, "events": ["audit.drift_detected"], "model_filter": model})
        assert status == 200, created
        receiver.secrets = [created["secret"]]
        # Around the governed store: a protected alias set with no approval and no audit entry.
        MlflowClient(tracking_uri=server.plain_uri, registry_uri=server.plain_uri).set_registered_model_alias(
            model, "production", "2")
        # The server's periodic reconcile (every 2 s here) finds it and the dispatcher delivers it.
        receiver.wait_for(lambda r: len(r.deliveries) >= 1, timeout=60)
        [delivery] = receiver.deliveries
    assert delivery.verified
    event = delivery.event
    assert (event["type"], event["model"]) == ("audit.drift_detected", model)
    assert event["data"]["differences"] == [{"workspace": "default", "kind": "alias", "model": model,
                                             "version": None, "key": "production", "expected": None, "actual": "2"}]

    status, drift, _ = call(server.url + API + "/audit/drift?model=" + model)
    assert status == 200 and not drift["ok"] and drift["ran_ms"] > 0
    assert [d["key"] for d in drift["differences"]] == ["production"]
    status, listed, _ = call(server.url + API + "/audit?action=audit.drift_detected&model=" + model)
    assert status == 200 and len(listed["entries"]) == 1  # periodic runs alert it once

    result = GovernanceClient(tracking_uri=server.url).drift(model)
    assert [d.describe() for d in result.differences] == [f"{model} @production: log says None, database says '2'"]
    code, out, err = _cli(capsys, server, "--json", "audit", "reconcile")
    assert code == 1 and json.loads(out)["new"] == 0 and "difference(s)" in err


def test_bad_input_is_a_400(server):
    status, body, _ = call(server.url + API + "/audit/drift?model=" + "x" * 300)
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body, _ = call(server.url + API + "/audit/reconcile", "POST", ["not", "an", "object"])
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.browser
def test_the_reviewer_page_shows_the_drift(server, chromium):
    model = unique("fraud")
    rest = MlflowClient(tracking_uri=server.url)
    rest.create_registered_model(model)
    rest.create_model_version(model, f"s3://bucket/{model}/0")
    MlflowClient(tracking_uri=server.plain_uri, registry_uri=server.plain_uri).set_model_version_tag(model, "1", "owner", "mallory")
    wait_for(lambda: any(d["model"] == model for d in call(server.url + API + "/audit/drift")[1]["differences"]))
    context, page = as_user(chromium)
    try:
        page.goto(f"{server.url}{routes.PAGE_PATH}#/version/{model}/1")
        notice = page.locator(".banner.drift")
        notice.wait_for(timeout=30_000)
        text = notice.inner_text()
        assert f"{model} was changed around the governed store" in text
        assert f"{model} v1 tag owner: log (none), database mallory" in text
        page.goto(f"{server.url}{routes.PAGE_PATH}#/audit")
        # The version view stays until the audit view is complete: wait for the audit view's notice.
        audit_notice = page.locator(".banner.drift", has_text="Registry drift:")
        audit_notice.wait_for(timeout=30_000)
        assert f"{model} v1 tag owner" in audit_notice.inner_text()
        shot(page, "audit-drift.png")
    finally:
        context.close()
