"""Through a real ``mlflow server`` on a governed registry: MLflow's own REST API and the stock UI
are refused the same way as a direct client, with MLflow's JSON error (the UI shows its message).

The server is plain MLflow (no ``--app-name``): enforcement lives in the registry store itself.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.approvals.fixtures import approved_request, governed_store, write_policy
from tests.support.browser import as_user, open_version_page, save_alias
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.server]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("governed-server")
    database = f"sqlite:///{workdir / 'mlflow.db'}"
    env = {"MLFLOW_GOVERNANCE_POLICY": str(write_policy(workdir)), "MLFLOW_TRACKING_USERNAME": "web-user"}
    with MlflowServer(workdir, registry_uri=f"governed+{database}", backend_uri=database, app_name=None,
                      env=env) as running:
        running.database = database
        running.workdir = workdir
        yield running


def _post(server, path: str, body: dict, prefix: str = "/api/2.0/mlflow"):
    request = urllib.request.Request(
        f"{server.url}{prefix}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _model_with_versions(server, count: int) -> None:
    assert _post(server, "/registered-models/create", {"name": "fraud-model"})[0] == 200
    for _ in range(count):
        status, _ = _post(server, "/model-versions/create", {
            "name": "fraud-model", "source": "s3://bucket/model", "description": "described",
            "tags": [{"key": "owner", "value": "risk"}]})
        assert status == 200


def test_rest_and_ajax_calls_are_refused_with_mlflows_error_json(server, tmp_path, monkeypatch):
    _model_with_versions(server, 2)
    alias = {"name": "fraud-model", "alias": "production", "version": "1"}
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        status, body = _post(server, "/registered-models/alias", alias, prefix=prefix)
        assert status == 403, body
        assert body["error_code"] == "PERMISSION_DENIED"
        assert "needs 2 approvals from risk-reviewers, dave; has 0" in body["message"]
    status, body = _post(server, "/model-versions/transition-stage", {
        "name": "fraud-model", "version": "1", "stage": "Production", "archive_existing_versions": False})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")
    status, body = _post(server, "/model-versions/set-tag", {
        "name": "fraud-model", "version": "1", "key": "gov.production", "value": "approved"})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")

    # Reviewed (here, in-process on the same database), the same call goes through.
    store = governed_store(server.database, monkeypatch, tmp_path)
    approved_request(store, "fraud-model", "1")
    assert _post(server, "/registered-models/alias", alias)[0] == 200
    assert str(store.get_model_version_by_alias("fraud-model", "production").version) == "1"


@pytest.mark.browser
def test_the_stock_ui_shows_the_refusal(server, chromium):
    context, page = as_user(chromium)
    try:
        open_version_page(page, f"{server.url}/#/models/fraud-model/versions/2", 2)
        tags = page.get_by_role("row").filter(has=page.get_by_role("cell", name="gov.production", exact=True))
        assert "no request" in tags.first.inner_text()
        dialog = save_alias(page, 2, "production")
        # (The dialog also shows an information alert: 'production' is on version 1.)
        alert = dialog.get_by_role("alert").filter(has_text="Setting alias 'production'")
        alert.wait_for(timeout=30_000)
        assert "needs 2 approvals from risk-reviewers, dave; has 0" in alert.inner_text()
        page.screenshot(path=str(server.workdir / "refused.png"), full_page=True)
    finally:
        context.close()
