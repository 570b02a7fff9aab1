"""Fixtures of the fairness tests: small biased data, and a real SQLite MLflow store."""

from __future__ import annotations

import types
import uuid

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlflow_registry_ext.db.database import GovernanceDatabase


def biased_frame(n: int = 160, seed: int = 0, bias: float = 0.3) -> pd.DataFrame:
    """Rows with two sensitive columns, a feature, labels, and predictions that favour ``M``.

    ``bias`` is the gap in positive-prediction probability between M and F.
    """
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["a", "b", "c"], n)
    label = rng.integers(0, 2, n)
    base = np.where(label == 1, 0.6, 0.25)
    prob = np.clip(base + np.where(sex == "M", bias / 2, -bias / 2), 0, 1)
    prediction = (rng.random(n) < prob).astype(int)
    return pd.DataFrame(
        {"age": rng.integers(18, 80, n), "sex": sex, "race": race, "label": label, "prediction": prediction}
    )


def policy_text(match: str, *requirements: str) -> str:
    """A policy protecting ``production`` of models matching ``match``, with fairness entries
    written as YAML flow mappings, e.g. ``"metric: accuracy, sensitive_feature: sex, max: 0.1"``."""
    lines = ["version: 1", "models:", f'  - match: "{match}"', "    protected_aliases: [production]"]
    lines += ["    require:", "      fairness:"] + [f"        - {{{r}}}" for r in requirements]
    return "\n".join(lines) + "\n"


@pytest.fixture
def frame() -> pd.DataFrame:
    return biased_frame()


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """One SQLite database holding MLflow's tracking and registry tables (and ours)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("fairness", artifact_location=(root / "artifacts").as_uri())
    return types.SimpleNamespace(uri=uri, root=root, experiment_id=experiment_id)


@pytest.fixture
def db(mlflow_store) -> GovernanceDatabase:
    return GovernanceDatabase(mlflow_store.uri)


@pytest.fixture
def version(mlflow_store):
    """Version 1 of a fresh registered model, created from a run of its own."""
    client = MlflowClient(tracking_uri=mlflow_store.uri, registry_uri=mlflow_store.uri)
    name = f"model-{uuid.uuid4().hex[:8]}"
    run = client.create_run(mlflow_store.experiment_id)
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name)
    mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return types.SimpleNamespace(name=name, version=mv.version, run_id=run.info.run_id, client=client)
