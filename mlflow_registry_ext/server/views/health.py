"""``GET .../governance/health``: policy digest, checkpoint age, dispatcher lag, last reconcile."""

from __future__ import annotations

from mlflow_registry_ext.health import health_report
from mlflow_registry_ext.server.views._serves import serves


@serves("health_get")
def health_get(ctx, access):
    return health_report(ctx.db, ctx.policy)
