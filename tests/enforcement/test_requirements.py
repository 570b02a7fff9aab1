"""What the version must carry besides approvals: passing fairness checks, unchanged artifacts."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.fairness.records import FairnessCheck, FairnessStore
from mlflow_registry_ext.registry.promotion import check_promotion
from tests.approvals.fixtures import add_version, approved_request, as_user, governed_store

GATED = """\
version: 1
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
    require:
      fairness:
        - metric: demographic_parity_difference
          sensitive_feature: sex
          max: 0.1
      artifact_digest: true
"""


@pytest.fixture
def gated(sqlite_template, tmp_path, monkeypatch):
    from tests.approvals.fixtures import copy_database

    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, policy=GATED)


def _model_dir(tmp_path, content="weights"):
    directory = tmp_path / "model"
    directory.mkdir(exist_ok=True)
    (directory / "weights.bin").write_text(content)
    return directory


def _record(store, version, value):
    FairnessStore(store.governance_db).record([FairnessCheck(
        model="fraud-model", version=version, metric="demographic_parity_difference",
        sensitive_features=("sex",), aggregate="difference", value=value, threshold_max=0.1,
        passed=value <= 0.1)])


def _refusal(store, version) -> str:
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert err.value.error_code == "PERMISSION_DENIED"
    return err.value.message


def test_fairness_checks_gate_the_promotion(gated, tmp_path):
    version = add_version(gated, source=str(_model_dir(tmp_path)))
    request = approved_request(gated, "fraud-model", version, reviewers=("alice",))
    assert "fairness check demographic_parity_difference on sex missing" in _refusal(gated, version)
    _record(gated, version, 0.25)
    assert "fairness check demographic_parity_difference on sex failed: 0.25 > max 0.1" in _refusal(gated, version)
    check = check_promotion(gated, "fraud-model", version, alias="production")
    assert (check.allowed, check.request_id, check.approvals) == (False, request.id, "1/1")
    _record(gated, version, 0.04)  # the newest record applies
    assert check_promotion(gated, "fraud-model", version, alias="production").allowed
    with as_user("erin"):
        gated.set_registered_model_alias("fraud-model", "production", version)
    assert gated.get_model_version("fraud-model", version).tags["gov.production"] == "live"
    assert gated.status_tags.compute("fraud-model", version).fairness == "passed"


def test_approvals_are_bound_to_the_artifacts(gated, tmp_path):
    directory = _model_dir(tmp_path)
    version = add_version(gated, source=str(directory))
    digest = gated.get_model_version("fraud-model", version).tags["governance.artifact_digest"]
    assert digest.startswith("sha256:")
    _record(gated, version, 0.0)
    request = approved_request(gated, "fraud-model", version, reviewers=("alice",))
    assert request.artifact_digest == digest
    (directory / "weights.bin").write_text("swapped after review")
    assert "artifact digest mismatch: approved sha256:" in _refusal(gated, version)
    with as_user("bob"), pytest.raises(MlflowException) as err:
        gated.approvals.approve(request.id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and "changed since" in err.value.message
    (directory / "weights.bin").write_text("weights")
    with as_user("erin"):
        gated.set_registered_model_alias("fraud-model", "production", version)


def test_unreadable_artifacts_are_a_clear_refusal_not_a_crash(gated, tmp_path):
    version = add_version(gated, source=str(tmp_path / "nowhere"))
    assert "governance.artifact_digest" not in gated.get_model_version("fraud-model", version).tags
    with as_user("erin"), pytest.raises(MlflowException) as err:
        gated.approvals.create("fraud-model", version, alias="production")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "cannot read the artifacts of version 1" in err.value.message
    message = _refusal(gated, version)
    assert "artifact digest of the version is unknown" in message
    assert "cannot read the artifacts of version 1" in message


def test_recording_a_check_updates_the_version_status_tag(gated, tmp_path):
    # The "done when": a breaching version cannot be promoted even with every approval,
    # the same version after a passing check can, and the stock UI shows it on the version.
    from mlflow import MlflowClient

    from mlflow_registry_ext.fairness.service import evaluate_fairness

    version = add_version(gated, source=str(_model_dir(tmp_path)))
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    client = MlflowClient(registry_uri=gated.store_uri, tracking_uri=gated.inner_uri)
    tags = lambda: gated.get_model_version("fraud-model", version).tags  # noqa: E731
    assert tags()["gov.production"] == "approved, fairness missing"
    sex = ["f", "f", "f", "f", "m", "m", "m", "m"]
    y_true = [1, 0, 1, 0, 1, 0, 1, 0]
    biased = [1, 1, 1, 0, 0, 0, 0, 1]
    fair = [1, 0, 1, 0, 1, 0, 1, 0]
    evaluate_fairness(gated.governance_db, "fraud-model", version, y_true, biased, {"sex": sex},
                      metrics=["demographic_parity_difference"], client=client, log_charts=False,
                      policy=gated.policy)
    assert tags()["gov.production"] == "approved, fairness failed"
    assert "demographic_parity_difference on sex failed" in _refusal(gated, version)
    evaluate_fairness(gated.governance_db, "fraud-model", version, y_true, fair, {"sex": sex},
                      metrics=["demographic_parity_difference"], client=client, log_charts=False,
                      policy=gated.policy)
    assert tags()["gov.production"] == "approved"
    with as_user("erin"):
        gated.set_registered_model_alias("fraud-model", "production", version)
