"""`mlflow server --serve-artifacts --artifacts-destination cas+file:///...`, a real subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import mlflow
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.artifacts.verify import verify
from mlflow_registry_ext.mlflow_uris import using_uris
from tests.artifacts.helpers import blob_names, overwrite_blob, store_of, write
from tests.artifacts.test_mlflow_models import AddWeights

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("server")
    port = _free_port()
    root = base / "artifacts"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    log = open(base / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "mlflow", "server",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
            "--serve-artifacts", "--artifacts-destination", f"cas+file://{root}",
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start:\n" + (base / "server.log").read_text())
            time.sleep(0.5)
        yield url, f"cas+file://{root}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def client_of(server, tmp_path):
    url, root = server
    with using_uris(url, url):
        yield url, root


def _log_and_register(weights):
    name = f"served-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment("served")
    with mlflow.start_run() as run:
        mlflow.log_text("notes", "notes/readme.txt")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=AddWeights(),
            artifacts={"weights": weights},
            pip_requirements=["pandas"],
        )
    version = mlflow.register_model(info.model_uri, name)
    MlflowClient().set_registered_model_alias(name, "champion", version.version)
    return name, run.info.run_id, info


def test_models_round_trip_through_the_proxied_cas_root(client_of, tmp_path):
    _, root = client_of
    weights = write(tmp_path / "weights.bin", bytes([5]) + os.urandom(300_000))
    name, run_id, info = _log_and_register(weights)
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(model.predict(pd.DataFrame({"x": [0]}))) == [5]
    assert [a.path for a in MlflowClient().list_artifacts(run_id, "notes")] == ["notes/readme.txt"]
    store = store_of(root)
    with open(weights, "rb") as f:
        import hashlib

        assert hashlib.sha256(f.read()).hexdigest() in blob_names(store)
    # The client reads through the server (every file downloaded, each verified by the server);
    # the server's root itself gives the same digest from its manifest.
    remote = model_digest(f"models:/{name}@champion")
    assert remote.source == "download"
    exp = mlflow.get_experiment_by_name("served")
    on_disk = model_digest(f"{root}/{exp.experiment_id}/models/{info.model_id}/artifacts")
    assert on_disk.source == "manifest" and on_disk.digest == remote.digest
    # Logging the same weights again through the server stores no new blob for them.
    before = blob_names(store)
    _log_and_register(weights)
    new = blob_names(store) - before
    assert all(store.blob_info(sha).size < 4096 for sha in new)


def test_a_tampered_blob_fails_downloads_through_the_server(client_of, tmp_path):
    _, root = client_of
    weights = write(tmp_path / "weights.bin", bytes([3]) + os.urandom(200_000))
    name, _, info = _log_and_register(weights)
    entry = next(f for f in model_digest(f"models:/{name}@champion").files if f.path.endswith("weights.bin"))
    overwrite_blob(store_of(root), entry.sha256, os.urandom(entry.size))
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException, match="corrupt"):
        mlflow.pyfunc.load_model(f"models:/{name}@champion", dst_path=str(dst))
    assert not list(dst.rglob("weights.bin"))
    report = verify(f"models:/{name}@champion")
    assert not report.ok
    assert [(p.path, p.problem) for p in report.problems] == [("artifacts/weights.bin", "unreadable")]
    assert "corrupt" in report.problems[0].detail
