"""Real MLflow models on cas+file and cas+s3: log, register, load by alias, dedup, tamper."""

from __future__ import annotations

import os
import uuid

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.artifacts.verify import verify
from mlflow_registry_ext.mlflow_uris import using_uris
from tests.artifacts.helpers import blob_names, overwrite_blob, store_of, write

pytestmark = pytest.mark.slow


class AddWeights(mlflow.pyfunc.PythonModel):
    """Adds the first byte of its weights file to every input."""

    def load_context(self, context):
        with open(context.artifacts["weights"], "rb") as f:
            self.offset = f.read(1)[0]

    def predict(self, context, model_input, params=None):
        return model_input["x"] + self.offset


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    # One database for the module: creating MLflow's schema takes seconds.
    uri = f"sqlite:///{tmp_path_factory.mktemp('tracking') / 'mlflow.db'}"
    with using_uris(uri, uri):
        yield uri


@pytest.fixture
def weights(tmp_path):
    return write(tmp_path / "weights.bin", bytes([7]) + os.urandom(512 * 1024))


def _log(root_uri, weights):
    experiment = f"exp-{root_uri}"
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=root_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run():
        # Explicit requirements: inferring them would load the model in a subprocess (slow).
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=AddWeights(),
            artifacts={"weights": weights},
            pip_requirements=["pandas"],
        )


def _stored_bytes(store):
    return sum(b.size for b in store.iter_blobs())


def _name():
    return f"fraud-{uuid.uuid4().hex[:8]}"


def test_a_model_round_trips_by_alias(root_uri, tracking, weights):
    info = _log(root_uri, weights)
    assert info.artifact_path.startswith("cas+")
    name = _name()
    version = mlflow.register_model(info.model_uri, name)
    MlflowClient().set_registered_model_alias(name, "champion", version.version)
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(model.predict(pd.DataFrame({"x": [1, 2]}))) == [8, 9]
    digest = model_digest(f"models:/{name}@champion")
    assert digest.source == "manifest"
    assert digest.digest == model_digest(f"models:/{name}/{version.version}").digest
    assert digest.digest == model_digest(info.model_uri).digest
    assert any(f.path.endswith("weights.bin") for f in digest.files)
    assert verify(f"models:/{name}@champion").ok


def test_relogging_copying_and_reregistering_store_nothing_new(root_uri, tracking, weights):
    info = _log(root_uri, weights)
    store = store_of(info.artifact_path)
    before_blobs, before_bytes = blob_names(store), _stored_bytes(store)
    name = _name()
    v1 = mlflow.register_model(info.model_uri, name)
    mlflow.register_model(info.model_uri, name + "-copy")
    MlflowClient().copy_model_version(f"models:/{name}/{v1.version}", name + "-archive")
    assert blob_names(store) == before_blobs
    again = _log(root_uri, weights)
    # Only the model's own metadata (MLmodel names its new id and time) is new.
    assert _stored_bytes(store) - before_bytes < 4096
    assert model_digest(again.model_uri).digest != model_digest(info.model_uri).digest
    assert {f.sha256 for f in model_digest(again.model_uri).files if "weights" in f.path} == {
        f.sha256 for f in model_digest(info.model_uri).files if "weights" in f.path
    }


def test_loading_a_tampered_model_fails_and_names_the_file(root_uri, tracking, weights, tmp_path):
    info = _log(root_uri, weights)
    name = _name()
    version = mlflow.register_model(info.model_uri, name)
    MlflowClient().set_registered_model_alias(name, "champion", version.version)
    bad = next(f for f in model_digest(info.model_uri).files if f.path.endswith("weights.bin"))
    overwrite_blob(store_of(info.artifact_path), bad.sha256, bytes([99]) + os.urandom(bad.size - 1))
    (tmp_path / "dst").mkdir()
    with pytest.raises(MlflowException, match=r"artifacts/weights\.bin.* is corrupt"):
        mlflow.pyfunc.load_model(f"models:/{name}@champion", dst_path=str(tmp_path / "dst"))
    assert not [p for p in (tmp_path / "dst").rglob("weights.bin")]
    report = verify(f"models:/{name}@champion")
    assert [(p.path, p.problem) for p in report.problems] == [("artifacts/weights.bin", "corrupt")]
