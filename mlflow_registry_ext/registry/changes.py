"""What a registry transaction changed, read from the SQLAlchemy session as it flushes.

MLflow's SQL store loads rows before it changes them (and ``merge`` loads the existing row), so
attribute history gives the value before the change for free: auditing needs no extra query.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

__all__ = ["RowChange", "ChangeCollector"]

# Columns every change touches that say nothing about what changed.
_NOISE = frozenset({"creation_time", "last_updated_time", "workspace", "last_updated_timestamp"})
_REDACTED = frozenset({"secret"})


@dataclasses.dataclass
class RowChange:
    """One row inserted, updated or deleted in a flush.

    ``before`` holds the changed columns' old values (all columns for a delete); ``after`` the
    new ones (all columns for an insert). ``obj`` is the ORM instance itself.
    """

    table: str
    kind: str
    obj: Any
    before: dict[str, Any]
    after: dict[str, Any]

    def value(self, column: str) -> Any:
        """The column's value after the change (or before it, for a delete)."""
        if column in self.after:
            return self.after[column]
        if column in self.before:
            return self.before[column]
        return inspect(self.obj).dict.get(column)

    def identity(self) -> dict[str, Any]:
        """The row's primary key after the change (the workspace left out, as everywhere)."""
        state = inspect(self.obj)
        mapper = state.mapper
        keys = (mapper.get_property_by_column(column).key for column in mapper.primary_key)
        return {key: state.dict.get(key) for key in keys if key not in _NOISE}


def _loaded(state) -> dict[str, Any]:
    values = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _NOISE or key not in state.dict:
            continue
        values[key] = "***" if key in _REDACTED else state.dict[key]
    return values


_INFO_KEY = "mlflow_registry_ext.changes"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    # One listener for every session (cheaper than one per session); only sessions a collector
    # was attached to do any work.
    collector = session.info.get(_INFO_KEY)
    if collector is not None:
        collector.after_flush(session)


@event.listens_for(Session, "before_flush")
def _prepare(session: Session, flush_context, instances) -> None:
    collector = session.info.get(_INFO_KEY)
    if collector is not None and collector.prepare is not None:
        collector.prepare(session)


class ChangeCollector:
    """Keeps the row changes of one session's flushes, in order.

    ``prepare(session)``, when given, runs before each flush: values it sets on new or changed
    objects go out with the flush's own statements and are recorded as part of the change.
    """

    def __init__(self, session: Session, prepare=None):
        self.changes: list[RowChange] = []
        self.prepare = prepare
        session.info[_INFO_KEY] = self

    def after_flush(self, session: Session) -> None:
        for obj in session.new:
            state = inspect(obj)
            self.changes.append(RowChange(_table(state), "insert", obj, {}, _loaded(state)))
        for obj in session.dirty:
            state = inspect(obj)
            before, after = {}, {}
            for attr in state.mapper.column_attrs:
                key = attr.key
                if key in _NOISE:
                    continue
                # Read through the attribute itself: ``state.attrs`` would build a set of
                # attribute states that refer back to the instance (a reference cycle per write,
                # left for the garbage collector).
                hist = get_history(obj, key, passive=PASSIVE_NO_INITIALIZE)
                if not hist.has_changes():
                    continue
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if old == new:
                    continue
                if key in _REDACTED:
                    old, new = "***", "***"
                before[key], after[key] = old, new
            if before or after:
                self.changes.append(RowChange(_table(state), "update", obj, before, after))
        for obj in session.deleted:
            state = inspect(obj)
            self.changes.append(RowChange(_table(state), "delete", obj, _loaded(state), {}))


def _table(state) -> str:
    return state.mapper.persist_selectable.name
