"""Webhook subscription views (MLflow admins only when authentication is on)."""

from __future__ import annotations

from mlflow_registry_ext.server.views._values import time_ms
from mlflow_registry_ext.webhooks.service import DEFAULT_GRACE_SECONDS
from mlflow_registry_ext.server.views._serves import serves


@serves("webhooks_list")
def webhooks_list(ctx, access, status):
    return {"webhooks": ctx.webhooks.list(status=status)}


@serves("webhooks_create")
def webhooks_create(ctx, access, url, events, model_filter, signature_scheme, description, secret):
    return ctx.webhooks.create(
        url, events, model_filter=model_filter, secret=secret,
        signature_scheme=signature_scheme or "standard", description=description,
    )


@serves("webhooks_get")
def webhooks_get(ctx, access, webhook_id):
    return ctx.webhooks.get(webhook_id)


@serves("webhooks_update")
def webhooks_update(ctx, access, webhook_id, url, events, model_filter, signature_scheme, description, active):
    return ctx.webhooks.update(
        webhook_id, url=url, events=events, model_filter=model_filter,
        signature_scheme=signature_scheme, description=description, active=active,
    )


@serves("webhooks_delete")
def webhooks_delete(ctx, access, webhook_id):
    ctx.webhooks.delete(webhook_id)
    return {"deleted": webhook_id}


@serves("webhooks_test")
def webhooks_test(ctx, access, webhook_id, event):
    return ctx.webhooks.test(webhook_id, event_type=event)


@serves("webhooks_rotate_secret")
def webhooks_rotate_secret(ctx, access, webhook_id, secret, grace_seconds):
    grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
    return ctx.webhooks.rotate_secret(webhook_id, secret=secret, grace_seconds=grace)


@serves("webhooks_replay")
def webhooks_replay(ctx, access, webhook_id, since, until):
    return ctx.webhooks.replay(webhook_id, since=time_ms("since", since), until=time_ms("until", until))
