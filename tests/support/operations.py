"""The inputs an operation declares, as plain records read from its models' JSON schema (what
the tests that build good and bad requests for every operation need)."""

from __future__ import annotations

import dataclasses

from mlflow_registry_ext.api import Operation


@dataclasses.dataclass(frozen=True)
class DeclaredField:
    name: str
    type: str  # string, integer, boolean, array, object or any
    required: bool
    enum: tuple = ()


def _fields(model) -> tuple[DeclaredField, ...]:
    if model is None:
        return ()
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
        kind = options[0].get("type", "any") if len(options) == 1 else "any"
        fields.append(DeclaredField(name, kind, name in required, tuple(options[0].get("enum", ()))))
    return tuple(fields)


def query_fields(op: Operation) -> tuple[DeclaredField, ...]:
    return _fields(op.query)


def body_fields(op: Operation) -> tuple[DeclaredField, ...] | None:
    """``None`` when the operation takes no body."""
    return None if op.body is None else _fields(op.body)
