"""The MLflow workspace a call runs in: the scope of all governance data.

MLflow (3.11 and later, with ``--enable-workspaces``) binds a workspace to each server request
(``X-MLFLOW-WORKSPACE``) and to clients (``mlflow.set_workspace``, ``MLFLOW_WORKSPACE``). Every
governance row carries the workspace it was written in, and every query is scoped to the
caller's, so one workspace never sees another's requests, decisions, records or audit entries.
Without workspaces, and on MLflow releases that have none, everything lives in ``default``.
"""

from __future__ import annotations

__all__ = ["DEFAULT_WORKSPACE", "WORKSPACE_COLUMN_LENGTH", "current_workspace"]

DEFAULT_WORKSPACE = "default"
WORKSPACE_COLUMN_LENGTH = 63


def current_workspace() -> str:
    """The workspace of the current request or client, ``default`` when none is selected."""
    try:
        from mlflow.utils.workspace_utils import resolve_entity_workspace_name
    except ImportError:  # an MLflow release without workspaces
        return DEFAULT_WORKSPACE
    return resolve_entity_workspace_name(None)
