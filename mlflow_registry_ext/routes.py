"""REST paths of the governance API, shared by the server and the REST client. Pure.

Every path exists under both prefixes: ``/api/2.0/mlflow/governance`` for clients and
``/ajax-api/2.0/mlflow/governance`` for the browser (MLflow's UI calls the ``ajax-api`` form).
The reviewer page is served at :data:`PAGE_PATH` (under ``--static-prefix`` when one is set).
"""

from __future__ import annotations

from urllib.parse import quote

API_PREFIX = "/api/2.0/mlflow/governance"
AJAX_PREFIX = "/ajax-api/2.0/mlflow/governance"
PREFIXES = (API_PREFIX, AJAX_PREFIX)
OPENAPI_PATH = "/openapi.json"
PAGE_PATH = "/governance/"

# operation name -> (HTTP method, path under the prefix). Path parameters use Flask syntax.
ROUTES: dict[str, tuple[str, str]] = {
    "whoami": ("GET", "/whoami"),
    # approval requests
    "approval_requests_list": ("GET", "/approval-requests"),
    "approval_requests_create": ("POST", "/approval-requests"),
    "approval_requests_get": ("GET", "/approval-requests/<request_id>"),
    "approval_requests_approve": ("POST", "/approval-requests/<request_id>/approve"),
    "approval_requests_reject": ("POST", "/approval-requests/<request_id>/reject"),
    "approval_requests_cancel": ("POST", "/approval-requests/<request_id>/cancel"),
    "approval_requests_comment": ("POST", "/approval-requests/<request_id>/comment"),
    # a model version's governance state, and changing protected targets
    "status_get": ("GET", "/status"),
    "status_refresh": ("POST", "/status/refresh"),
    "promote": ("POST", "/promote"),
    "rollback": ("POST", "/rollback"),
    "promotion_check": ("GET", "/promote/check"),
    # the policy
    "policy_get": ("GET", "/policy"),
    # fairness
    "fairness_checks_list": ("GET", "/fairness-checks"),
    "fairness_checks_create": ("POST", "/fairness-checks"),
    "fairness_checks_get": ("GET", "/fairness-checks/<check_id>"),
    # security scans
    "scans_list": ("GET", "/scans"),
    "scans_create": ("POST", "/scans"),
    # audit
    "audit_list": ("GET", "/audit"),
    "audit_verify": ("POST", "/audit/verify"),
    "audit_export": ("GET", "/audit/export"),
    "alias_history": ("GET", "/audit/alias-history"),
    "audit_checkpoint_create": ("POST", "/audit/checkpoint"),
    "audit_checkpoints_list": ("GET", "/audit/checkpoints"),
    "audit_proof": ("GET", "/audit/proof"),
    "audit_consistency": ("GET", "/audit/consistency"),
    # how governance is running
    "health_get": ("GET", "/health"),
    "audit_reconcile": ("POST", "/audit/reconcile"),
    "audit_drift": ("GET", "/audit/drift"),
    # webhooks
    "webhooks_list": ("GET", "/webhooks"),
    "webhooks_create": ("POST", "/webhooks"),
    "webhooks_get": ("GET", "/webhooks/<webhook_id>"),
    "webhooks_update": ("PATCH", "/webhooks/<webhook_id>"),
    "webhooks_delete": ("DELETE", "/webhooks/<webhook_id>"),
    "webhooks_test": ("POST", "/webhooks/<webhook_id>/test"),
    "webhooks_rotate_secret": ("POST", "/webhooks/<webhook_id>/rotate-secret"),
    "webhooks_replay": ("POST", "/webhooks/<webhook_id>/replay"),
    # deliveries
    "deliveries_list": ("GET", "/deliveries"),
    "deliveries_get": ("GET", "/deliveries/<delivery_id>"),
    "deliveries_attempts": ("GET", "/deliveries/<delivery_id>/attempts"),
    "deliveries_redeliver": ("POST", "/deliveries/<delivery_id>/redeliver"),
    # artifacts
    "artifacts_digest": ("GET", "/artifacts/digest"),
    "artifacts_verify": ("POST", "/artifacts/verify"),
    # the reviewer's evidence about a version
    "dossier_get": ("GET", "/dossier"),
    # signatures and the server's public keys
    "signature_get": ("GET", "/signature"),
    "keys_get": ("GET", "/keys"),
    "evidence_get": ("GET", "/evidence"),
}


def path_for(operation: str, prefix: str = API_PREFIX, **params) -> tuple[str, str]:
    """``(method, full path)`` of ``operation`` with its path parameters filled in (URL-quoted).

    Example:
        >>> path_for("webhooks_get", webhook_id="wh_1")
        ('GET', '/api/2.0/mlflow/governance/webhooks/wh_1')
    """
    method, path = ROUTES[operation]
    for key, value in params.items():
        path = path.replace(f"<{key}>", quote(str(value), safe=""))
    return method, prefix + path


def openapi_path(path: str) -> str:
    """The OpenAPI spelling of a Flask path: ``/webhooks/{webhook_id}``."""
    return path.replace("<", "{").replace(">", "}")
