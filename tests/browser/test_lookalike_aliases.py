"""Look-alikes of a protected alias on a real basic-auth server: refused over REST and in the stock
MLflow UI's alias editor (headless Chromium), with a message naming the protected alias; alias
names with invisible characters are refused with 400 on every model. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.databases import REQUIRE_ENV, services_required
from tests.support.governance_servers import call, password, unique

pytestmark = [pytest.mark.server, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
LOOKALIKES = ["Production", "PRODUCTION", "pr\u043eduction", "\uff50\uff52\uff4f\uff44\uff55\uff43\uff54\uff49\uff4f\uff4e"]
ALIAS = "/api/2.0/mlflow/registered-models/alias"


def _api(server, user, path, body=None, method=None):
    return call(server.url + path, method or ("POST" if body is not None else "GET"), body, user=user)


@pytest.fixture(scope="module")
def models(auth_server):
    """erin's protected model and unprotected model, one version each."""
    names = unique("fraud-look"), unique("plain-look")
    for name in names:
        for path, body in (("/api/2.0/mlflow/registered-models/create", {"name": name}),
                           ("/api/2.0/mlflow/model-versions/create", {"name": name, "source": "s3://b/m"})):
            status, answer, _ = _api(auth_server, "erin", path, body)
            assert status == 200, answer
    return names


def _aliases(server, model):
    status, answer, _ = _api(server, "erin", f"/api/2.0/mlflow/registered-models/get?name={model}")
    assert status == 200, answer
    return {a["alias"] for a in answer["registered_model"].get("aliases", [])}


def test_rest_refuses_lookalikes_naming_the_protected_alias(auth_server, models):
    model, _ = models
    for alias in LOOKALIKES:
        for prefix in ("/api", "/ajax-api"):
            status, answer, _ = _api(auth_server, "erin", prefix + ALIAS.removeprefix("/api"),
                                     {"name": model, "alias": alias, "version": "1"})
            assert status == 403, (alias, answer)
            assert answer["error_code"] == "PERMISSION_DENIED"
            assert f"looks like the protected alias 'production'" in answer["message"], answer
    assert _aliases(auth_server, model) == set()


@pytest.mark.parametrize("alias", ["production\n", "production ", "prod\u200buction"])
def test_rest_refuses_invisible_characters_on_every_model(auth_server, models, alias):
    for model in models:
        status, answer, _ = _api(auth_server, "erin", ALIAS, {"name": model, "alias": alias, "version": "1"})
        assert status == 400, (model, alias, answer)
        assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
        assert answer["message"].startswith("Invalid alias name: ")
        assert alias not in _aliases(auth_server, model)
    # An ordinary alias on the unprotected model still works exactly as in MLflow.
    status, answer, _ = _api(auth_server, "erin", ALIAS, {"name": models[1], "alias": "Production", "version": "1"})
    assert status == 200, answer
    assert "Production" in _aliases(auth_server, models[1])


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-liberation)"
        if services_required():
            pytest.fail(f"{message}; {REQUIRE_ENV} makes it mandatory")
        pytest.skip(f"SKIPPED LOUDLY: {message}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
# The stock editor lower-cases what is typed and drops characters outside [a-z0-9_-] (Cyrillic and
# full-width letters never leave the browser): a look-alike typed there arrives as the protected
# name itself and meets its approval gate; API clients, which can send any look-alike, are
# refused over REST above.
@pytest.mark.parametrize("alias", ["PRODUCTION", "Production"])
def test_the_stock_ui_alias_editor_shows_the_refusal(auth_server, chromium, models, alias):
    model, _ = models
    context = chromium.new_context(http_credentials={"username": "erin", "password": password("erin")},
                                   viewport={"width": 1366, "height": 860})
    page = context.new_page()
    try:
        page.goto(f"{auth_server.url}/#/models/{model}/versions/1")
        page.get_by_role("heading", name="Version 1").wait_for(timeout=60_000)
        page.get_by_title("Add aliases").or_(page.get_by_title("Edit aliases")).first.click()
        dialog = page.get_by_role("dialog", name="Add/Edit alias for model version 1")
        dialog.get_by_role("combobox").fill(alias)
        dialog.get_by_role("combobox").press("Enter")
        dialog.get_by_role("button", name="Save aliases").click()
        alert = dialog.get_by_role("alert").filter(has_text="is refused by the policy")
        try:
            alert.wait_for(timeout=30_000)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "stock-ui-lookalike-failed.png"), full_page=True)
            raise AssertionError(f"no refusal shown; dialog reads: {dialog.inner_text()!r}") from None
        text = alert.inner_text()
        assert "alias 'production'" in text, text
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"stock-ui-lookalike-{alias}.png"), full_page=True)
    finally:
        context.close()
    assert _aliases(auth_server, model) == set(), "no look-alike of production is set"
