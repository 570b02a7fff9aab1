"""The governance status as a person reads it in the stock MLflow UI (headless Chromium, a real
basic-auth server): version 2 is live under ``champion`` and only pending for ``production``, and
the model's version list and the version page say so per target, whole (no ``gov.stat...``), with
the link to the version's reviewer page. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import pytest

from mlflow_registry_ext import routes
from tests.browser.test_reviewer_page import _api
from tests.support.browser import as_user, shot
from tests.support.governance_servers import call, unique

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

GOV = routes.API_PREFIX


@pytest.fixture(scope="module")
def champion_not_production(auth_server):
    """erin's model under the rule protecting production and champion: version 1 live under
    production; version 2 live under champion, its production request pending and the
    production alias refused on it."""
    model = unique("gov-ui")
    _api(auth_server, "erin", "/api/2.0/mlflow/registered-models/create", {"name": model})
    for _ in range(2):
        _api(auth_server, "erin", "/api/2.0/mlflow/model-versions/create", {"name": model, "source": "s3://b/m"})
    for version, alias in (("1", "production"), ("2", "champion")):
        request = _api(auth_server, "erin", GOV + "/approval-requests", {"model": model, "version": version, "alias": alias})
        _api(auth_server, "alice", f"{GOV}/approval-requests/{request['id']}/approve", {"comment": "ok"})
        _api(auth_server, "erin", GOV + "/promote", {"model": model, "version": version, "alias": alias})
    _api(auth_server, "erin", GOV + "/approval-requests", {"model": model, "version": "2", "alias": "production"})
    status, answer, _ = call(auth_server.url + "/api/2.0/mlflow/registered-models/alias", "POST",
                             {"name": model, "alias": "production", "version": "2"}, user="erin")
    assert status == 403 and "needs 1 approval" in answer["message"], answer
    return model


def _tags(server, model, version):
    answer = _api(server, "erin", f"/api/2.0/mlflow/model-versions/get?name={model}&version={version}")
    return {t["key"]: t["value"] for t in answer["model_version"].get("tags", [])}


def test_the_rest_api_shows_one_tag_per_target_and_the_link(auth_server, champion_not_production):
    model = champion_not_production
    assert _tags(auth_server, model, "1") == {
        "gov.production": "live", "gov.champion": "no request", "gov": f"/governance/#/version/{model}/1"}
    assert _tags(auth_server, model, "2") == {
        "gov.production": "pending 0/1", "gov.champion": "live", "gov": f"/governance/#/version/{model}/2"}
    status = _api(auth_server, "erin", f"{GOV}/status?model={model}&version=2")
    assert [(t["target"], t["status"], t["live"]) for t in status["targets"]] == [
        ("production", "pending", False), ("champion", "applied", True)]


def _chips(row):
    """``{key: [value, whole]}`` of the tag chips in a version-list row; ``whole``: the chip is
    shown without being cut off."""
    return row.evaluate("""row => Object.fromEntries([...row.querySelectorAll('[role=status]')]
        .map(chip => [chip, chip.querySelectorAll('.du-bois-light-typography')])
        .filter(([, parts]) => parts.length === 2)
        .map(([chip, [key, value]]) => {
            const cell = chip.closest('[role=cell]').getBoundingClientRect();
            const whole = el => el.scrollWidth <= el.clientWidth + 1 && el.getBoundingClientRect().right <= cell.right + 1;
            return [key.getAttribute('title'), [value.getAttribute('title'), whole(key) && whole(value)]];
        }))""")


def _version_row(page, version):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=f"Version {version}"))


# MLflow gives the Tags column of the version list a quarter of what is left: 231 px at 1920 px
# wide, 118 px at 1366 px, where even the key of a protected alias fills it. There each part
# still carries its whole text as its title (shown on hover).
@pytest.mark.parametrize("width", [1920, 1366])
def test_the_version_list_reads_per_target(auth_server, chromium, champion_not_production, width):
    model = champion_not_production
    context, page = as_user(chromium, "erin")
    page.set_viewport_size({"width": width, "height": 900})
    try:
        page.goto(f"{auth_server.url}/#/models/{model}")
        _version_row(page, 2).get_by_text("gov.champion").wait_for(timeout=60_000)
        shot(page, f"stock-ui-versions-{width}.png")
        second, first = _chips(_version_row(page, 2)), _chips(_version_row(page, 1))
        wide = width >= 1920
        assert second["gov.champion"] == ["live", wide], second
        assert second["gov.production"] == ["pending 0/1", wide], second
        assert first["gov.production"] == ["live", wide] and first["gov.champion"] == ["no request", wide], first
        # The link comes last; where the column is too narrow for it, its title holds it whole.
        assert second["gov"][0] == f"/governance/#/version/{model}/2"
        assert not any(k.startswith("governance.") for k in second)
    finally:
        context.close()


def test_the_version_page_shows_the_targets_and_leads_to_the_reviewer_page(auth_server, chromium, champion_not_production):
    model = champion_not_production
    context, page = as_user(chromium, "erin")
    try:
        page.goto(f"{auth_server.url}/#/models/{model}/versions/2")
        page.get_by_role("heading", name="Version 2").wait_for(timeout=60_000)
        rows = {}
        for key in ("gov", "gov.champion", "gov.production"):
            row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True))
            row.first.wait_for(timeout=30_000)
            rows[key] = row.first.inner_text().split("\t")[1].strip()
        shot(page, "stock-ui-version-status.png")
        assert rows == {"gov": f"/governance/#/version/{model}/2", "gov.champion": "live",
                        "gov.production": "pending 0/1"}
        # The link, opened on the same server, is the version's reviewer page.
        page.goto(auth_server.url + rows["gov"])
        page.get_by_role("heading", name="Approval requests and decisions").wait_for(timeout=30_000)
        assert model in page.locator("main").inner_text()
        shot(page, "stock-ui-link-target.png")
    finally:
        context.close()
