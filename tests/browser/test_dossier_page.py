"""The version view in Chromium leads with the evidence: a documented challenger, a
half-documented one and a regressing one (real sklearn versions on a real server)."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import as_user, shot
from tests.support.dossier_server import dossier_server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


def _open(chromium, server, model, version):
    context, page = as_user(chromium, "alice")
    page.goto(f"{server.url}/governance/#/version/{model}/{version}?alias=production")
    page.get_by_role("heading", name=re.compile("Champion vs challenger")).wait_for(timeout=60_000)
    return context, page


def _headings(page):
    return [t.strip() for t in page.locator("main h3").all_inner_texts()]


def test_a_documented_challenger(chromium, dossier_server):
    server, model, metrics = dossier_server
    context, page = _open(chromium, server, model, "2")
    try:
        shot(page, "dossier-documented.png")
        heads = _headings(page)
        # What a decision needs comes first; the log last.
        assert heads[0].startswith("Champion vs challenger: Against @production (version 1)")
        assert heads.index("Lineage: run, data, code, environment") < heads.index("Model card") < heads.index(
            "Fairness checks") < heads.index("Audit trail")
        row = page.locator("tr[data-metric='auc']")
        assert f"{metrics['2']['auc']:.4f}" in row.inner_text() and f"{metrics['1']['auc']:.4f}" in row.inner_text()
        assert page.locator(".metric-chart svg").count() == 3
        assert page.locator("[data-part='card-h'] .badge").count() == 0
        assert "b" * 40 in page.locator("[data-part='lineage-h']").inner_text()
        # One status row per protected target, and one requirement list for targets that share it.
        assert page.locator("tr[data-target]").count() == 2
        assert page.get_by_text("requires:").count() == 1
        text = page.locator("main").inner_text()
        assert " UTC" not in text and re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    finally:
        context.close()


def test_a_half_documented_candidate(chromium, dossier_server):
    server, model, _ = dossier_server
    context, page = _open(chromium, server, model, "5")
    try:
        shot(page, "dossier-half-documented.png")
        card = page.locator("[data-part='card-h']")
        assert "partial" in card.inner_text()
        absent = card.locator("tr.absent").all_inner_texts()
        assert [a.split("\t")[0] for a in absent] == ["training data", "evaluation data", "ethical considerations"]
    finally:
        context.close()


def test_a_regressing_candidate(chromium, dossier_server):
    server, model, _ = dossier_server
    context, page = _open(chromium, server, model, "3")
    try:
        shot(page, "dossier-regressing.png")
        compare = page.locator("[data-part='compare-h']")
        assert "worse than the version under the alias" in compare.inner_text()
        assert "worse" in compare.locator("tr[data-metric='auc']").inner_text()
        assert compare.locator("rect.worse").count() >= 1
    finally:
        context.close()
