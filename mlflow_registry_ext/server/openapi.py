"""The OpenAPI 3 document of the governance REST API, generated from the declarations of
:data:`mlflow_registry_ext.api.OPERATIONS` (their paths, access levels and pydantic models), so
it lists exactly the endpoints the server serves, with the inputs it accepts.

Served at ``/api/2.0/mlflow/governance/openapi.json``. Paths are documented under the ``/api``
prefix; each also exists under ``/ajax-api`` (what browsers call).

Example:
    >>> doc = openapi_document()
    >>> doc["openapi"], "/api/2.0/mlflow/governance/audit" in doc["paths"]
    ('3.0.3', True)
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from mlflow_registry_ext import routes
from mlflow_registry_ext.api import OPERATIONS, Operation
from mlflow_registry_ext.api.operation import Error

__all__ = ["openapi_document", "component_schemas"]

_REF = "#/components/schemas/{model}"
_STR = {"type": "string"}
_ERRORS = {
    "400": "Bad input (INVALID_PARAMETER_VALUE), or a duplicate (RESOURCE_ALREADY_EXISTS)",
    "401": "Not authenticated (UNAUTHENTICATED)",
    "403": "Refused by permissions or the policy (PERMISSION_DENIED)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST)",
    "503": "The governance database is unavailable (TEMPORARILY_UNAVAILABLE)",
}


def _openapi30(schema: Any, *, nullable: bool = True) -> Any:
    """A pydantic (JSON Schema 2020-12) schema in OpenAPI 3.0's dialect: ``nullable`` instead of
    a ``null`` type, ``enum`` instead of ``const``, no titles. ``nullable=False`` drops ``null``
    (query parameters: absent is how a query says none)."""
    if isinstance(schema, list):
        return [_openapi30(item, nullable=nullable) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key == "properties":
            out[key] = {name: _openapi30(prop, nullable=nullable) for name, prop in value.items()}
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = _openapi30(value, nullable=nullable)
    options = out.get("anyOf")
    if options is not None:
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) < len(options) and len(rest) == 1:
            del out["anyOf"]
            inner = rest[0]
            if "$ref" in inner:
                inner = {"allOf": [inner]}
            out = {**inner, **out}
            if nullable:
                out["nullable"] = True
            elif out.get("default", 0) is None:
                del out["default"]
    return out


def component_schemas() -> dict[str, Any]:
    """The schemas of every answer (and of the error answer), by model name."""
    models = [Error] + [op.response for op in OPERATIONS.values() if op.response is not None]
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema([(model, "serialization") for model in unique], ref_template=_REF)
    return {name: _openapi30(schema) for name, schema in top.get("$defs", {}).items()}


def _ok(op: Operation) -> dict[str, Any]:
    if op.media:
        return {"description": "The file", "content": {op.media: {"schema": {"type": "string", "format": "binary"}}}}
    if op.ndjson:
        return {"description": "One audit entry per line", "content": {"application/x-ndjson": {"schema": _STR}}}
    return {"description": "Success", "content": {"application/json": {
        "schema": {"$ref": _REF.format(model=op.response.__name__)}}}}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 256}}
        for name in op.path_params
    ]
    if op.query is not None:
        schema = _openapi30(op.query.model_json_schema(), nullable=False)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if prop.get("description"):
                param["description"] = prop["description"]
            params.append(param)
    return params


def _operation(op: Operation) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}
    doc: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "x-access": op.access,
        "parameters": _parameters(op),
        "responses": {"200": _ok(op), **{code: {"description": text, **error} for code, text in _ERRORS.items()}},
    }
    if op.body is not None:
        body = _openapi30(op.body.model_json_schema())
        body.setdefault("properties", {})
        doc["requestBody"] = {"required": bool(body.get("required")),
                              "content": {"application/json": {"schema": body}}}
    return doc


def openapi_document(static_prefix: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0 document (``servers`` names ``static_prefix`` when the server has one)."""
    from mlflow_registry_ext import __version__

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS.values():
        full = routes.openapi_path(routes.API_PREFIX + op.path)
        paths.setdefault(full, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mlflow-registry-ext governance API",
            "version": __version__,
            "description": (
                "Approvals, fairness checks, the audit log, webhooks and artifact digests of a governed "
                "MLflow model registry. Every path also exists under /ajax-api/2.0/mlflow/governance. "
                "Errors are MLflow's JSON: {\"error_code\", \"message\"}."
            ),
        },
        "servers": [{"url": static_prefix or "/"}],
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        },
        "security": [{}, {"basicAuth": []}],
        "paths": paths,
    }
