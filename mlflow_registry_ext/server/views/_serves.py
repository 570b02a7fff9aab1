"""Binding a view to its operation's declaration: ``@serves("webhooks_get")`` above the function
is the one place that names the view of an operation."""

from __future__ import annotations

from typing import Callable

from mlflow_registry_ext.api import OPERATIONS

__all__ = ["serves"]


def serves(name: str) -> Callable[[Callable], Callable]:
    """Mark the decorated function as the view of the operation ``name`` (a declared one)."""
    operation = OPERATIONS[name]

    def bind(view: Callable) -> Callable:
        view.operation = operation  # type: ignore[attr-defined]
        return view

    return bind
