"""The package's public surface is small and pinned; every name in it resolves."""

from __future__ import annotations

import importlib.metadata

import mlflow_registry_ext


def test_public_names_are_pinned():
    assert mlflow_registry_ext.__all__ == [
        "__version__",
        "GovernanceClient",
        "GovernedRegistryStore",
        "AuditEntry",
        "RequestIdentity",
        "bind_request",
    ]


def test_every_public_name_resolves():
    for name in mlflow_registry_ext.__all__:
        assert getattr(mlflow_registry_ext, name) is not None


def test_every_entry_point_loads():
    dist = importlib.metadata.distribution("mlflow-registry-ext")
    groups = {ep.group for ep in dist.entry_points}
    assert {
        "mlflow.model_registry_store",
        "mlflow.artifact_repository",
        "mlflow.app",
        "mlflow.app.client",
        "mlflow.model_evaluator",
        "console_scripts",
    } <= groups
    for ep in dist.entry_points:
        assert callable(ep.load()), ep


def test_mlflow_finds_the_governed_scheme_for_every_engine():
    from mlflow.tracking._model_registry.utils import _get_store_registry

    registry = _get_store_registry()
    for scheme in (
        "governed+sqlite",
        "governed+postgresql",
        "governed+postgresql+psycopg2",
        "governed+postgresql+psycopg",
        "governed+mysql",
        "governed+mysql+pymysql",
        "governed+mssql",
    ):
        assert scheme in registry._registry, scheme


def test_importing_our_package_first_keeps_every_scheme_registered():
    # MLflow loads artifact-repository entry points while it is imported; importing one of our
    # modules first (as the CLI does) must not leave a half-initialised module behind.
    import subprocess
    import sys

    code = (
        "import warnings; warnings.simplefilter('error')\n"
        "import mlflow_registry_ext.errors\n"
        "from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry as r\n"
        "assert {'cas+file', 'cas+s3'} <= set(r._registry), sorted(r._registry)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
