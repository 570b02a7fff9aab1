"""The workspace column every governance table carries, and the filter every read applies.

A row is written in the workspace of the call that wrote it
(:func:`mlflow_registry_ext.workspace.current_workspace`) and is read only by calls in that
workspace, so one MLflow workspace never sees, counts or applies another's governance data.

Example:
    >>> from sqlalchemy import select
    >>> from mlflow_registry_ext.approvals.tables import requests_table
    >>> stmt = select(requests_table).where(in_workspace(requests_table))
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table
from sqlalchemy.sql.elements import ColumnElement

from mlflow_registry_ext.workspace import DEFAULT_WORKSPACE, WORKSPACE_COLUMN_LENGTH, current_workspace

__all__ = ["workspace_column", "in_workspace", "current_workspace"]


def workspace_column() -> Column:
    """A ``workspace`` column: NOT NULL, ``default`` for rows written before workspaces."""
    return Column(
        "workspace",
        String(WORKSPACE_COLUMN_LENGTH),
        nullable=False,
        server_default=DEFAULT_WORKSPACE,
        default=current_workspace,
    )


def in_workspace(table: Table, workspace: str | None = None) -> ColumnElement[bool]:
    """``table.workspace = <the caller's workspace>`` (or ``workspace`` when given)."""
    return table.c.workspace == (workspace or current_workspace())
