"""Durable webhooks: an outbox written with each change, a dispatcher, Standard Webhooks signatures.

For receivers, :func:`verify` checks a delivery and returns its event::

    from mlflow_registry_ext.webhooks import WebhookVerificationError, verify

    try:
        event = verify(request.get_data(), request.headers, WEBHOOK_SECRET)
    except WebhookVerificationError:
        abort(400)
    if event["type"] == "model_version_alias.created" and event["alias"] == "production":
        deploy(event["model"], event["version"])

This package imports only the signing code; the service, dispatcher and outbox are in their
own modules (``.service``, ``.dispatcher``, ``.outbox``).
"""

from mlflow_registry_ext.webhooks.signing import (
    SignatureScheme,
    WebhookVerificationError,
    generate_secret,
    sign_headers,
    verify,
)

__all__ = ["verify", "WebhookVerificationError", "SignatureScheme", "generate_secret", "sign_headers"]
