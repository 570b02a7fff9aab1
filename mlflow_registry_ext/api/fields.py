"""The field types the operation models are built from, with the limits the stores below can hold.

Every string refuses NUL characters and lone surrogates (no database or UTF-8 answer can hold
them); every integer fits in 64 bits. Query parameters arrive as text: :func:`QueryInt` and
:data:`QueryBool` convert it, accepting what the API always accepted (``true``/``1``/``yes``,
``false``/``0``/``no``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = ["Text", "Int", "QueryInt", "QueryBool", "TextList", "Name", "LongText", "VersionText", "Id", "TimeText",
           "TIME", "INT64_MIN", "INT64_MAX", "NAME", "TEXT", "ITEM_LENGTH", "invalid"]

#: Integers are stored in 64-bit columns; anything outside is refused, not overflowed.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Longest name (model, alias, user, ...) and longest free text.
NAME, TEXT = 256, 10_000
#: Longest string item of an array.
ITEM_LENGTH = 1000

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def invalid(detail: str) -> PydanticCustomError:
    """A refusal whose message is ``"<field> <detail>"``."""
    return PydanticCustomError("governance", "{detail}", {"detail": detail})


def _clean(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("is not valid Unicode (it holds a lone surrogate)") from None
    if "\x00" in value:
        raise invalid("must not contain NUL characters")
    return value


def Text(max_length: int) -> Any:
    """A string of at most ``max_length`` characters."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_clean)]


def Int(minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> Any:
    """An integer between ``minimum`` and ``maximum`` (64 bits by default)."""
    return Annotated[int, Field(ge=minimum, le=maximum, json_schema_extra={"format": "int64"})]


def _query_int(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    # int() of a 10,000-digit string is slow (and refused past 4,300 digits); 64 bits fit in 20.
    if len(text) > 20:
        raise invalid(f"must be an integer that fits in 64 bits, got {raw[:40]!r}...")
    try:
        number = int(text)
    except ValueError:
        raise invalid(f"must be an integer, got {raw!r}") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise invalid(f"must fit in 64 bits (between {INT64_MIN} and {INT64_MAX}), got {number}")
    return number


def QueryInt(minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> Any:
    """An integer query parameter between ``minimum`` and ``maximum``."""
    return Annotated[Int(minimum, maximum), BeforeValidator(_query_int)]


def _query_bool(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(f"must be true or false, got {raw!r}")


#: A boolean query parameter.
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]


def TextList(max_items: int) -> Any:
    """An array of at most ``max_items`` strings, each at most :data:`ITEM_LENGTH` characters."""
    return Annotated[list[Text(ITEM_LENGTH)], Field(max_length=max_items)]


#: The common string inputs.
Name = Text(NAME)
LongText = Text(TEXT)
VersionText = Text(32)
Id = Text(64)
TimeText = Text(64)
#: How a time may be written.
TIME = "ISO 8601 time or date, or epoch milliseconds."
