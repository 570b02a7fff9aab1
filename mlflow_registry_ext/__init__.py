"""mlflow-registry-ext: a governed MLflow model registry.

Approvals for protected aliases and stages, fairness-check records, a tamper-evident audit log,
durable signed webhooks and content-addressed artifacts, through MLflow's own extension points.

Example:
    >>> from mlflow_registry_ext import GovernanceClient
    >>> client = GovernanceClient(registry_uri="governed+sqlite:///mlflow.db")
    >>> client.verify_audit().ok
    True

Names are loaded on first use, so importing the package stays cheap for MLflow's plugin scan.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlflow-registry-ext")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "GovernanceClient",
    "GovernedRegistryStore",
    "AuditEntry",
    "RequestIdentity",
    "bind_request",
]

_LAZY = {
    "GovernanceClient": "mlflow_registry_ext.client",
    "GovernedRegistryStore": "mlflow_registry_ext.registry.store",
    "AuditEntry": "mlflow_registry_ext.entities",
    "RequestIdentity": "mlflow_registry_ext.identity",
    "bind_request": "mlflow_registry_ext.identity",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlflow_registry_ext' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
