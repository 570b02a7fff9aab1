"""The governance REST API, declared once per operation (pure: pydantic, no web code).

Each :class:`~.operation.Operation` names its method, path, access level and the pydantic models
of its inputs and answer. The server routes, validates and documents (OpenAPI) from these
declarations and binds one view to each; the REST client takes its method and path from them.

Example:
    >>> path_for("webhooks_get", webhook_id="wh_1")
    ('GET', '/api/2.0/mlflow/governance/webhooks/wh_1')
"""

from __future__ import annotations

from mlflow_registry_ext import routes
from mlflow_registry_ext.api import approvals, audit, evidence, fairness, promotion, session, webhooks
from mlflow_registry_ext.api.operation import ACCESS_LEVELS, Operation

__all__ = ["OPERATIONS", "Operation", "ACCESS_LEVELS", "path_for"]

#: Every operation, by name.
OPERATIONS: dict[str, Operation] = {
    op.name: op
    for module in (session, approvals, promotion, fairness, audit, webhooks, evidence)
    for op in module.OPERATIONS
}


def path_for(operation: str, prefix: str = routes.API_PREFIX, **params) -> tuple[str, str]:
    """``(method, full path)`` of ``operation`` with its path parameters filled in (URL-quoted).

    Example:
        >>> path_for("webhooks_get", webhook_id="wh_1")
        ('GET', '/api/2.0/mlflow/governance/webhooks/wh_1')
    """
    op = OPERATIONS[operation]
    return op.method, prefix + op.fill(**params)
