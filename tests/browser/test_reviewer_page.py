"""The reviewer page and the stock MLflow UI in headless Chromium, on a real basic-auth server.

A reviewer logs in, approves a pending request from the queue (by keyboard), and sees the
version's governance view; the requester then sets the protected alias in the stock UI, and is
refused (with the server's message in the dialog) on a version nobody approved. Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from mlflow_registry_ext import routes
from tests.support.browser import as_user, save_alias_in_stock_ui, shot
from tests.support.governance_servers import call, unique

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

def _api(server, user, path, body=None):
    status, answer, _ = call(server.url + path, "POST" if body is not None else "GET", body, user=user)
    assert status == 200, answer
    return answer


@pytest.fixture(scope="module")
def pending(auth_server):
    """erin's model with two versions; version 1 awaits review for alias production, with a
    recorded fairness check."""
    model = unique("fraud-ui")
    _api(auth_server, "erin", "/api/2.0/mlflow/registered-models/create", {"name": model})
    for _ in range(2):
        _api(auth_server, "erin", "/api/2.0/mlflow/model-versions/create", {"name": model, "source": "s3://b/m"})
    gov = routes.API_PREFIX
    request = _api(auth_server, "erin", gov + "/approval-requests",
                   {"model": model, "version": "1", "alias": "production", "comment": "ready for review"})
    rows = [[1, 1, "F"], [0, 0, "F"], [1, 0, "M"], [0, 0, "M"], [1, 1, "F"], [0, 1, "M"]] * 5
    _api(auth_server, "erin", gov + "/fairness-checks", {
        "model": model, "version": "1", "columns": ["y", "p", "sex"], "data": rows, "target": "y",
        "prediction": "p", "sensitive": ["sex"], "metrics": ["demographic_parity_difference"],
        "thresholds": {"demographic_parity_difference": 0.5}, "dataset_name": "holdout", "log_charts": False,
    })
    return model, request["id"]


def test_a_reviewer_approves_from_the_queue(auth_server, chromium, pending):
    model, request_id = pending
    context, page = as_user(chromium, "alice")
    try:
        page.goto(auth_server.url + routes.PAGE_PATH)
        row = page.locator(f'tr[data-request="{request_id}"]')
        row.wait_for(timeout=30_000)
        assert "Signed in as alice" in page.locator("#who").inner_text()
        assert "ready for review" in row.inner_text() and "0/1" in row.inner_text()
        shot(page, "reviewer-queue.png")

        row.get_by_role("textbox").fill("fairness within bounds")
        row.get_by_role("button", name="Approve").focus()
        page.keyboard.press("Enter")
        flash = page.get_by_role("status").filter(has_text="Approved")
        flash.wait_for(timeout=30_000)
        assert "is now approved (1/1)" in flash.inner_text()
        shot(page, "reviewer-approved.png")

        page.goto(f"{auth_server.url}{routes.PAGE_PATH}#/version/{model}/1")
        page.get_by_role("heading", name="Approval requests and decisions").wait_for(timeout=30_000)
        page.locator(".chart svg").first.wait_for(timeout=30_000)
        body = page.locator("main").inner_text()
        assert "fairness within bounds" in body and "alice" in body
        assert "demographic_parity_difference" in body and "passed" in body
        assert "models[0] (match 'fraud-*')" in body
        stock = page.get_by_title("Open in the MLflow UI").first.get_attribute("href")
        assert stock.endswith(f"#/models/{model}/versions/1")
        shot(page, "reviewer-version.png")

        page.goto(f"{auth_server.url}{routes.PAGE_PATH}#/audit?model={model}")
        page.get_by_text("Hash chain intact").wait_for(timeout=30_000)
        assert "approval_request.approved" in page.locator("main").inner_text()
        shot(page, "reviewer-audit.png")
    finally:
        context.close()


def test_the_stock_ui_refuses_the_unapproved_version_and_accepts_the_approved_one(
    auth_server, chromium, pending
):
    model, request_id = pending
    status = _api(auth_server, "erin", f"{routes.API_PREFIX}/approval-requests/{request_id}")["status"]
    if status != "approved":
        _api(auth_server, "bob", f"{routes.API_PREFIX}/approval-requests/{request_id}/approve", {})
    context, page = as_user(chromium, "erin")
    try:
        dialog = save_alias_in_stock_ui(page, f"{auth_server.url}/#/models/{model}/versions/2", 2, "production")
        alert = dialog.get_by_role("alert").filter(has_text="production")
        alert.wait_for(timeout=30_000)
        assert "approval" in alert.inner_text()
        shot(page, "stock-ui-refused.png")

        dialog = save_alias_in_stock_ui(page, f"{auth_server.url}/#/models/{model}/versions/1", 1, "production")
        dialog.wait_for(state="hidden", timeout=30_000)
        page.reload()
        page.get_by_role("heading", name="Version 1").wait_for(timeout=60_000)
        tags = page.get_by_role("row").filter(has=page.get_by_role("cell", name="gov.production", exact=True))
        tags.first.wait_for(timeout=30_000)
        assert "live" in tags.first.inner_text()
        shot(page, "stock-ui-alias-set.png")
    finally:
        context.close()
    answer = _api(auth_server, "erin", f"/api/2.0/mlflow/registered-models/alias?name={model}&alias=production")
    assert answer["model_version"]["version"] == "1"


def test_an_admin_redelivers_from_the_delivery_log(auth_server, chromium):
    from tests.support.receiver import Receiver

    with Receiver() as receiver:
        created = _api(auth_server, "admin", routes.API_PREFIX + "/webhooks",
                       {"url": receiver.url, "events": ["model_version.*"], "description": "page test"})
        receiver.secrets = [created["secret"]]
        hook = created["webhook"]["id"]
        tested = _api(auth_server, "admin", f"{routes.API_PREFIX}/webhooks/{hook}/test", {})
        context, page = as_user(chromium, "admin")
        try:
            page.goto(f"{auth_server.url}{routes.PAGE_PATH}#/webhooks")
            row = page.locator(f'tr[data-delivery="{tested["delivery_id"]}"]')
            row.wait_for(timeout=30_000)
            assert "succeeded" in row.inner_text()
            assert receiver.url in page.locator("main").inner_text()
            row.get_by_role("button", name="Redeliver").click()
            flash = page.locator("#flash").filter(has_text="Queued")
            flash.wait_for(timeout=30_000)
            queued = flash.inner_text().split()[1]
            page.locator(f'tr[data-delivery="{queued}"]').wait_for(timeout=30_000)
            shot(page, "reviewer-webhooks.png")
        finally:
            context.close()
            call(f"{auth_server.url}{routes.API_PREFIX}/webhooks/{hook}", "DELETE", {}, user="admin")
        assert receiver.wait_for(lambda r: len(r.deliveries) >= 2, timeout=30)
        assert all(d.verified for d in receiver.deliveries)
