"""Where the governance API lives, shared by the server and the REST client. Pure.

Each operation's own path is in its declaration (:mod:`mlflow_registry_ext.api`).

Every path exists under both prefixes: ``/api/2.0/mlflow/governance`` for clients and
``/ajax-api/2.0/mlflow/governance`` for the browser (MLflow's UI calls the ``ajax-api`` form).
The reviewer page is served at :data:`PAGE_PATH` (under ``--static-prefix`` when one is set).

Example:
    >>> [prefix + "/webhooks/<webhook_id>" for prefix in PREFIXES][1]
    '/ajax-api/2.0/mlflow/governance/webhooks/<webhook_id>'
    >>> openapi_path("/webhooks/<webhook_id>")
    '/webhooks/{webhook_id}'
"""

from __future__ import annotations

API_PREFIX = "/api/2.0/mlflow/governance"
AJAX_PREFIX = "/ajax-api/2.0/mlflow/governance"
PREFIXES = (API_PREFIX, AJAX_PREFIX)
OPENAPI_PATH = "/openapi.json"
PAGE_PATH = "/governance/"


def openapi_path(path: str) -> str:
    """The OpenAPI spelling of a Flask path: ``/webhooks/{webhook_id}``."""
    return path.replace("<", "{").replace(">", "}")
