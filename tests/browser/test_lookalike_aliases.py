"""Look-alikes of a protected alias on a real basic-auth server: refused over REST and in the stock
MLflow UI's alias editor (headless Chromium), with a message naming the protected alias; alias
names with invisible characters are refused with 400 on every model. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import as_user, save_alias_in_stock_ui, shot
from tests.support.governance_servers import call, unique

pytestmark = [pytest.mark.server, pytest.mark.slow]

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
            assert "looks like the protected alias 'production'" in answer["message"], answer
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


def _late(route):
    route.request.frame.page.wait_for_timeout(3000)
    route.continue_()


@pytest.mark.browser
# The stock editor lower-cases what is typed and drops characters outside [a-z0-9_-] (Cyrillic and
# full-width letters never leave the browser): a look-alike typed there arrives as the protected
# name itself and meets its approval gate; API clients, which can send any look-alike, are
# refused over REST above.
@pytest.mark.parametrize("alias", ["PRODUCTION", "Production"])
def test_the_stock_ui_alias_editor_shows_the_refusal(auth_server, chromium, models, alias):
    model, _ = models
    context, page = as_user(chromium, "erin")
    # The registered model arrives well after the version: an editor saved in between would send
    # an empty model name.
    page.route(re.compile(r"/registered-models/get\?"), _late)
    try:
        dialog = save_alias_in_stock_ui(page, f"{auth_server.url}/#/models/{model}/versions/1", 1, alias)
        alert = dialog.get_by_role("alert").filter(has_text="is refused by the policy")
        try:
            alert.wait_for(timeout=30_000)
        except Exception:
            shot(page, "stock-ui-lookalike-failed.png")
            raise AssertionError(f"no refusal shown; dialog reads: {dialog.inner_text()!r}") from None
        text = alert.inner_text()
        assert "alias 'production'" in text, text
        shot(page, f"stock-ui-lookalike-{alias}.png")
    finally:
        context.close()
    assert _aliases(auth_server, model) == set(), "no look-alike of production is set"
