"""The registry state as MLflow's own tables hold it, read with five queries per workspace.

MLflow soft-deletes a model version (it stays in ``model_versions`` under the hidden stage
``Deleted_Internal``, with its tags): such versions are not part of the state. MLflow releases
without workspaces have no ``workspace`` column; everything is then in ``default``.

Example:
    >>> with store.inner.engine.connect() as conn:
    ...     state = read_state(conn, "default")
    >>> sorted(state)
    ['fraud-model']
"""

from __future__ import annotations

from sqlalchemy import column, inspect, select, table, text
from sqlalchemy.engine import Connection

from mlflow_registry_ext.audit.state import ModelState, RegistryState, VersionState
from mlflow_registry_ext.workspace import DEFAULT_WORKSPACE

__all__ = ["read_state", "workspaces", "has_registry", "has_content"]

_SOFT_DELETED = "Deleted_Internal"


def has_registry(conn: Connection) -> bool:
    """Whether MLflow's registry tables are in the database of ``conn``."""
    return inspect(conn).has_table("registered_models")


def _has_workspaces(conn: Connection) -> bool:
    columns = {c["name"] for c in inspect(conn).get_columns("registered_models")}
    return "workspace" in columns


def workspaces(conn: Connection) -> list[str]:
    """The workspaces that hold registered models (``default`` when MLflow has none)."""
    if not _has_workspaces(conn):
        return [DEFAULT_WORKSPACE]
    rows = conn.execute(text("SELECT DISTINCT workspace FROM registered_models")).scalars().all()
    return sorted(rows)


def has_content(conn: Connection) -> bool:
    """Whether any registered model exists, in any workspace."""
    return conn.execute(text("SELECT 1 FROM registered_models LIMIT 1")).first() is not None


def _table(name: str, *columns: str, scoped: bool):
    return table(name, *(column(c) for c in columns + (("workspace",) if scoped else ())))


def read_state(conn: Connection, workspace: str = DEFAULT_WORKSPACE) -> RegistryState:
    """Every registered model of ``workspace`` with its tags, aliases and live versions."""
    scoped = _has_workspaces(conn)
    if not scoped and workspace != DEFAULT_WORKSPACE:
        return {}

    def rows(name: str, *columns: str):
        # Core constructs, so the dialect quotes names like ``key`` (reserved in MySQL).
        t = _table(name, *columns, scoped=scoped)
        stmt = select(*(t.c[c] for c in columns))
        if scoped:
            stmt = stmt.where(t.c.workspace == workspace)
        return conn.execute(stmt)

    state: RegistryState = {}
    for name, description in rows("registered_models", "name", "description"):
        state[name] = ModelState(description=description)
    for name, version, stage, description, source, run_id in rows(
        "model_versions", "name", "version", "current_stage", "description", "source", "run_id"
    ):
        model = state.get(name)
        if model is not None and stage != _SOFT_DELETED:
            model.versions[str(version)] = VersionState(
                stage=stage or "None", description=description, source=source, run_id=run_id
            )
    for name, key, value in rows("registered_model_tags", "name", "key", "value"):
        model = state.get(name)
        if model is not None:
            model.tags[key] = value
    for name, version, key, value in rows("model_version_tags", "name", "version", "key", "value"):
        model = state.get(name)
        found = model.versions.get(str(version)) if model is not None else None
        if found is not None:
            found.tags[key] = value
    for name, alias, version in rows("registered_model_aliases", "name", "alias", "version"):
        model = state.get(name)
        if model is not None:
            model.aliases[alias] = str(version)
    return state
