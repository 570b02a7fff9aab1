"""Signatures: stock verifiers accept ours (``mlflow_registry_ext.events.signing``)."""

from __future__ import annotations

import base64
import time

import pytest
from mlflow.webhooks.delivery import _generate_hmac_signature
from standardwebhooks.webhooks import Webhook

import mlflow_registry_ext.webhooks as public
from mlflow_registry_ext.webhooks import WebhookVerificationError, generate_secret, sign_headers, verify
from mlflow_registry_ext.events.signing import SignatureScheme, validate_secret

BODY = '{"id":"e1","type":"model_version.created","data":{"name":"m","version":"1"}}'


def test_public_api_is_pinned():
    assert sorted(public.__all__) == sorted(
        ["verify", "WebhookVerificationError", "SignatureScheme", "generate_secret", "sign_headers"]
    )


def test_generated_secrets_are_whsec_with_32_random_bytes():
    a, b = generate_secret(), generate_secret()
    assert a != b and a.startswith("whsec_")
    assert len(base64.b64decode(a[len("whsec_") :])) == 32
    assert validate_secret(a) == a


def test_a_stock_standard_webhooks_verifier_accepts_our_signature():
    secret = generate_secret()
    now = int(time.time())
    headers = sign_headers(scheme="standard", msg_id="e1", timestamp=now, body=BODY, secrets=[secret])
    assert set(headers) == {"Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["data"]["name"] == "m"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace('"1"', '"2"'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(BODY, headers)


def test_during_rotation_both_secrets_sign_and_either_verifies():
    old, new = generate_secret(), generate_secret()
    headers = sign_headers(scheme="standard", msg_id="e1", timestamp=int(time.time()), body=BODY, secrets=[new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers)
    assert Webhook(new).verify(BODY, headers)


def test_mlflow_scheme_matches_mlflows_own_signature():
    secret = "a-receiver-written-for-mlflow"
    now = int(time.time())
    headers = sign_headers(scheme="mlflow", msg_id="d1", timestamp=now, body=BODY, secrets=[secret])
    assert set(headers) == {"Content-Type", "X-MLflow-Delivery-Id", "X-MLflow-Timestamp", "X-MLflow-Signature"}
    assert headers["X-MLflow-Signature"] == _generate_hmac_signature(secret, "d1", str(now), BODY)
    assert not any(h.lower().startswith("webhook-") for h in headers)


def test_verify_helper_detects_the_scheme_and_accepts_several_secrets():
    secret = generate_secret()
    now = int(time.time())
    for scheme in ("standard", "mlflow"):
        headers = sign_headers(scheme=scheme, msg_id="e1", timestamp=now, body=BODY, secrets=[secret])
        lowered = {k.lower(): v for k, v in headers.items()}
        assert verify(BODY.encode(), lowered, secret)["id"] == "e1"
        assert verify(BODY, headers, [generate_secret(), secret])["id"] == "e1"
        with pytest.raises(WebhookVerificationError):
            verify(BODY, headers, generate_secret())


def test_verify_rejects_old_timestamps_missing_headers_and_garbage():
    secret = generate_secret()
    stale = sign_headers(scheme="standard", msg_id="e1", timestamp=int(time.time()) - 600, body=BODY, secrets=[secret])
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, stale, secret)
    with pytest.raises(WebhookVerificationError, match="Missing"):
        verify(BODY, {"webhook-id": "e1"}, secret)
    fresh = sign_headers(scheme="standard", msg_id="e1", timestamp=int(time.time()), body=BODY, secrets=[secret])
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**fresh, "webhook-signature": "garbage"}, secret)


@pytest.mark.parametrize(
    "secret, scheme, message",
    [
        ("plain-text-secret-long-enough", "standard", "starts with 'whsec_'"),
        ("whsec_not*base64", "standard", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "standard", "24 to 64 bytes"),
        ("short", "mlflow", "at least 16"),
    ],
)
def test_bad_secrets_are_refused_with_a_reason(secret, scheme, message):
    with pytest.raises(ValueError, match=message):
        validate_secret(secret, scheme)


def test_mlflow_scheme_accepts_a_plain_secret():
    assert validate_secret("  a-plain-mlflow-secret ", SignatureScheme.MLFLOW) == "a-plain-mlflow-secret"
    with pytest.raises(ValueError, match="Unknown signature scheme"):
        SignatureScheme.parse("both")
