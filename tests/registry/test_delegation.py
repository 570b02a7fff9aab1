"""The governed store must delegate every public store method explicitly."""

from __future__ import annotations

import inspect

from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

from mlflow_registry_ext.registry.store import GovernedRegistryStore


def _public(cls) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_every_public_method_of_mlflow_stores_is_defined_on_the_governed_store():
    expected = _public(AbstractStore) | _public(SqlAlchemyStore)
    expected.discard("CREATE_MODEL_VERSION_RETRIES")
    missing = sorted(
        name
        for name in expected
        if name not in GovernedRegistryStore.__dict__
    )
    assert not missing, (
        "GovernedRegistryStore does not delegate these MLflow store methods explicitly "
        f"(the base class's default would run instead): {missing}"
    )


def test_delegating_methods_accept_the_same_parameters_as_mlflow():
    mismatched = []
    for name, ours in GovernedRegistryStore.__dict__.items():
        if name.startswith("_") or not callable(ours):
            continue
        theirs = getattr(SqlAlchemyStore, name, None) or getattr(AbstractStore, name, None)
        if theirs is None or not callable(theirs):
            continue
        ours_params = list(inspect.signature(ours).parameters)
        theirs_params = list(inspect.signature(theirs).parameters)
        if ours_params != theirs_params:
            mismatched.append((name, ours_params, theirs_params))
    assert not mismatched, mismatched
