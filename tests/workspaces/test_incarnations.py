"""A registered model is its workspace, name and creation: nothing of a deleted model applies to
a new model of the same name, and a rollback returns only to a version this model approved."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.registry.promotion import admin_override, promote, rollback
from mlflow_registry_ext.approvals.rollback_targets import digest_still_matches
from tests.approvals.fixtures import add_version, approved_request, as_user

MODEL = "fraud-r"


def _alias(store, alias="production"):
    try:
        return str(store.get_model_version_by_alias(MODEL, alias).version)
    except MlflowException:
        return None


def _invalid(call) -> str:
    with pytest.raises(MlflowException) as err:
        call()
    assert err.value.error_code == "INVALID_PARAMETER_VALUE", err.value.message
    return err.value.message


def _promoted(store, version):
    approved_request(store, MODEL, version)
    with as_user("erin"):
        promote(store, MODEL, version, alias="production")


def test_a_rollback_never_returns_to_a_version_of_a_deleted_model(store):
    first_v1, first_v2 = add_version(store, MODEL), add_version(store, MODEL)
    _promoted(store, first_v1)
    _promoted(store, first_v2)
    with as_user("root"), admin_override("retiring the model"):
        store.delete_registered_model_alias(MODEL, "production")
        store.delete_registered_model(MODEL)

    new_v1 = add_version(store, MODEL, source="s3://elsewhere/never-reviewed")
    new_v2 = add_version(store, MODEL)
    assert (new_v1, new_v2) == (first_v1, first_v2)
    _promoted(store, new_v2)
    assert _alias(store) == new_v2

    # The history of the deleted model offers no rollback target, by request or directly.
    with as_user("erin"):
        message = _invalid(lambda: store.approvals.create(MODEL, new_v1, alias="production", action="rollback"))
        assert "no earlier version in the audit log of this model" in message
        _invalid(lambda: rollback(store, MODEL, "production", reason="drift alarm"))
    assert _alias(store) == new_v2
    # The old model's applied requests do not show on the new version 1 either.
    assert store.status_tags.compute(MODEL, new_v1).status not in ("applied", "approved")
    assert store.approvals.latest_for_version(
        MODEL, new_v1, store.get_model_version(MODEL, new_v1).creation_timestamp,
        store.get_registered_model(MODEL).creation_timestamp,
    ) is None


def test_a_rollback_target_must_have_been_approved_for_the_alias(store):
    v1, v2 = add_version(store, MODEL), add_version(store, MODEL)
    # v1 reached production through an admin override, never through a review.
    with as_user("root"), admin_override("incident 7"):
        store.set_registered_model_alias(MODEL, "production", v1)
    _promoted(store, v2)
    with as_user("erin"):
        message = _invalid(lambda: store.approvals.create(MODEL, v1, alias="production", action="rollback"))
    assert f"Version {v1} of {MODEL} was never approved for alias 'production'" in message
    assert _alias(store) == v2


def test_a_reviewed_rollback_still_works_in_the_same_incarnation(store):
    v1, v2 = add_version(store, MODEL), add_version(store, MODEL)
    _promoted(store, v1)
    _promoted(store, v2)
    request = approved_request(store, MODEL, v1, action="rollback", reviewers=("carol",))
    with as_user("erin"):
        result = rollback(store, MODEL, "production", reason="drift alarm")
    assert (result.version, result.request_id) == (v1, request.id)


def test_the_digest_comparison_binds_to_the_approved_bytes():
    assert digest_still_matches("sha256:a", "sha256:a", required=True)
    assert not digest_still_matches("sha256:a", "sha256:b", required=False)
    assert not digest_still_matches(None, "sha256:b", required=True)
    assert not digest_still_matches("sha256:a", None, required=False)
    assert digest_still_matches(None, None, required=False)
