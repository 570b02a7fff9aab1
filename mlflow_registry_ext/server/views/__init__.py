"""The REST views, one module per resource; each function is named after its operation in
:data:`mlflow_registry_ext.routes.ROUTES` and takes ``(ctx, access, **inputs)``."""

from __future__ import annotations

from types import ModuleType

from mlflow_registry_ext.routes import ROUTES
from mlflow_registry_ext.server.views import (
    approvals,
    artifacts,
    audit,
    checkpoints,
    deliveries,
    dossier,
    evidence,
    fairness,
    health,
    policy,
    promotion,
    scans,
    session,
    signatures,
    webhooks,
)

__all__ = ["VIEWS"]

_MODULES: tuple[ModuleType, ...] = (
    approvals, artifacts, audit, checkpoints, deliveries, dossier, evidence, fairness, health, policy, promotion,
    scans, session, signatures, webhooks,
)

#: operation name -> view function.
VIEWS = {name: getattr(module, name) for module in _MODULES for name in ROUTES if hasattr(module, name)}
