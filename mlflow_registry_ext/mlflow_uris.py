"""Point MLflow's process-wide tracking and registry URIs somewhere, and put them back exactly.

``models:/`` and ``runs:/`` URIs resolve through those process-wide URIs. ``mlflow.set_*_uri``
also writes them into the environment, so restoring means restoring both.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["using_uris"]

_NAMES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@contextlib.contextmanager
def using_uris(tracking_uri: str | None, registry_uri: str | None):
    """Inside the block MLflow resolves URIs through ``tracking_uri``/``registry_uri`` (each
    only when given); afterwards everything is as it was."""
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_tracking, saved_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
    saved_env = {name: os.environ.get(name) for name in _NAMES}
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    if registry_uri:
        mlflow.set_registry_uri(registry_uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved_tracking, saved_registry
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
