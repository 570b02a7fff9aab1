"""The governed store behaves like MLflow's own store and audits every change, on every engine."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.store import GovernedRegistryStore
from tests.support.databases import TempDatabase


def _scenario(client: MlflowClient):
    """A tour of registry mutations; returns comparable results and errors."""
    out = []

    def step(fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except MlflowException as exc:
            out.append(("error", exc.error_code))
            return None
        out.append(("ok", _comparable(result)))
        return result

    step(client.create_registered_model, "fraud-model", tags={"owner": "risk"}, description="d")
    step(client.create_registered_model, "fraud-model")  # duplicate
    step(client.create_model_version, "fraud-model", "s3://bucket/m1", tags={"a": "1"})
    step(client.create_model_version, "fraud-model", "s3://bucket/m2")
    step(client.create_model_version, "missing-model", "s3://bucket/m2")
    step(client.set_registered_model_alias, "fraud-model", "production", "1")
    step(client.set_registered_model_alias, "fraud-model", "production", "2")
    step(client.set_registered_model_alias, "fraud-model", "v1", "2")  # reserved alias name
    step(client.get_model_version_by_alias, "fraud-model", "production")
    step(client.set_model_version_tag, "fraud-model", "1", "k", "v")
    step(client.delete_model_version_tag, "fraud-model", "1", "k")
    step(client.set_registered_model_tag, "fraud-model", "team", "x")
    step(client.delete_registered_model_tag, "fraud-model", "team")
    step(client.update_model_version, "fraud-model", "1", "described")
    step(client.update_registered_model, "fraud-model", "new description")
    step(client.transition_model_version_stage, "fraud-model", "1", "Staging")
    step(client.transition_model_version_stage, "fraud-model", "1", "NotAStage")
    step(client.search_model_versions, "name='fraud-model'")
    step(client.search_registered_models)
    step(client.get_latest_versions, "fraud-model")
    step(client.delete_registered_model_alias, "fraud-model", "production")
    step(client.rename_registered_model, "fraud-model", "fraud-model-2")
    step(client.delete_model_version, "fraud-model-2", "1")
    step(client.get_model_version, "fraud-model-2", "1")
    step(client.delete_registered_model, "fraud-model-2")
    step(client.get_registered_model, "fraud-model-2")
    return out


def _comparable(value):
    if value is None:
        return None
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if hasattr(value, "__iter__") and hasattr(value, "token"):
        return [_comparable(v) for v in value]
    if hasattr(value, "__dict__"):
        return {
            k: _comparable(v)
            for k, v in vars(value).items()
            if "time" not in k and k not in ("_user_id",)
        }
    return value


def test_governed_store_gives_the_same_results_and_errors_as_mlflow(database, tmp_path):
    plain_db = TempDatabase(database.kind, tmp_path)
    try:
        plain = _scenario(MlflowClient(tracking_uri=plain_db.uri, registry_uri=plain_db.uri))
    finally:
        plain_db.drop()
    governed = _scenario(
        MlflowClient(tracking_uri=database.uri, registry_uri=f"governed+{database.uri}")
    )
    assert governed == plain


def test_every_change_is_audited_with_actor_target_before_and_after(database, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    client = MlflowClient(tracking_uri=database.uri, registry_uri=f"governed+{database.uri}")
    client.create_registered_model("m")
    mv = client.create_model_version("m", "s3://bucket/m1")
    client.create_model_version("m", "s3://bucket/m2")
    client.set_registered_model_alias("m", "champion", "1")
    client.set_registered_model_alias("m", "champion", "2")
    client.set_model_version_tag("m", "2", "validated", "yes")
    with pytest.raises(MlflowException):
        client.set_registered_model_alias("m", "champion", "99")

    entries = audit_log.query(GovernanceDatabase(database.uri).engine, audit_log.AuditQuery())
    assert [(e.seq, e.action) for e in entries] == [
        (1, "registered_model.created"),
        (2, "model_version.created"),
        (3, "model_version.created"),
        (4, "model_version_alias.created"),
        (5, "model_version_alias.created"),
        (6, "model_version_tag.set"),
    ]
    assert {e.actor for e in entries} == {"alice"}
    moved = entries[4]
    assert (moved.model, moved.alias, moved.version) == ("m", "champion", "2")
    assert moved.before == {"version": "1"} and moved.after == {"version": "2"}
    assert entries[5].after == {"key": "validated", "value": "yes"}
    # MLflow leaves user_id empty; the governed store stamps the actor.
    assert mv.user_id == "alice"
    assert client.get_model_version("m", "1").user_id == "alice"


def test_a_failed_change_writes_no_entry(sqlite_database):
    store = GovernedRegistryStore(f"governed+{sqlite_database.uri}")
    store.create_registered_model("m")
    with pytest.raises(MlflowException) as err:
        store.create_registered_model("m")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    entries = audit_log.query(store.governance_db.engine, audit_log.AuditQuery())
    assert [e.action for e in entries] == ["registered_model.created"]


def test_model_tags_and_deletions_record_what_was_lost(sqlite_database):
    store = GovernedRegistryStore(f"governed+{sqlite_database.uri}")
    store.create_registered_model("m", tags=[RegisteredModelTag("owner", "risk")])
    store.create_model_version("m", "s3://b/1", tags=[ModelVersionTag("t", "1")])
    store.set_registered_model_alias("m", "production", "1")
    # An int, as MLflow's REST handler passes it (MLflow 3.10 leaves the alias behind for "1").
    store.delete_model_version("m", 1)
    store.delete_registered_model("m")
    entries = audit_log.query(store.governance_db.engine, audit_log.AuditQuery())
    deleted_version = entries[3]
    assert deleted_version.action == "model_version.deleted"
    assert deleted_version.before["source"] == "s3://b/1"
    assert deleted_version.before["aliases"] == {"production": "1"}
    deleted_model = entries[4]
    assert deleted_model.action == "registered_model.deleted"
    assert deleted_model.before["tags"] == {"owner": "risk"}


def test_malformed_and_unknown_uris_are_clear_errors(tmp_path):
    with pytest.raises(MlflowException) as err:
        GovernedRegistryStore("governed+nonsense")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        GovernedRegistryStore("governed+ftp://host/x")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(MlflowException) as err:
        GovernedRegistryStore("governed+postgresql+psycopg2://nobody@127.0.0.1:1/none")
    assert err.value.error_code in ("TEMPORARILY_UNAVAILABLE", "BAD_REQUEST", "INTERNAL_ERROR")
    assert "127.0.0.1" in err.value.message or "connect" in err.value.message.lower()
