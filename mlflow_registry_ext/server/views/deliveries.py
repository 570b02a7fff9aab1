"""The delivery log (MLflow admins only when authentication is on)."""

from __future__ import annotations


def deliveries_list(ctx, access, webhook_id, status, event_type, limit):
    found = ctx.webhooks.deliveries(webhook_id=webhook_id, status=status, event_type=event_type, limit=limit or 100)
    return {"deliveries": found}


def deliveries_get(ctx, access, delivery_id):
    return ctx.webhooks.get_delivery(delivery_id)


def deliveries_attempts(ctx, access, delivery_id):
    return {"attempts": ctx.webhooks.attempts(delivery_id)}


def deliveries_redeliver(ctx, access, delivery_id):
    return ctx.webhooks.redeliver(delivery_id)
