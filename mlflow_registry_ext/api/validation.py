"""Read a request's path parameters, query parameters and JSON body as its operation's models
declare them.

Anything that does not fit (an unknown body property, a wrong type, a value out of range, a body
that is not a JSON object) is refused with ``InvalidInput`` (HTTP 400) naming the input, so a
view only ever sees the values it declared. So is anything the stores below could not hold,
whichever field it is in: a string that is not valid Unicode (a lone surrogate such as
``"\\ud800"``), an integer outside 64 bits, JSON nested deeper than :data:`MAX_DEPTH` levels.

Example:
    >>> from mlflow_registry_ext.api import OPERATIONS
    >>> parse_query(OPERATIONS["audit_list"], {"limit": "5"})["limit"]
    5
"""

from __future__ import annotations

import json
import typing
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from mlflow_registry_ext.api.fields import INT64_MAX, INT64_MIN, ITEM_LENGTH
from mlflow_registry_ext.api.operation import Operation
from mlflow_registry_ext.errors import InvalidInput

__all__ = ["parse_query", "parse_body", "parse_path", "MAX_DEPTH", "INT64_MIN", "INT64_MAX"]

#: Deepest nesting of arrays and objects a request body may have (the body object is level 1;
#: the deepest declared input, fairness ``data`` rows, is level 3).
MAX_DEPTH = 32
_MAX_PATH_PARAM = 256


def _check_unicode(name: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON allows "\ud800" escapes, which no database or UTF-8 response can hold.
        raise InvalidInput(f"{name} is not valid Unicode (it holds a lone surrogate)") from None
    return value


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


def _choices(model: type[BaseModel], name: str) -> tuple[str, ...]:
    """The values a ``Literal`` field allows (under ``| None`` and ``Annotated``)."""
    pending = [model.model_fields[name].annotation]
    while pending:
        kind = pending.pop()
        if typing.get_origin(kind) is typing.Literal:
            return typing.get_args(kind)
        pending.extend(typing.get_args(kind))
    return ()


def _message(model: type[BaseModel], error: dict[str, Any], what: str) -> str:
    """The message of one pydantic error, in the words the API has always used."""
    loc = error["loc"]
    name = str(loc[0])
    item = len(loc) > 1
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    subject = f"an item of {name}" if item else name
    if kind == "missing":
        return f"Missing required {what} {name!r}"
    if kind == "governance":
        return f"{subject} {ctx['detail']}"
    if kind == "string_type":
        return f"every item of {name} must be a string" if item else f"{name} must be a string"
    if kind == "list_type":
        return f"every item of {name} must be an array" if item else f"{name} must be an array"
    if kind == "string_too_long":
        return f"{subject} is longer than {ctx.get('max_length', ITEM_LENGTH)} characters"
    if kind == "too_long":
        return f"{name} has more than {ctx['max_length']} items"
    if kind == "literal_error":
        if not isinstance(value, str):
            return f"{name} must be a string"
        return f"{name} must be one of {', '.join(_choices(model, name))}, got {value!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{name} must be an integer"
    if kind in ("bool_type", "bool_parsing"):
        return f"{name} must be true or false"
    if kind in ("dict_type", "model_type"):
        return f"{name} must be a JSON object"
    if kind == "greater_than_equal":
        return f"{name} must be at least {ctx['ge']}, got {value}"
    if kind == "less_than_equal":
        return f"{name} must be at most {ctx['le']}, got {value}"
    return f"{subject}: {error['msg']}"


def _validate(model: type[BaseModel], data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Each declared field's value (``None`` for an absent optional one), or the first refusal."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            allowed = ", ".join(sorted(model.model_fields)) or "none"
            raise InvalidInput(f"Unknown field(s) {', '.join(map(repr, unknown))} (allowed: {allowed})") from None
        raise InvalidInput(_message(model, errors[0], what)) from None
    return {name: getattr(parsed, name) for name in model.model_fields}


def parse_query(op: Operation, args: Mapping[str, str]) -> dict[str, Any]:
    """The declared query parameters (missing optional ones as ``None``); unknown ones are ignored,
    as MLflow's own REST API does."""
    if op.query is None:
        return {}
    present = {name: args[name] for name in op.query.model_fields if args.get(name, "") != ""}
    return _validate(op.query, present, "query parameter")


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
    # null means absent, as it always did: a required property given as null is missing.
    return _validate(op.body, {k: v for k, v in data.items() if v is not None}, "field")


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
