"""The registry operation in progress, so the session hook knows what a transaction is for."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import Any, Iterator

from mlflow_registry_ext.entities import AuditEntry

__all__ = ["Operation", "running", "current"]


@dataclasses.dataclass
class Operation:
    """A mutating registry call: its audit action and target, and the entries it produced.

    ``follow``: entries that describe the call as a whole (e.g. ``promotion.rolled_back``),
    appended after the change's own entry in the same transaction.
    """

    action: str
    model: str | None = None
    version: str | None = None
    alias: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    entries: list[AuditEntry] = dataclasses.field(default_factory=list)
    intents: list[str] = dataclasses.field(default_factory=list)
    follow: list[Any] = dataclasses.field(default_factory=list)

    def take_follow(self) -> list[Any]:
        """The ``follow`` entries, once: the first transaction that changes rows carries them."""
        taken, self.follow = self.follow, []
        return taken


_current: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "mlflow_registry_ext_operation", default=None
)


@contextlib.contextmanager
def running(op: Operation) -> Iterator[Operation]:
    token = _current.set(op)
    try:
        yield op
    finally:
        _current.reset(token)


def current() -> Operation | None:
    return _current.get()
