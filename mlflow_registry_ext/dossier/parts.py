"""How every dossier part says whether it is there: small constructors and the time format."""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["present", "missing", "iso"]


def present(**fields: Any) -> dict[str, Any]:
    """A part MLflow holds: ``{"status": "present", **fields}``."""
    return {"status": "present", **fields}


def missing(reason: str, **fields: Any) -> dict[str, Any]:
    """A part MLflow does not hold, with the reason; ``fields`` keep the part's shape."""
    return {"status": "missing", "reason": reason, **fields}


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with ``Z`` (the one time format of the dossier).

    Example:
        >>> iso(0)
        '1970-01-01T00:00:00.000Z'
    """
    if ms is None:
        return None
    moment = _dt.datetime.fromtimestamp(int(ms) / 1000, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
