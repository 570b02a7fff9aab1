"""Look-alikes of protected aliases and stages are refused; invisible characters in alias names
are refused for every model."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from tests.approvals.fixtures import add_version, as_user, governed_store
from tests.approvals.fixtures import copy_database

LOOKALIKES = ["Production", "PRODUCTION", "pr\u043eduction", "\uff50\uff52\uff4f\uff44\uff55\uff43\uff54\uff49\uff4f\uff4e"]
HIDDEN = ["production\n", "production ", " production", "prod\u200buction", "production\t"]


def _error(call) -> MlflowException:
    with pytest.raises(MlflowException) as err:
        call()
    return err.value


@pytest.mark.parametrize("alias", LOOKALIKES)
def test_a_lookalike_of_a_protected_alias_is_refused_naming_it(store, alias):
    version = add_version(store)
    with as_user("erin"):
        error = _error(lambda: store.set_registered_model_alias("fraud-model", alias, version))
    assert error.error_code == "PERMISSION_DENIED"
    assert error.get_http_status_code() == 403
    assert f"alias {alias!r} looks like the protected alias 'production'" in error.message
    assert error.message.startswith(f"Setting alias {alias!r} of fraud-model to version {version} is refused")
    assert store.get_registered_model("fraud-model").aliases == {}
    [blocked] = audit_log.query(store.governance_db.engine, AuditQuery(action="promotion.blocked"))
    assert (blocked.actor, blocked.alias, blocked.details["change"]) == ("erin", alias, "lookalike_alias")


def test_lookalikes_of_an_unprotected_name_and_of_other_rules_pass(store):
    version = add_version(store)
    store.set_registered_model_alias("fraud-model", "Staging", version)
    other = add_version(store, "other-model")
    store.set_registered_model_alias("other-model", "Production", other)  # no rule protects it
    assert set(store.get_registered_model("other-model").aliases) == {"Production"}


def test_a_lookalike_of_a_protected_stage_is_refused(store):
    version = add_version(store)
    with as_user("erin"):
        error = _error(lambda: store.transition_model_version_stage("fraud-model", version, "Pr\u043eduction", False))
    assert error.error_code == "PERMISSION_DENIED"
    assert "looks like the protected stage 'Production'" in error.message


@pytest.mark.parametrize("alias", HIDDEN)
@pytest.mark.parametrize("model", ["fraud-model", "other-model"])
def test_alias_names_with_hidden_characters_are_refused_for_every_model(store, alias, model):
    version = add_version(store, model)
    error = _error(lambda: store.set_registered_model_alias(model, alias, version))
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    # MLflow's own wording (it refuses most of these itself; "production\n" only we do).
    assert error.message.startswith("Invalid alias name: ")
    assert store.get_registered_model(model).aliases == {}


def test_hidden_characters_are_refused_without_any_policy(sqlite_template, tmp_path, monkeypatch):
    store = governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, policy=None)
    version = add_version(store, "any-model")
    error = _error(lambda: store.set_registered_model_alias("any-model", "production\n", version))
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    store.set_registered_model_alias("any-model", "production", version)
    assert store.get_registered_model("any-model").aliases == {"production": int(version)}
