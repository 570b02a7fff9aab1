"""The package's clock, and the one way a time is written for people: ISO 8601 in UTC with ``Z``, to the second
(``2026-12-01T21:56:45Z``), in the CLI, in JSON and on the reviewer page alike.

Example:
    >>> iso_utc(0)
    '1970-01-01T00:00:00Z'
"""

from __future__ import annotations

import datetime as _dt
import time

__all__ = ["utc_now_ms", "iso_utc", "iso_utc_datetime"]


def utc_now_ms() -> int:
    """Now, in milliseconds since the epoch: the unit of every time the package stores."""
    return int(time.time() * 1000)


def iso_utc_datetime(moment: _dt.datetime) -> str:
    """``moment`` (naive means UTC) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc(ms: int | float | None, missing: str = "-") -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SSZ`` (``missing`` for ``None``)."""
    if ms is None:
        return missing
    return iso_utc_datetime(_dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc))
