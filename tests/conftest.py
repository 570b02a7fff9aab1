"""Fixtures shared by every test area."""

from __future__ import annotations

import os

import pytest

from tests.support.databases import ENGINES, TempDatabase

# Tests never talk to anything but loopback; a stray proxy setting must not change that.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_var, None)
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
# S3 that a test has not pointed at its own server on loopback goes nowhere either: a refused
# loopback port (the discard port) instead of AWS, and no credential lookup on the instance
# metadata address (a version whose source is ``s3://bucket/...`` is read when it is pinned).
os.environ.setdefault("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("AWS_MAX_ATTEMPTS", "1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "not-a-key")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "not-a-secret")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """Workers for ``-n auto`` (set in setup.cfg): one per CPU this process may use, at most four.

    Most of the time goes to real servers and databases, not this process; more workers than
    that only queue on PostgreSQL, MariaDB and the disk. ``PYTEST_XDIST_AUTO_NUM_WORKERS``
    overrides it; ``-n 0`` runs in this process.
    """
    configured = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if configured:
        return int(configured)
    return max(1, min(len(os.sched_getaffinity(0)), 4))


@pytest.fixture(params=ENGINES)
def database(request, tmp_path):
    """A fresh database on each supported engine (SQLite, PostgreSQL, MariaDB)."""
    db = TempDatabase(request.param, tmp_path)
    yield db
    db.drop()


@pytest.fixture
def sqlite_database(tmp_path):
    """A fresh SQLite database file."""
    return TempDatabase("sqlite", tmp_path)


@pytest.fixture(autouse=True)
def _isolated_identity(monkeypatch):
    # The actor of in-process calls; tests that care set it themselves.
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "tester")
    monkeypatch.delenv("MLFLOW_GOVERNANCE_POLICY", raising=False)
    monkeypatch.delenv("MLFLOW_GOVERNANCE_DATABASE_URI", raising=False)


def _uris_put_back():
    from mlflow_registry_ext.mlflow_uris import using_uris

    with using_uris(None, None):
        yield


# A test or a module's fixture that points MLflow's process-wide URIs at a server or a database
# must not leave later tests talking to it (``mlflow.set_*_uri(None)`` keeps the environment).
_mlflow_uris_restored = pytest.fixture(autouse=True)(_uris_put_back)
_mlflow_uris_restored_per_module = pytest.fixture(autouse=True, scope="module")(_uris_put_back)


_STRAY = ("mlflow.db", "mlruns")


@pytest.fixture(autouse=True)
def _no_stray_mlflow_files_per_test():
    # The same check after every test, so a failure names the test that wrote the files (a server
    # a module started may write them later; then the session check below still fails).
    before = [p for p in _STRAY if not os.path.exists(p)]
    yield
    created = [p for p in before if os.path.exists(p)]
    assert not created, f"this test wrote MLflow's default store into the working directory: {created}"


@pytest.fixture(scope="session", autouse=True)
def _no_stray_mlflow_files():
    # Tests use databases of their own: MLflow's defaults in the working directory (mlflow.db,
    # mlruns/) would leak state between runs and between MLflow releases.
    stray = [p for p in _STRAY if not os.path.exists(p)]
    yield
    created = [p for p in stray if os.path.exists(p)]
    assert not created, f"a test wrote MLflow's default store into the working directory: {created}"
