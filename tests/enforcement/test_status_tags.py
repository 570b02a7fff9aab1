"""The read-only status tags: one per protected target plus a link, set on covered models only,
kept current, untouchable."""

from __future__ import annotations

import pytest
from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.entities import ApprovalRequest
from mlflow_registry_ext.registry.status_tags import (
    fairness_of,
    initial_tags,
    is_status_tag,
    page_link,
    status_of,
    target_tag,
    target_value,
)
from mlflow_registry_ext.policy import FairnessFact, parse_policy
from mlflow_registry_ext.registry.promotion import admin_override
from tests.approvals.fixtures import POLICY, add_version, approved_request, as_user


def _status_tags(store, model, version):
    return {k: v for k, v in store.get_model_version(model, version).tags.items() if is_status_tag(k)}


def _request(status, action="promote", approvals=0, required=2):
    return ApprovalRequest(id="r", model="m", version="1", target_kind="alias", target="a", action=action,
                           status=status, requester="erin", created_at_ms=0, updated_at_ms=0,
                           approvals=approvals, required=required)


def test_status_values():
    assert [status_of(None), status_of(_request("applied"))] == ["none", "approved"]
    rule = parse_policy(POLICY).rule_for("fraud-model")
    assert initial_tags(rule) == {"gov.production": "no request", "gov.champion": "no request",
                                  "gov.stage.Production": "no request"}
    assert [target_tag("alias", "champion"), target_tag("stage", "Production")] == ["gov.champion", "gov.stage.Production"]
    assert [target_value(None), target_value(_request("pending", approvals=1)),
            target_value(_request("approved", approvals=2)), target_value(_request("applied")),
            target_value(_request("rejected")), target_value(_request("expired")),
            target_value(_request("pending"), live=True), target_value(None, live=True)] == [
        "no request", "pending 1/2", "approved", "was live", "rejected", "expired", "live", "live"]
    # A fairness shortfall is named while it still stands in the way.
    assert target_value(_request("approved", approvals=2), "failed") == "approved, fairness failed"
    assert target_value(_request("pending"), "missing") == "pending 0/2, fairness missing"
    assert target_value(_request("applied"), "failed") == "was live"
    assert page_link("fraud model/x", 7) == "/governance/#/version/fraud%20model%2Fx/7"
    # No thresholds in the rule: the records' own verdicts.
    assert fairness_of(rule, []) == "missing"
    assert fairness_of(rule, [FairnessFact("selection_rate", "sex", 0.3, passed=None)]) == "missing"
    assert fairness_of(rule, [FairnessFact("accuracy", "sex", 0.9, passed=True),
                              FairnessFact("recall", "sex", 0.2, passed=False)]) == "failed"


def test_the_link_follows_the_static_prefix_or_the_configured_page_url(monkeypatch):
    monkeypatch.setenv("_MLFLOW_STATIC_PREFIX", "/mlflow")
    assert page_link("fraud-model", "3") == "/mlflow/governance/#/version/fraud-model/3"
    monkeypatch.setenv("MLFLOW_GOVERNANCE_PAGE_URL", "https://ml.example.com/governance")
    assert page_link("fraud-model", "3") == "https://ml.example.com/governance/#/version/fraud-model/3"


def test_tags_are_read_only_on_covered_models_and_absent_elsewhere(store):
    version = add_version(store)
    assert _status_tags(store, "fraud-model", version) == {
        "gov.production": "no request", "gov.champion": "no request", "gov.stage.Production": "no request",
        "gov": f"/governance/#/version/fraud-model/{version}"}
    with as_user("frank"):
        for call in (
            lambda: store.set_model_version_tag("fraud-model", version, ModelVersionTag("gov.production", "approved")),
            lambda: store.set_model_version_tag("fraud-model", version, ModelVersionTag("gov", "elsewhere")),
            lambda: store.set_model_version_tag("fraud-model", version, ModelVersionTag("governance.x", "y")),
            lambda: store.delete_model_version_tag("fraud-model", version, "gov.champion"),
            lambda: add_version(store, tags={"gov.production": "approved", "owner": "x"}),
        ):
            with pytest.raises(MlflowException) as err:
                call()
            assert err.value.error_code == "PERMISSION_DENIED"
            assert "read-only" in err.value.message
    assert store.search_model_versions("name='fraud-model'")[0].tags["gov.production"] == "no request"

    # Models no rule protects get nothing, and their users own every tag name.
    other = add_version(store, "other-model", tags={"gov": "mine", "gov.team": "risk"})
    assert _status_tags(store, "other-model", other) == {"gov": "mine", "gov.team": "risk"}
    assert store.status_tags.refresh("other-model", other).covered is False
    assert _status_tags(store, "other-model", other) == {"gov": "mine", "gov.team": "risk"}
    with as_user("frank"):
        store.delete_model_version_tag("other-model", other, "gov")

    # A copy carries its own state, never the source's.
    copied = store.copy_model_version(store.get_model_version("fraud-model", version), "other-model")
    assert _status_tags(store, "other-model", copied.version) == {}
    store.set_model_version_tag("other-model", copied.version, ModelVersionTag("gov.production", "fake"))
    into_covered = store.copy_model_version(store.get_model_version("other-model", copied.version), "fraud-copy")
    tags = _status_tags(store, "fraud-copy", into_covered.version)
    assert tags["gov.production"] == "no request" and tags["gov"].endswith("/fraud-copy/1")


def test_approved_for_champion_is_not_approved_for_production(store):
    # The issue: one status per version showed "approved" (for champion) while setting
    # production on the same version was refused.
    version = add_version(store)
    approved_request(store, "fraud-model", version, alias="champion")
    tags = _status_tags(store, "fraud-model", version)
    assert (tags["gov.champion"], tags["gov.production"]) == ("approved", "no request")
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert err.value.error_code == "PERMISSION_DENIED"
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "champion", version)
        pending = store.approvals.create("fraud-model", version, alias="production")
    with as_user("carol"):
        store.approvals.approve(pending.id)
    status = store.status_tags.compute("fraud-model", version)
    assert {t.target: (t.status, t.value) for t in status.targets} == {
        "champion": ("applied", "live"), "production": ("pending", "pending 1/2"),
        "Production": ("none", "no request")}
    assert _status_tags(store, "fraud-model", version) == {
        "gov.champion": "live", "gov.production": "pending 1/2", "gov.stage.Production": "no request",
        "gov": f"/governance/#/version/fraud-model/{version}"}


def test_tags_follow_the_alias_and_the_stage(store):
    v1, v2 = add_version(store), add_version(store)
    for version in (v1, v2):
        approved_request(store, "fraud-model", version, alias="production")
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", v1)
        store.set_registered_model_alias("fraud-model", "production", v2)
    assert [_status_tags(store, "fraud-model", v)["gov.production"] for v in (v1, v2)] == ["was live", "live"]
    with as_user("root"), admin_override("withdrawn"):
        store.delete_registered_model_alias("fraud-model", "production")
    assert _status_tags(store, "fraud-model", v2)["gov.production"] == "was live"

    for version in (v1, v2):
        with as_user("erin"):
            request = store.approvals.create("fraud-model", version, stage="Production")
        for reviewer in ("alice", "bob"):
            with as_user(reviewer):
                store.approvals.approve(request.id)
    with as_user("erin"):
        store.transition_model_version_stage("fraud-model", v1, "Production", False)
        assert _status_tags(store, "fraud-model", v1)["gov.stage.Production"] == "live"
        store.transition_model_version_stage("fraud-model", v2, "Production", True)  # archives v1
    assert [_status_tags(store, "fraud-model", v)["gov.stage.Production"] for v in (v1, v2)] == ["was live", "live"]
    with as_user("erin"):
        store.transition_model_version_stage("fraud-model", v2, "Archived", False)  # leaving is not governed
    assert _status_tags(store, "fraud-model", v2)["gov.stage.Production"] == "was live"


def test_tags_follow_requests_and_fairness_records(store):
    from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore

    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="champion")
    with as_user("carol"):
        store.approvals.approve(request.id)
    assert _status_tags(store, "fraud-model", version)["gov.champion"] == "pending 1/2"
    FairnessStore(store.governance_db).record([FairnessCheck(
        model="fraud-model", version=version, metric="demographic_parity_difference",
        sensitive_features=("sex",), aggregate="difference", value=0.3, threshold_max=0.1, passed=False)])
    status = store.status_tags.refresh("fraud-model", version)
    assert (status.status, status.approvals, status.fairness, status.request_id) == ("pending", "1/2", "failed", request.id)
    # This rule asks for no fairness check, so the record does not stand in the champion's way.
    assert _status_tags(store, "fraud-model", version)["gov.champion"] == "pending 1/2"
    with as_user("erin"):
        store.approvals.cancel(request.id)
    assert _status_tags(store, "fraud-model", version)["gov.champion"] == "no request"
    # Renaming out of the rule removes the tags; the model then carries nothing visible.
    store.rename_registered_model("fraud-model", "renamed-model")
    assert _status_tags(store, "renamed-model", version) == {}


def test_a_rename_under_the_same_rule_moves_the_links(store):
    version = add_version(store, "credit-model")
    store.rename_registered_model("credit-model", "credit-renamed")
    assert _status_tags(store, "credit-renamed", version) == {
        "gov.production": "no request", "gov": f"/governance/#/version/credit-renamed/{version}"}


def test_a_refresh_replaces_the_per_version_tags_of_earlier_releases(store):
    version = add_version(store)
    for key, value in (("governance.status", "approved"), ("governance.approvals", "2/2"),
                       ("governance.fairness", "missing"), ("gov.retired-alias", "approved")):
        store.inner.set_model_version_tag("fraud-model", version, ModelVersionTag(key, value))
    store.status_tags.refresh("fraud-model", version)
    assert sorted(_status_tags(store, "fraud-model", version)) == [
        "gov", "gov.champion", "gov.production", "gov.stage.Production"]


def test_a_users_own_gov_tags_survive_when_a_policy_starts_covering_the_model(store):
    version = add_version(store, "other-model", tags={"gov.team": "risk", "gov": "see the wiki"})
    store.policy = store.status_tags.policy = store.gate.policy = _covering_every_model()
    store.status_tags.refresh("other-model", version)
    tags = _status_tags(store, "other-model", version)
    assert (tags["gov.team"], tags["gov.production"]) == ("risk", "no request")
    assert tags["gov"] == f"/governance/#/version/other-model/{version}"  # the plugin's now


def _covering_every_model():
    return parse_policy("version: 1\nmodels: [{match: '*', protected_aliases: [production]}]")


def test_a_model_created_again_under_the_same_name_starts_from_nothing(store):
    version = add_version(store)
    approved_request(store, "fraud-model", version)
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", version)
    assert _status_tags(store, "fraud-model", version)["gov.production"] == "live"
    with as_user("root"), admin_override("retired"):
        store.delete_registered_model("fraud-model")
    again = add_version(store)
    assert again == version
    assert _status_tags(store, "fraud-model", again)["gov.production"] == "no request"
    assert store.status_tags.refresh("fraud-model", again).status == "none"
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", again)
    assert err.value.error_code == "PERMISSION_DENIED"
