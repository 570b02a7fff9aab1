"""What each REST operation takes and returns: one declaration that the request parser, the
OpenAPI document and the tests all read, so they cannot drift apart.

Every operation of :data:`mlflow_registry_ext.routes.ROUTES` has exactly one :class:`Operation`
here (a test checks both ways).
"""

from __future__ import annotations

import dataclasses

from mlflow_registry_ext.routes import ROUTES

__all__ = ["Field", "Operation", "OPERATIONS", "ACCESS_LEVELS"]

#: Who may call an operation when authentication is on (see :mod:`.access`):
#: ``user`` any authenticated user; ``read``/``update`` that permission on the registered model the
#: call is about; ``reviewer`` an authenticated user who may read the model (the policy then decides
#: whether they are an eligible reviewer); ``admin`` an MLflow admin.
ACCESS_LEVELS = ("user", "read", "update", "reviewer", "admin")


@dataclasses.dataclass(frozen=True)
class Field:
    """One input of an operation (a query parameter, or a property of the JSON body).

    Attributes:
        name: Its name.
        type: ``string``, ``integer``, ``number``, ``boolean``, ``array``, ``object`` or ``any``.
        required: Whether it must be given.
        description: What it means.
        enum: The allowed values, if limited.
        minimum: Smallest allowed integer.
        maximum: Largest allowed integer.
        max_length: Longest allowed string (and longest array).
        items: The type of an array's items (``string``, ``number``, ``array`` or ``any``).
    """

    name: str
    type: str = "string"
    required: bool = False
    description: str = ""
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    items: str | None = None


@dataclasses.dataclass(frozen=True)
class Operation:
    """One REST operation.

    Attributes:
        name: Its key in :data:`~mlflow_registry_ext.routes.ROUTES`.
        summary: One line for the OpenAPI document.
        tag: The resource group it belongs to.
        access: One of :data:`ACCESS_LEVELS`.
        query: Query parameters.
        body: Properties of the JSON request body (``None``: no body).
        response: The component schema of a successful answer.
        ndjson: The answer is JSON Lines, not one JSON object.
        media: The media type of an answer that is a file, not JSON (e.g. ``application/zip``).
    """

    name: str
    summary: str
    tag: str
    access: str
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] | None = None
    response: str = "Object"
    ndjson: bool = False
    path_params: tuple[str, ...] = ()
    media: str | None = None


_NAME = 256
_TEXT = 10_000
_MODEL = Field("model", required=True, description="Registered model name.", max_length=_NAME)
_VERSION = Field("version", required=True, description="Model version.", max_length=32)
_COMMENT = Field("comment", description="A comment shown in the request's timeline.", max_length=_TEXT)
_OVERRIDE = Field("override_reason", description="Force a refused change through (rule admins only).",
                  max_length=_TEXT)
_LIMIT = Field("limit", "integer", description="Most items to return.", minimum=1, maximum=10_000)
_TIME = "ISO 8601 time or date, or epoch milliseconds."
_REQUEST_STATUSES = ("pending", "approved", "applied", "rejected", "cancelled", "expired")
_DELIVERY_STATUSES = ("pending", "sending", "succeeded", "dead")
_TARGET = (
    Field("alias", description="The protected alias (give this or stage).", max_length=_NAME),
    Field("stage", description="The protected stage (give this or alias).", max_length=_NAME),
)
_AUDIT_FILTERS = (
    Field("model", description="Only entries about this registered model.", max_length=_NAME),
    Field("version", description="Only entries about this model version.", max_length=32),
    Field("alias", description="Only entries about this alias.", max_length=_NAME),
    Field("actor", description="Only entries by this user.", max_length=_NAME),
    Field("action", description="Only this action, e.g. model_version_alias.created.", max_length=_NAME),
    Field("since", description="From this time: " + _TIME, max_length=64),
    Field("until", description="Up to this time: " + _TIME, max_length=64),
)
_WEBHOOK_FIELDS = (
    Field("url", description="Where deliveries are posted (http or https).", max_length=2048),
    Field("events", "array", description="Event types, '<family>.*' or '*'.", items="string", max_length=100),
    Field("model_filter", description="Deliver only events about models matching this glob.", max_length=_NAME),
    Field("signature_scheme", description="Signature headers.", enum=("standard", "mlflow")),
    Field("description", description="Free text.", max_length=1000),
)


def _op(name, summary, tag, access, *, query=(), body=None, response="Object", ndjson=False, media=None):
    params = tuple(part[1:-1] for part in ROUTES[name][1].split("/") if part.startswith("<"))
    return Operation(name, summary, tag, access, tuple(query), body, response, ndjson, params, media)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op("whoami", "Who the server takes the caller to be, and what the server offers", "session", "user",
            response="Session"),
        # -- approval requests -------------------------------------------------------------
        _op("approval_requests_list", "List approval requests, newest first", "approval-requests", "user",
            query=(
                Field("model", description="Only requests about this model.", max_length=_NAME),
                Field("version", description="Only requests about this version.", max_length=32),
                Field("status", description="Only requests in this status.", enum=_REQUEST_STATUSES),
                Field("requester", description="Only requests by this user.", max_length=_NAME),
                Field("reviewable", "boolean", description="Only open requests the caller may decide."),
                _LIMIT,
                Field("page_token", description="From a previous page's next_page_token.", max_length=64),
            ),
            response="ApprovalRequestPage"),
        _op("approval_requests_create", "Ask for approval to change a protected alias or stage",
            "approval-requests", "update",
            body=(_MODEL, _VERSION, *_TARGET, _COMMENT,
                  Field("action", description="What to change (default promote).",
                        enum=("promote", "rollback", "delete_alias"))),
            response="ApprovalRequest"),
        _op("approval_requests_get", "One approval request with its decisions and timeline",
            "approval-requests", "read", response="ApprovalRequest"),
        _op("approval_requests_approve", "Approve a request (eligible reviewers only)", "approval-requests",
            "reviewer", body=(_COMMENT,), response="ApprovalRequest"),
        _op("approval_requests_reject", "Reject a request (eligible reviewers only)", "approval-requests",
            "reviewer", body=(_COMMENT,), response="ApprovalRequest"),
        _op("approval_requests_cancel", "Withdraw an open request (its requester or a rule admin)",
            "approval-requests", "reviewer", body=(_COMMENT,), response="ApprovalRequest"),
        _op("approval_requests_comment", "Comment on a request without deciding", "approval-requests", "reviewer",
            body=(dataclasses.replace(_COMMENT, name="text", required=True),), response="ApprovalRequest"),
        # -- status and promotion --------------------------------------------------------------
        _op("status_get", "The governance status of a model version", "status", "read",
            query=(_MODEL, _VERSION), response="GovernanceStatus"),
        _op("status_refresh", "Recompute a version's status and rewrite its gov tags", "status",
            "update", body=(_MODEL, _VERSION), response="GovernanceStatus"),
        _op("promote", "Put a version under a protected alias or stage (applies its approved request)",
            "promotion", "update",
            body=(_MODEL, _VERSION, *_TARGET,
                  Field("request_id", description="The approved request to apply.", max_length=64),
                  _OVERRIDE,
                  Field("archive_existing_versions", "boolean",
                        description="For stages: move the versions now in the stage to Archived.")),
            response="PromotionResult"),
        _op("rollback", "Point an alias back to the version it pointed to before", "promotion", "update",
            body=(_MODEL, dataclasses.replace(_TARGET[0], required=True),
                  Field("reason", required=True, max_length=_TEXT,
                        description="Why the alias goes back (mandatory; recorded in the audit log and "
                                    "the promotion.rolled_back event)."),
                  Field("request_id", description="The approved rollback request to apply.", max_length=64),
                  _OVERRIDE),
            response="PromotionResult"),
        _op("promotion_check", "Dry run: would the policy allow this change now, and what is missing",
            "promotion", "read",
            query=(_MODEL, _VERSION, *_TARGET,
                   Field("action", description="The change (default promote).",
                         enum=("promote", "rollback", "delete_alias"))),
            response="PromotionCheck"),
        # -- policy ---------------------------------------------------------------------------------
        _op("policy_get", "The policy rule that applies to a model and what changing its targets requires",
            "policy", "read", query=(_MODEL,), response="EffectivePolicy"),
        # -- fairness ---------------------------------------------------------------------------
        _op("fairness_checks_list", "Fairness checks recorded on a model version", "fairness-checks", "read",
            query=(_MODEL, _VERSION,
                   Field("latest", "boolean", description="Only the newest of each metric, feature and dataset.")),
            response="FairnessCheckList"),
        _op("fairness_checks_create", "Measure fairness metrics on evaluation data and record them",
            "fairness-checks", "update",
            body=(
                _MODEL, _VERSION,
                Field("columns", "array", required=True, description="Column names of data.", items="string",
                      max_length=1000),
                Field("data", "array", required=True, description="Rows of the evaluation data.", items="array",
                      max_length=1_000_000),
                Field("target", required=True, description="Column with the true labels.", max_length=_NAME),
                Field("prediction", required=True, description="Column with the predicted labels.",
                      max_length=_NAME),
                Field("sensitive", "array", required=True, description="Sensitive columns.", items="string",
                      max_length=20),
                Field("metrics", "array", description="Metrics to measure.", items="string", max_length=20),
                Field("thresholds", "object", description="{metric: {max: v, min: v}} or {metric: max}."),
                Field("dataset_name", description="Name recorded for the data.", max_length=_NAME),
                Field("check_name", description="Label shared by this run's records.", max_length=_NAME),
                Field("pos_label", "any", description="The positive label of binary labels."),
                Field("intersections", "boolean", description="Also measure intersections of several columns."),
                Field("log_charts", "boolean", description="Log a per-group chart to the version's run."),
            ),
            response="FairnessResult"),
        _op("fairness_checks_get", "One recorded fairness check", "fairness-checks", "read",
            response="FairnessCheck"),
        # -- security scans -------------------------------------------------------------------------
        _op("scans_list", "Security scans recorded on a model (or one version), oldest first", "scans", "read",
            query=(_MODEL, dataclasses.replace(_VERSION, required=False)), response="ScanList"),
        _op("scans_create", "Scan a model version's files now and record the report", "scans", "update",
            body=(_MODEL, _VERSION), response="ScanReport"),
        # -- audit ---------------------------------------------------------------------------------
        _op("audit_list", "Audit entries, oldest first", "audit", "user",
            query=(*_AUDIT_FILTERS,
                   Field("after_seq", "integer", description="Only entries after this position.", minimum=0),
                   _LIMIT),
            response="AuditPage"),
        _op("audit_verify", "Check the audit log's hash chain, and against checkpoints held elsewhere",
            "audit", "user",
            body=(Field("checkpoints", "array", items="string", max_length=1_000_000,
                        description="Checkpoint notes a witness holds (truncation, rewrites and forks are "
                                    "found against them)."),
                  Field("verifier_key", description="The log's note verifier key (default: the server's log key).",
                        max_length=1000),
                  Field("full", "boolean", description="Read every entry, not only those after the last "
                                                       "verified checkpoint.")),
            response="VerifyResult"),
        _op("audit_export", "Every audit entry as JSON Lines, hashes included", "audit", "user",
            query=_AUDIT_FILTERS, ndjson=True),
        _op("alias_history", "Where an alias pointed over time, and who moved it", "audit", "read",
            query=(_MODEL, Field("alias", required=True, description="The alias.", max_length=_NAME),
                   Field("at", description="Only what it pointed to at this time: " + _TIME, max_length=64)),
            response="AliasHistory"),
        _op("audit_checkpoint_create", "Sign a checkpoint of the audit log now and send it to the witnesses",
            "audit", "admin", body=(), response="Checkpoint"),
        _op("audit_checkpoints_list", "Signed checkpoints of the audit log, newest first", "audit", "user",
            query=(_LIMIT, Field("before_size", "integer", description="Only checkpoints smaller than this "
                                 "(next_before_size of the previous page).", minimum=1)),
            response="CheckpointPage"),
        _op("audit_proof", "Inclusion proof of an entry against the latest checkpoint (or the one of size)",
            "audit", "user",
            query=(Field("seq", "integer", required=True, description="The entry's position.", minimum=1),
                   Field("size", "integer", description="The checkpoint's size (default: the latest).", minimum=1)),
            response="InclusionProof"),
        _op("audit_consistency", "Consistency proof between two checkpoints", "audit", "user",
            query=(Field("old", "integer", required=True, description="Size of the older checkpoint.", minimum=1),
                   Field("new", "integer", description="Size of the newer checkpoint (default: the latest).",
                         minimum=1)),
            response="ConsistencyProof"),
        # -- health ---------------------------------------------------------------------------------
        _op("health_get", "Policy digest, age of the last checkpoint, dispatcher lag, last reconcile",
            "health", "user", response="Health"),
        _op("audit_reconcile", "Compare the registry with the state its audit log describes; record new drift",
            "audit", "user", body=(), response="ReconcileResult"),
        _op("audit_drift", "The differences the latest reconcile of the workspace found", "audit", "user",
            query=(dataclasses.replace(_MODEL, required=False, description="Only differences about this model."),),
            response="ReconcileResult"),
        # -- webhooks -------------------------------------------------------------------------------
        _op("webhooks_list", "Webhook subscriptions (secrets are never shown)", "webhooks", "admin",
            query=(Field("status", description="Only these subscriptions.", enum=("active", "disabled")),),
            response="WebhookList"),
        _op("webhooks_create", "Subscribe a URL to events; the answer holds the secret, shown once", "webhooks",
            "admin",
            body=(dataclasses.replace(_WEBHOOK_FIELDS[0], required=True),
                  dataclasses.replace(_WEBHOOK_FIELDS[1], required=True),
                  *_WEBHOOK_FIELDS[2:],
                  Field("secret", description="A whsec_ secret; generated when omitted.", max_length=1000)),
            response="CreatedWebhook"),
        _op("webhooks_get", "One subscription", "webhooks", "admin", response="Webhook"),
        _op("webhooks_update", "Change a subscription", "webhooks", "admin",
            body=(*_WEBHOOK_FIELDS, Field("active", "boolean", description="Resume (true) or pause (false).")),
            response="Webhook"),
        _op("webhooks_delete", "Delete a subscription and its delivery log", "webhooks", "admin",
            response="Deleted"),
        _op("webhooks_test", "Send a signed example event now", "webhooks", "admin",
            body=(Field("event", description="Event type of the example.", max_length=_NAME),),
            response="TestResult"),
        _op("webhooks_rotate_secret", "Replace the secret; the answer holds the new one, shown once",
            "webhooks", "admin",
            body=(Field("secret", description="The new whsec_ secret; generated when omitted.", max_length=1000),
                  Field("grace_seconds", "integer", description="How long the old secret keeps signing.",
                        minimum=0, maximum=365 * 86400)),
            response="CreatedWebhook"),
        _op("webhooks_replay", "Queue again every event of a time range the subscription wants", "webhooks",
            "admin",
            body=(Field("since", required=True, description="Start: " + _TIME, max_length=64),
                  Field("until", description="End (inclusive): " + _TIME, max_length=64)),
            response="ReplayResult"),
        # -- deliveries -----------------------------------------------------------------------------
        _op("deliveries_list", "Deliveries, newest first", "deliveries", "admin",
            query=(Field("webhook_id", description="Only this subscription's deliveries.", max_length=64),
                   Field("status", description="Only deliveries in this state.", enum=_DELIVERY_STATUSES),
                   Field("event_type", description="Only this event type.", max_length=_NAME),
                   _LIMIT),
            response="DeliveryList"),
        _op("deliveries_get", "One delivery", "deliveries", "admin", response="Delivery"),
        _op("deliveries_attempts", "Every attempt of a delivery", "deliveries", "admin", response="AttemptList"),
        _op("deliveries_redeliver", "Queue a delivery again (same body and webhook-id)", "deliveries", "admin",
            body=(), response="Delivery"),
        # -- artifacts ------------------------------------------------------------------------------
        _op("artifacts_digest", "The artifact digest of a model version", "artifacts", "read",
            query=(_MODEL, _VERSION), response="ModelDigest"),
        _op("artifacts_verify", "Re-hash every artifact file of a model version", "artifacts", "read",
            body=(_MODEL, _VERSION,
                  Field("expected_digest", description="Also require this digest (sha256:<hex>).", max_length=80)),
            response="VerifyReport"),
        # -- dossier --------------------------------------------------------------------------------
        _op("dossier_get", "Everything a reviewer needs about a version: lineage, data, code, environment, "
            "metrics against the version under an alias, model card, fairness, digest, requests", "dossier",
            "read",
            query=(_MODEL, _VERSION,
                   Field("alias", description="Compare with the version this alias points to now "
                         "(default: the first protected alias pointing to another version).", max_length=_NAME)),
            response="Dossier"),
        # -- signatures -----------------------------------------------------------------------------
        _op("signature_get", "The model signature and approval attestation of a model version", "signatures",
            "read", query=(_MODEL, _VERSION), response="ModelSignature"),
        _op("evidence_get", "The signed evidence bundle of a model version (a zip an auditor verifies offline "
            "with mlflow-registry-ext evidence verify)", "evidence", "read", query=(_MODEL, _VERSION),
            media="application/zip"),
        _op("keys_get", "The server's public keys: model and attestation signing, audit checkpoints",
            "signatures", "user", response="PublicKeys"),
    )
}
