"""REST paths of the governance API, shared by the server and the REST client. Pure.

Every path exists under both prefixes: ``/api/2.0/mlflow/governance`` for clients and
``/ajax-api/2.0/mlflow/governance`` for the browser (MLflow's UI calls the ``ajax-api`` form).
"""

from __future__ import annotations

API_PREFIX = "/api/2.0/mlflow/governance"
AJAX_PREFIX = "/ajax-api/2.0/mlflow/governance"
PREFIXES = (API_PREFIX, AJAX_PREFIX)

# operation name -> (HTTP method, path under the prefix). Path parameters use Flask syntax.
ROUTES: dict[str, tuple[str, str]] = {
    "audit_list": ("GET", "/audit"),
    "audit_verify": ("POST", "/audit/verify"),
    "audit_export": ("GET", "/audit/export"),
    "alias_history": ("GET", "/audit/alias-history"),
}


def path_for(operation: str, prefix: str = API_PREFIX, **params) -> tuple[str, str]:
    """``(method, full path)`` of ``operation`` with its path parameters filled in."""
    method, path = ROUTES[operation]
    for key, value in params.items():
        path = path.replace(f"<{key}>", str(value)).replace(f"<int:{key}>", str(value))
    return method, prefix + path
