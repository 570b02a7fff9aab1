"""Read a request's query parameters and JSON body as its :class:`~.spec.Operation` declares them.

Anything that does not fit (an unknown body property, a wrong type, a value out of range, a body
that is not a JSON object) is refused with ``InvalidInput`` (HTTP 400) naming the input, so a
view only ever sees the values it declared. So is anything the stores below could not hold,
whichever field it is in: a string that is not valid Unicode (a lone surrogate such as
``"\\ud800"``), an integer outside 64 bits, JSON nested deeper than :data:`MAX_DEPTH` levels
(bodies larger than ``MAX_BODY_BYTES`` are refused before they are read, see :mod:`.blueprint`).

Example:
    >>> parse_query(OPERATIONS["audit_list"], {"limit": "5"})["limit"]
    5
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server.spec import Field, Operation

__all__ = ["parse_query", "parse_body", "parse_path", "MAX_DEPTH", "INT64_MIN", "INT64_MAX"]

#: Deepest nesting of arrays and objects a request body may have (the body object is level 1;
#: the deepest declared input, fairness ``data`` rows, is level 3).
MAX_DEPTH = 32
#: Integers are stored in 64-bit columns; anything outside is refused, not overflowed.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_MAX_PATH_PARAM = 256


def _check_unicode(name: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON allows "\ud800" escapes, which no database or UTF-8 response can hold.
        raise InvalidInput(f"{name} is not valid Unicode (it holds a lone surrogate)") from None
    return value


def _check_string(field: Field, value: str) -> str:
    _check_unicode(field.name, value)
    if "\x00" in value:
        raise InvalidInput(f"{field.name} must not contain NUL characters")
    if field.max_length is not None and len(value) > field.max_length:
        raise InvalidInput(f"{field.name} is longer than {field.max_length} characters")
    if field.enum and value not in field.enum:
        raise InvalidInput(f"{field.name} must be one of {', '.join(field.enum)}, got {value!r}")
    return value


def _check_integer(field: Field, value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(f"{field.name} must fit in 64 bits (between {INT64_MIN} and {INT64_MAX}), got {value}")
    if field.minimum is not None and value < field.minimum:
        raise InvalidInput(f"{field.name} must be at least {field.minimum}, got {value}")
    if field.maximum is not None and value > field.maximum:
        raise InvalidInput(f"{field.name} must be at most {field.maximum}, got {value}")
    return value


def _query_value(field: Field, raw: str) -> Any:
    if field.type == "integer":
        text = raw.strip()
        # int() of a 10,000-digit string is slow (and refused past 4,300 digits); 64 bits fit in 20.
        if len(text) > 20:
            raise InvalidInput(f"{field.name} must be an integer that fits in 64 bits, got {raw[:40]!r}...")
        try:
            number = int(text)
        except ValueError:
            raise InvalidInput(f"{field.name} must be an integer, got {raw!r}") from None
        return _check_integer(field, number)
    if field.type == "boolean":
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInput(f"{field.name} must be true or false, got {raw!r}")
    return _check_string(field, raw)


def _check_tree(data: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH, lone surrogates and integers outside 64 bits anywhere in
    a parsed body, including the free-form fields (walked without recursion)."""
    stack = [(data, 1, "the request body")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise InvalidInput(f"The request body is nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_unicode(f"a field name of {where}", key)
                    stack.append((item, depth + 1, repr(key) if depth == 1 else where))
            else:
                stack.extend((item, depth + 1, where) for item in value)
        elif isinstance(value, str):
            _check_unicode(f"a string in {where}", value)
        elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise InvalidInput(f"an integer in {where} does not fit in 64 bits")


def parse_query(op: Operation, args: Mapping[str, str]) -> dict[str, Any]:
    """The declared query parameters (missing optional ones as ``None``); unknown ones are ignored,
    as MLflow's own REST API does."""
    present = {name: value for name, value in args.items() if value != ""}
    return _collect(op.query, present, _query_value, "query parameter")


def _collect(fields, given: Mapping[str, Any], convert, what: str) -> dict[str, Any]:
    """Each field's converted value; ``None`` for an absent optional one."""
    values: dict[str, Any] = {}
    for field in fields:
        value = given.get(field.name)
        if value is None:
            if field.required:
                raise InvalidInput(f"Missing required {what} {field.name!r}")
            values[field.name] = None
        else:
            values[field.name] = convert(field, value)
    return values


def _is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _body_value(field: Field, value: Any) -> Any:
    kind = field.type
    if kind == "any":
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidInput(f"{field.name} must be a string")
        return _check_string(field, value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{field.name} must be an integer")
        return _check_integer(field, value)
    if kind == "number":
        if not _is_json_number(value):
            raise InvalidInput(f"{field.name} must be a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(f"{field.name} must be true or false")
        return value
    if kind == "object":
        if not isinstance(value, dict):
            raise InvalidInput(f"{field.name} must be a JSON object")
        return value
    if not isinstance(value, list):
        raise InvalidInput(f"{field.name} must be an array")
    if field.max_length is not None and len(value) > field.max_length:
        raise InvalidInput(f"{field.name} has more than {field.max_length} items")
    if field.items == "string":
        if not all(isinstance(item, str) for item in value):
            raise InvalidInput(f"every item of {field.name} must be a string")
        return [_check_string(Field(f"an item of {field.name}", max_length=1000), item) for item in value]
    if field.items == "array" and not all(isinstance(item, list) for item in value):
        raise InvalidInput(f"every item of {field.name} must be an array")
    return value


def parse_body(op: Operation, raw: bytes) -> dict[str, Any]:
    """The declared body properties (missing or ``null`` optional ones as ``None``).

    Raises:
        InvalidInput: Not a JSON object, an unknown property, a wrong type, a missing property.
    """
    if op.body is None:
        return {}
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidInput(f"The request body is nested deeper than {MAX_DEPTH} levels") from None
        _check_tree(data)
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object")
    known = {field.name for field in op.body}
    unknown = sorted(set(data) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise InvalidInput(f"Unknown field(s) {', '.join(map(repr, unknown))} (allowed: {allowed})")
    return _collect(op.body, data, _body_value, "field")


def parse_path(op: Operation, view_args: Mapping[str, Any]) -> dict[str, str]:
    """The path parameters, checked for length and control characters."""
    values = {}
    for name in op.path_params:
        value = str(view_args.get(name, ""))
        _check_unicode(name, value)
        if not value or len(value) > _MAX_PATH_PARAM or any(ord(ch) < 32 for ch in value):
            raise InvalidInput(f"Malformed {name} in the path")
        values[name] = value
    return values
