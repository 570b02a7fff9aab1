"""Headless Debian Chromium for the browser tests: the browser, a logged-in page, screenshots, and
the stock MLflow UI's alias editor."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support.databases import REQUIRE_ENV, services_required
from tests.support.governance_servers import password

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
MODEL_GET = "/registered-models/get?"


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


def as_user(browser, user=None):
    """A new context logged in as ``user`` (basic auth; none for a server without it) and its
    page, which keeps count of the registered models it has fetched (see
    :func:`open_version_page`)."""
    credentials = None if user is None else {"username": user, "password": password(user)}
    context = browser.new_context(http_credentials=credentials, viewport={"width": 1366, "height": 860})
    page = context.new_page()
    page.models_fetching, page.models_fetched = set(), set()

    def started(request):
        if MODEL_GET in request.url:
            page.models_fetching.add(request)

    def ended(request):
        if request in page.models_fetching:
            page.models_fetching.discard(request)
            page.models_fetched.add(parse_qs(urlsplit(request.url).query).get("name", [""])[0])

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)
    return context, page


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def open_version_page(page, url, version):
    """Open a stock UI version page and wait until its registered model has arrived too.

    The heading shows as soon as the version is loaded; the registered model (whose name the alias
    editor sends) comes in a request of its own, fetched once per page, and an editor saved before
    it arrives sends an empty name. (The page keeps polling, so the network is never idle.)"""
    model = unquote(url.split("#/models/", 1)[1].split("/", 1)[0])
    page.goto(url)
    page.get_by_role("heading", name=f"Version {version}").wait_for(timeout=60_000)
    for _ in range(600):
        if model in page.models_fetched and not page.models_fetching:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the registered model {model!r} never arrived")


def save_alias_in_stock_ui(page, url, version, alias):
    """Open ``version``'s page at ``url``, type ``alias`` into the stock alias editor and save;
    returns the dialog (still open when the server refused)."""
    open_version_page(page, url, version)
    return save_alias(page, version, alias)


def save_alias(page, version, alias):
    """:func:`save_alias_in_stock_ui` on the version page already open."""
    page.get_by_title("Add aliases").or_(page.get_by_title("Edit aliases")).first.click()
    dialog = page.get_by_role("dialog", name=f"Add/Edit alias for model version {version}")
    dialog.get_by_role("combobox").fill(alias)
    dialog.get_by_role("combobox").press("Enter")
    dialog.get_by_role("button", name="Save aliases").click()
    return dialog
