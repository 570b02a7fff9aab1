"""With no policy, or one that protects nothing here, the governed store is MLflow's own."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from tests.approvals.fixtures import copy_database, governed_store
from tests.registry.test_store import _scenario

NOTHING_PROTECTED = """\
version: 1
models:
  - match: "*"
    protected_aliases: []
"""
OTHER_MODELS_PROTECTED = """\
version: 1
models:
  - match: "credit-*"
    protected_aliases: [production]
    protected_stages: [Production, Staging]
"""


@pytest.mark.parametrize("policy", [None, NOTHING_PROTECTED, OTHER_MODELS_PROTECTED],
                         ids=["no-policy", "protects-nothing", "protects-other-models"])
def test_same_results_and_errors_as_mlflow(policy, sqlite_template, tmp_path, monkeypatch):
    plain_uri = copy_database(sqlite_template, tmp_path / "plain")
    plain = _scenario(MlflowClient(tracking_uri=plain_uri, registry_uri=plain_uri))
    uri = copy_database(sqlite_template, tmp_path / "governed")
    store = governed_store(uri, monkeypatch, tmp_path, policy=policy)
    assert store.gate.active is (policy == OTHER_MODELS_PROTECTED)
    governed = _scenario(MlflowClient(tracking_uri=uri, registry_uri=f"governed+{uri}"))
    assert governed == plain
