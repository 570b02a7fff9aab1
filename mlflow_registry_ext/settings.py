"""Reading the package's numeric settings from the environment, with one rule for bad values.

Example:
    >>> non_negative("MLFLOW_GOVERNANCE_RECONCILE_INTERVAL", 3600.0, environ={})
    3600.0
"""

from __future__ import annotations

import math
import os
from typing import Mapping

from mlflow_registry_ext.errors import InvalidInput

__all__ = ["non_negative"]


def non_negative(name: str, default: float, *, kind: type = float, off: str | None = None,
                 environ: Mapping[str, str] | None = None) -> float:
    """The finite number >= 0 in variable ``name`` (``default`` when unset or blank).

    Args:
        kind: ``float``, or ``int`` for a whole number.
        off: What ``0`` turns off, named in the error message.

    Raises:
        InvalidInput: Anything else (the server refuses to start), naming the variable.
    """
    env = os.environ if environ is None else environ
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if not (value >= 0 and math.isfinite(value)):
        whole = "whole " if kind is int else ""
        zero = f" (0 turns {off} off)" if off else ""
        raise InvalidInput(f"{name} must be a {whole}number >= 0{zero}, got {raw!r}")
    return value
