"""Which incarnation of a registered model a governance row belongs to.

A registered model is identified by its workspace, its name and its ``creation_timestamp``:
deleting ``fraud-r`` and creating it again makes a new model that merely shares the name. Rows
about a model (approval requests, fairness records) store the ``model_created_ms`` of the model
they were made for and apply only while the live model has that creation time. Rows written
before the column existed have none; they apply only if they were written after the live model
was created (a row written before it was created belongs to a model that no longer exists).

Example:
    >>> from sqlalchemy import select
    >>> from mlflow_registry_ext.approvals.tables import requests_table
    >>> live = live_model_created_ms(store.inner, "fraud-model")
    >>> stmt = select(requests_table).where(of_incarnation(requests_table, live))
"""

from __future__ import annotations

from typing import Any

from mlflow.exceptions import MlflowException
from sqlalchemy import Table, and_, or_, true
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["live_model_created_ms", "of_incarnation", "belongs_to"]


def live_model_created_ms(inner_store: Any, model: str) -> int | None:
    """The ``creation_timestamp`` of the registered model ``model`` as it exists now (in the
    caller's workspace), or ``None`` when there is no such model."""
    try:
        found = inner_store.get_registered_model(model)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    created = getattr(found, "creation_timestamp", None)
    return None if created is None else int(created)


def of_incarnation(table: Table, live_ms: int | None, written_column: str = "created_at_ms") -> ColumnElement[bool]:
    """Rows of ``table`` that belong to the incarnation created at ``live_ms`` (all rows when
    the creation time is unknown)."""
    if live_ms is None:
        return true()
    return or_(
        table.c.model_created_ms == live_ms,
        and_(table.c.model_created_ms.is_(None), table.c[written_column] >= live_ms),
    )


def belongs_to(row_model_created_ms: int | None, row_written_ms: int | None, live_ms: int | None) -> bool:
    """:func:`of_incarnation` for one row already read."""
    if live_ms is None:
        return True
    if row_model_created_ms is not None:
        return row_model_created_ms == live_ms
    return row_written_ms is not None and row_written_ms >= live_ms
