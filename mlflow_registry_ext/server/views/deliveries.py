"""The delivery log (MLflow admins only when authentication is on)."""

from __future__ import annotations
from mlflow_registry_ext.server.views._serves import serves


@serves("deliveries_list")
def deliveries_list(ctx, access, webhook_id, status, event_type, limit):
    found = ctx.webhooks.deliveries(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit or 100)
    return {"deliveries": found}


@serves("deliveries_get")
def deliveries_get(ctx, access, delivery_id):
    return ctx.webhooks.get_delivery(delivery_id)


@serves("deliveries_attempts")
def deliveries_attempts(ctx, access, delivery_id):
    return {"attempts": ctx.webhooks.attempts(delivery_id)}


@serves("deliveries_redeliver")
def deliveries_redeliver(ctx, access, delivery_id):
    return ctx.webhooks.redeliver(delivery_id)
