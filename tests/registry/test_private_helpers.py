"""The private helpers MLflow's own store tests and tooling call on a SQL registry store resolve
on the governed store and answer what the inner store answers."""

from __future__ import annotations

import pytest
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

from mlflow_registry_ext.registry.store import GovernedRegistryStore

#: What MLflow's tests/store/model_registry/test_sqlalchemy_store.py and MLflow's client reach.
HELPERS = (
    "ManagedSessionMaker", "_get_sql_model_version_including_deleted", "_get_registered_model",
    "_get_sql_model_version", "_get_registered_model_tag", "_get_model_version_tag",
    "_get_registered_model_alias", "_get_webhook_by_id", "_get_dialect", "_dispose_engine",
    "_await_model_version_creation",
)


def test_each_helper_is_delegated_explicitly_with_mlflows_parameters():
    import inspect

    for name in HELPERS:
        assert name in GovernedRegistryStore.__dict__, name
        theirs = getattr(SqlAlchemyStore, name, None)  # ManagedSessionMaker is set per instance
        if callable(theirs):
            assert list(inspect.signature(GovernedRegistryStore.__dict__[name]).parameters) == list(
                inspect.signature(theirs).parameters), name


@pytest.fixture
def store(sqlite_database):
    return GovernedRegistryStore(f"governed+{sqlite_database.uri}")


def test_mlflows_redaction_check_runs_on_the_governed_store(store):
    # As MLflow's test_delete_model_version_redaction does.
    store.create_registered_model("redacted")
    mv = store.create_model_version("redacted", "s3://bucket/m", "run-1", run_link="http://secret/run")
    store.delete_model_version("redacted", mv.version)
    deleted = store._get_sql_model_version_including_deleted(name="redacted", version=mv.version)
    assert "REDACTED" in deleted.run_link and "REDACTED" in deleted.source
    with store.ManagedSessionMaker() as session:
        assert store._get_registered_model(session, "redacted").name == "redacted"
    assert store._get_dialect() == "sqlite"
    assert store._await_model_version_creation(mv, 1) is None
