"""The REST views, one module per resource. Each view is bound to its operation's declaration by
``@serves("<operation name>")`` (:mod:`._serves`) and takes ``(ctx, access, **inputs)``: its path
parameters and the fields of its query and body models."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

__all__ = ["bound_views"]


def bound_views() -> dict[str, Callable]:
    """Operation name -> its view, read from the ``@serves`` marks of every module of this package.

    Raises:
        ValueError: Two views serve one operation.
    """
    views: dict[str, Callable] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            operation = getattr(value, "operation", None)
            if callable(value) and operation is not None and value.__module__ == module.__name__:
                if operation.name in views and views[operation.name] is not value:
                    raise ValueError(f"{operation.name} has two views: {views[operation.name]} and {value}")
                views[operation.name] = value
    return views
