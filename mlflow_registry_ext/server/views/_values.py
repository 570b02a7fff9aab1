"""Small conversions the views share."""

from __future__ import annotations

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.audit.log import parse_time

_MAX_MS = 2**53


def time_ms(name: str, value: str | None) -> int | None:
    """Epoch milliseconds from an ISO 8601 time, a date or epoch ms, within what databases hold.

    Raises:
        InvalidInput: Not a time, or out of range.
    """
    if value is None:
        return None
    try:
        ms = parse_time(value)
    except (ValueError, OverflowError):
        raise InvalidInput(f"Bad time {value!r} for {name}: use ISO 8601 or epoch milliseconds") from None
    if ms is not None and not -_MAX_MS < ms < _MAX_MS:
        raise InvalidInput(f"{name} is out of range: {value!r}")
    return ms
