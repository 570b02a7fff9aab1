"""The OpenAPI 3 document of the governance REST API, generated from :mod:`.spec` and
:data:`~mlflow_registry_ext.routes.ROUTES`, so it lists exactly the endpoints the server serves.

Served at ``/api/2.0/mlflow/governance/openapi.json``. Paths are documented under the ``/api``
prefix; each also exists under ``/ajax-api`` (what browsers call).

Example:
    >>> doc = openapi_document()
    >>> doc["openapi"], "/api/2.0/mlflow/governance/audit" in doc["paths"]
    ('3.0.3', True)
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext import routes
from mlflow_registry_ext.server.inputs import INT64_MAX, INT64_MIN
from mlflow_registry_ext.server.spec import OPERATIONS, Field, Operation

__all__ = ["openapi_document", "COMPONENTS"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object", "additionalProperties": True}
_NSTR = {"type": "string", "nullable": True}
_NINT = {"type": "integer", "nullable": True}


def _object(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": True}
    if required:
        schema["required"] = list(required)
    return schema


def _list_of(key: str, ref: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}, **(extra or {})},
                   (key,))


_AUDIT_ENTRY = _object(
    {"seq": _INT, "entry_id": _STR, "timestamp_ms": _INT, "actor": _STR, "action": _STR, "model": _NSTR,
     "version": _NSTR, "alias": _NSTR, "before": _OBJ, "after": _OBJ, "details": _OBJ, "request_id": _NSTR,
     "client_addr": _NSTR, "prev_hash": _STR, "hash": _STR},
    ("seq", "entry_id", "timestamp_ms", "actor", "action", "hash"),
)
_APPROVAL_REQUEST = _object(
    {"id": _STR, "model": _STR, "version": _STR, "target_kind": {"type": "string", "enum": ["alias", "stage"]},
     "target": _STR, "action": _STR, "status": _STR, "requester": _STR, "created_at_ms": _INT,
     "updated_at_ms": _INT, "expires_at_ms": _NINT, "required": _INT, "approvals": _INT, "approvals_text": _STR,
     "decisions": {"type": "array", "items": _OBJ}, "comments": {"type": "array", "items": _OBJ}},
    ("id", "model", "version", "target_kind", "target", "status", "requester"),
)
_WEBHOOK = _object(
    {"id": _STR, "url": _STR, "events": {"type": "array", "items": _STR}, "model_filter": _NSTR,
     "signature_scheme": _STR, "status": _STR, "description": _NSTR, "created_ms": _INT, "updated_ms": _INT,
     "created_by": _STR, "disabled_reason": _NSTR, "failing_since_ms": _NINT,
     "previous_secret_expires_ms": _NINT},
    ("id", "url", "events", "status"),
)
_DELIVERY = _object(
    {"id": _STR, "webhook_id": _STR, "event_id": _STR, "event_type": _STR, "model": _NSTR, "origin": _STR,
     "status": _STR, "attempts": _INT, "next_attempt_ms": _INT, "created_ms": _INT,
     "last_status_code": _NINT, "last_error": _NSTR},
    ("id", "webhook_id", "event_id", "event_type", "status"),
)
_FAIRNESS_CHECK = _object(
    {"id": _STR, "model": _STR, "version": _STR, "check_name": _STR, "metric": _STR,
     "sensitive_feature": _STR, "sensitive_features": {"type": "array", "items": _STR}, "aggregate": _STR,
     "value": {"type": "number"}, "passed": {"type": "boolean", "nullable": True},
     "by_group": {"type": "array", "items": _OBJ}, "dataset_name": _NSTR, "chart_uri": _NSTR},
    ("id", "model", "version", "metric", "value"),
)

_CHECKPOINT = _object(
    {"size": _INT, "root": _STR, "note": _STR, "origin": _STR, "created_ms": _INT,
     "witnessed": {"type": "array", "items": _STR}, "created": _BOOL},
    ("size", "root", "note", "origin", "created_ms"),
)
_PART = _object({"status": {"type": "string", "enum": ["present", "partial", "missing"]}, "reason": _STR},
                ("status",))
_DOSSIER_PARTS = ("comparison", "metrics", "lineage", "datasets", "code", "environment", "signature",
                  "input_example", "model_card", "fairness", "artifacts", "artifact_signature", "governance")
_SCAN_REPORT = _object(
    {"id": _STR, "model": _STR, "version": _STR, "artifact_digest": _NSTR, "scanner": _STR,
     "scanner_version": _NSTR, "status": _STR, "highest_severity": _NSTR,
     "scanned": {"type": "array", "items": _STR}, "findings": {"type": "array", "items": _OBJ},
     "skipped": {"type": "array", "items": _OBJ}, "errors": {"type": "array", "items": _STR},
     "actor": _STR, "created_at_ms": _INT},
    ("id", "model", "version", "scanner", "status"),
)

#: The component schemas, by name.
COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": _object({"error_code": _STR, "message": _STR}, ("error_code", "message")),
    "Object": _OBJ,
    "Session": _object({"user": _STR, "authenticated": _BOOL, "auth": _NSTR, "admin": _BOOL, "governed": _BOOL,
                        "can_decide": _BOOL}, ("user", "authenticated", "admin")),
    "AuditEntry": _AUDIT_ENTRY,
    "AuditPage": _list_of("entries", "AuditEntry", {"next_after_seq": _NINT}),
    "VerifyResult": _object({"ok": _BOOL, "checked": _INT, "first_bad_seq": _NINT, "reason": _NSTR,
                             "head_seq": _INT, "head_hash": _NSTR, "kind": _NSTR}, ("ok", "checked")),
    "ReconcileResult": _object({
        "workspace": _STR, "ok": _BOOL, "new": _INT, "models": _INT, "versions": _INT, "entries": _INT,
        "ran_ms": _NINT, "drift_seqs": {"type": "array", "items": _INT},
        "differences": {"type": "array", "items": _object(
            {"workspace": _STR, "kind": _STR, "model": _STR, "version": _NSTR, "key": _NSTR, "expected": _NSTR,
             "actual": _NSTR})}}, ("ok", "differences")),
    "AliasHistory": _object({"history": {"type": "array", "items": _object(
        {"model": _STR, "alias": _STR, "version": _NSTR, "since_ms": _INT, "actor": _STR, "seq": _INT,
         "action": _STR})}}, ("history",)),
    "ApprovalRequest": _APPROVAL_REQUEST,
    "ApprovalRequestPage": _list_of("requests", "ApprovalRequest", {"next_page_token": _NSTR}),
    "GovernanceStatus": _object({"model": _STR, "version": _STR, "covered": _BOOL, "rule": _NSTR,
                                 "status": _STR, "approvals": _NSTR, "fairness": _NSTR,
                                 "artifact_digest": _NSTR, "request_id": _NSTR, "page_link": _NSTR,
                                 "targets": {"type": "array", "items": _object(
                                     {"target_kind": _STR, "target": _STR, "status": _STR, "approvals": _STR,
                                      "request_id": _NSTR, "live": _BOOL, "tag": _STR, "value": _STR},
                                     ("target_kind", "target", "status", "live", "tag", "value"))},
                                 "tags": _OBJ},
                                ("model", "version", "covered", "status")),
    "PromotionResult": _object({"model": _STR, "version": _STR, "target_kind": _STR, "target": _STR,
                                "action": _STR, "previous_version": _NSTR, "request_id": _NSTR,
                                "override_reason": _NSTR, "audit_seq": _NINT, "rule": _NSTR,
                                "reason": _NSTR, "alone": _BOOL},
                               ("model", "version", "target_kind", "target")),
    "PromotionCheck": _object({"model": _STR, "version": _STR, "target_kind": _STR, "target": _STR,
                               "action": _STR, "protected": _BOOL, "allowed": _BOOL, "message": _STR,
                               "missing": {"type": "array", "items": _STR}},
                              ("protected", "allowed", "message")),
    "EffectivePolicy": _object({"model": _STR, "policy_source": _NSTR, "policy_digest": _NSTR,
                                "rule": {"type": "object", "nullable": True, "additionalProperties": True},
                                "rule_name": _NSTR, "reviewers": {"type": "array", "items": _STR},
                                "requirements": {"type": "array", "items": _OBJ}, "protected": _BOOL},
                               ("model", "requirements", "protected")),
    "FairnessCheck": _FAIRNESS_CHECK,
    "ScanReport": _SCAN_REPORT,
    "ScanList": _list_of("scans", "ScanReport"),
    "FairnessCheckList": _list_of("checks", "FairnessCheck"),
    "FairnessResult": _list_of("checks", "FairnessCheck", {"model": _STR, "version": _STR,
                                                           "passed": {"type": "boolean", "nullable": True},
                                                           "chart_error": _NSTR}),
    "Webhook": _WEBHOOK,
    "WebhookList": _list_of("webhooks", "Webhook"),
    "CreatedWebhook": _object({"webhook": {"$ref": "#/components/schemas/Webhook"}, "secret": _STR},
                              ("webhook", "secret")),
    "TestResult": _object({"webhook_id": _STR, "delivery_id": _STR, "event_type": _STR, "ok": _BOOL,
                           "status_code": _NINT, "error": _NSTR, "latency_ms": _INT}, ("ok",)),
    "ReplayResult": _object({"webhook_id": _STR, "since_ms": _INT, "until_ms": _NINT, "queued": _INT},
                            ("queued",)),
    "Deleted": _object({"deleted": _STR}, ("deleted",)),
    "Delivery": _DELIVERY,
    "DeliveryList": _list_of("deliveries", "Delivery"),
    "AttemptList": _object({"attempts": {"type": "array", "items": _OBJ}}, ("attempts",)),
    "ModelDigest": _object({"uri": _STR, "digest": _STR, "source": _STR, "file_count": _INT, "total_size": _INT,
                            "files": {"type": "array", "items": _OBJ}}, ("digest", "files")),
    "Dossier": _object({"dossier_version": _INT, "model": _STR, "version": _STR, "alias": _NSTR,
                        "generated_at": _STR, "model_version": _OBJ, "missing": {"type": "array", "items": _STR},
                        "elapsed_ms": {"type": "number"}, **{p: _PART for p in _DOSSIER_PARTS}},
                       ("dossier_version", "model", "version", "missing", *_DOSSIER_PARTS)),
    "VerifyReport": _object({"uri": _STR, "ok": _BOOL, "method": _STR, "checked": _INT, "digest": _NSTR,
                             "expected_digest": _NSTR, "digest_matches": {"type": "boolean", "nullable": True},
                             "problems": {"type": "array", "items": _OBJ}}, ("ok", "checked", "problems")),
    "ModelSignature": _object({"id": _STR, "workspace": _STR, "model": _STR, "version": _STR,
                               "model_created_ms": _NINT, "version_created_ms": _NINT, "digest": _STR,
                               "request_id": _STR, "target_kind": _STR, "target": _STR, "key_id": _STR,
                               "signature_bundle": _STR, "attestation": _STR, "created_at_ms": _INT},
                              ("model", "version", "digest", "key_id", "signature_bundle", "attestation")),
    "Checkpoint": _CHECKPOINT,
    "CheckpointPage": _object({"checkpoints": {"type": "array", "items": _CHECKPOINT},
                               "next_before_size": _NINT}, ("checkpoints",)),
    "InclusionProof": _object({"seq": _INT, "size": _INT, "entry_hash": _STR, "body": _STR,
                               "proof": {"type": "array", "items": _STR}, "checkpoint": _STR},
                              ("seq", "size", "entry_hash", "proof", "checkpoint")),
    "ConsistencyProof": _object({"old": _STR, "new": _STR, "proof": {"type": "array", "items": _STR}},
                                ("old", "new", "proof")),
    "Health": _object({"status": _STR, "time_ms": _INT, "policy": _OBJ, "checkpoint": _OBJ, "dispatcher": _OBJ,
                       "reconcile": {"type": "object", "nullable": True, "additionalProperties": True}},
                      ("status", "policy", "checkpoint", "dispatcher", "reconcile")),
    "PublicKeys": _object({"signing": {"type": "object", "nullable": True, "additionalProperties": True},
                           "log": {"type": "object", "nullable": True, "additionalProperties": True}},
                          ("signing", "log")),
}

_ERRORS = {
    "400": "Bad input (INVALID_PARAMETER_VALUE), or a duplicate (RESOURCE_ALREADY_EXISTS)",
    "401": "Not authenticated (UNAUTHENTICATED)",
    "403": "Refused by permissions or the policy (PERMISSION_DENIED)",
    "404": "No such resource (RESOURCE_DOES_NOT_EXIST)",
    "503": "The governance database is unavailable (TEMPORARILY_UNAVAILABLE)",
}


def _schema(field: Field) -> dict[str, Any]:
    if field.type == "any":
        schema: dict[str, Any] = {}
    elif field.type == "array":
        items = {"string": _STR, "number": {"type": "number"}, "array": {"type": "array", "items": {}}}.get(
            field.items or "any", {})
        schema = {"type": "array", "items": items}
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
    else:
        schema = {"type": field.type}
        if field.type == "object":
            schema["additionalProperties"] = True
    if field.enum:
        schema["enum"] = list(field.enum)
    if field.type == "integer":
        schema["format"] = "int64"
        schema["minimum"] = INT64_MIN if field.minimum is None else field.minimum
        schema["maximum"] = INT64_MAX if field.maximum is None else field.maximum
    if field.max_length is not None and field.type == "string":
        schema["maxLength"] = field.max_length
    if field.description:
        schema["description"] = field.description
    return schema


def _operation(op: Operation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 256}}
        for name in op.path_params
    ]
    params += [
        {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f),
         **({"description": f.description} if f.description else {})}
        for f in op.query
    ]
    if op.media:
        ok = {"description": "The file", "content": {op.media: {"schema": {"type": "string", "format": "binary"}}}}
    elif op.ndjson:
        ok = {"description": "One audit entry per line", "content": {"application/x-ndjson": {"schema": _STR}}}
    else:
        ok = {"description": "Success", "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{op.response}"}}}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    doc: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.tag],
        "x-access": op.access,
        "parameters": params,
        "responses": {"200": ok, **{code: {"description": text, **error} for code, text in _ERRORS.items()}},
    }
    if op.body is not None:
        body_schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: _schema(f) for f in op.body},
            "additionalProperties": False,
        }
        required = [f.name for f in op.body if f.required]
        if required:
            body_schema["required"] = required
        doc["requestBody"] = {"required": bool(required),
                              "content": {"application/json": {"schema": body_schema}}}
    return doc


def openapi_document(static_prefix: str = "") -> dict[str, Any]:
    """The OpenAPI 3.0 document (``servers`` names ``static_prefix`` when the server has one)."""
    from mlflow_registry_ext import __version__

    paths: dict[str, dict[str, Any]] = {}
    for name, (method, path) in routes.ROUTES.items():
        full = routes.openapi_path(routes.API_PREFIX + path)
        paths.setdefault(full, {})[method.lower()] = _operation(OPERATIONS[name])
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
            "schemas": COMPONENTS,
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        },
        "security": [{}, {"basicAuth": []}],
        "paths": paths,
    }
