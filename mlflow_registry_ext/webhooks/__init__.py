"""Durable webhooks: an outbox written with each change, a dispatcher, Standard Webhooks signatures.

For receivers, :func:`verify` checks a delivery and returns its event::

    from mlflow_registry_ext.webhooks import WebhookVerificationError, verify

    try:
        event = verify(request.get_data(), request.headers, WEBHOOK_SECRET)
    except WebhookVerificationError:
        abort(400)
    if event["type"] == "model_version_alias.created" and event["alias"] == "production":
        deploy(event["model"], event["version"])

This package imports only the signing code (:mod:`mlflow_registry_ext.events.signing`); the
subscriptions and the dispatcher are in their own modules (``.service``, ``.dispatcher``), the
outbox rows each audit entry queues in :mod:`mlflow_registry_ext.audit.outbox`.
"""

from mlflow_registry_ext.events.signing import (
    SignatureScheme,
    WebhookVerificationError,
    generate_secret,
    sign_headers,
    verify,
)

__all__ = ["verify", "WebhookVerificationError", "SignatureScheme", "generate_secret", "sign_headers"]
