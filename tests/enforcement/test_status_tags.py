"""The read-only ``governance.*`` tags: set on covered models only, kept current, untouchable."""

from __future__ import annotations

import pytest
from mlflow.entities.model_registry import ModelVersionTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.entities import ApprovalRequest
from mlflow_registry_ext.governance.status_tags import fairness_of, initial_tags, status_of
from mlflow_registry_ext.policy import FairnessFact, parse_policy
from mlflow_registry_ext.governance.promotion import admin_override
from tests.approvals.fixtures import POLICY, add_version, approved_request, as_user


def _governance_tags(store, model, version):
    return {k: v for k, v in store.get_model_version(model, version).tags.items() if k.startswith("governance.")}


def test_status_values():
    request = ApprovalRequest(id="r", model="m", version="1", target_kind="alias", target="a", action="promote",
                              status="applied", requester="erin", created_at_ms=0, updated_at_ms=0)
    assert [status_of(None), status_of(request)] == ["none", "approved"]
    rule = parse_policy(POLICY).rule_for("fraud-model")
    assert initial_tags(rule) == {"governance.status": "none", "governance.approvals": "0/2",
                                  "governance.fairness": "missing"}
    # No thresholds in the rule: the records' own verdicts.
    assert fairness_of(rule, []) == "missing"
    assert fairness_of(rule, [FairnessFact("selection_rate", "sex", 0.3, passed=None)]) == "missing"
    assert fairness_of(rule, [FairnessFact("accuracy", "sex", 0.9, passed=True),
                              FairnessFact("recall", "sex", 0.2, passed=False)]) == "failed"


def test_tags_are_read_only_on_covered_models_and_absent_elsewhere(store):
    version = add_version(store)
    assert _governance_tags(store, "fraud-model", version) == {
        "governance.status": "none", "governance.approvals": "0/2", "governance.fairness": "missing"}
    with as_user("frank"):
        for call in (
            lambda: store.set_model_version_tag("fraud-model", version, ModelVersionTag("governance.status", "approved")),
            lambda: store.delete_model_version_tag("fraud-model", version, "governance.approvals"),
            lambda: add_version(store, tags={"governance.status": "approved", "owner": "x"}),
        ):
            with pytest.raises(MlflowException) as err:
                call()
            assert err.value.error_code == "PERMISSION_DENIED"
            assert "read-only" in err.value.message
    assert store.search_model_versions("name='fraud-model'")[0].tags["governance.status"] == "none"

    # Models no rule protects get nothing, and their users own every tag name.
    other = add_version(store, "other-model", tags={"governance.status": "mine"})
    assert _governance_tags(store, "other-model", other) == {"governance.status": "mine"}
    with as_user("frank"):
        store.delete_model_version_tag("other-model", other, "governance.status")

    # A copy carries its own state, never the source's.
    copied = store.copy_model_version(store.get_model_version("fraud-model", version), "other-model")
    assert _governance_tags(store, "other-model", copied.version) == {}
    store.set_model_version_tag("other-model", copied.version, ModelVersionTag("governance.status", "fake"))
    into_covered = store.copy_model_version(store.get_model_version("other-model", copied.version), "fraud-copy")
    assert _governance_tags(store, "fraud-copy", into_covered.version)["governance.status"] == "none"


def test_tags_follow_requests_and_fairness_records(store):
    from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore

    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="champion")
    with as_user("carol"):
        store.approvals.approve(request.id)
    assert _governance_tags(store, "fraud-model", version)["governance.approvals"] == "1/2"
    FairnessStore(store.governance_db).record([FairnessCheck(
        model="fraud-model", version=version, metric="demographic_parity_difference",
        sensitive_features=("sex",), aggregate="difference", value=0.3, threshold_max=0.1, passed=False)])
    status = store.status_tags.refresh("fraud-model", version)
    assert (status.status, status.approvals, status.fairness, status.request_id) == ("pending", "1/2", "failed", request.id)
    assert _governance_tags(store, "fraud-model", version)["governance.fairness"] == "failed"
    with as_user("erin"):
        store.approvals.cancel(request.id)
    assert _governance_tags(store, "fraud-model", version)["governance.status"] == "none"
    # Renaming out of the rule removes the tags; the model then carries nothing visible.
    store.rename_registered_model("fraud-model", "renamed-model")
    assert _governance_tags(store, "renamed-model", version) == {}


def test_a_model_created_again_under_the_same_name_starts_from_nothing(store):
    version = add_version(store)
    approved_request(store, "fraud-model", version)
    with as_user("erin"):
        store.set_registered_model_alias("fraud-model", "production", version)
    with as_user("root"), admin_override("retired"):
        store.delete_registered_model("fraud-model")
    again = add_version(store)
    assert again == version
    assert _governance_tags(store, "fraud-model", again)["governance.status"] == "none"
    assert store.status_tags.refresh("fraud-model", again).status == "none"
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", again)
    assert err.value.error_code == "PERMISSION_DENIED"
