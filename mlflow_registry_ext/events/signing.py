"""Signing and verifying deliveries, through the ``standardwebhooks`` library. Pure.

Two schemes, never both in one request:

``standard`` (default)
    The Standard Webhooks headers ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``"{id}.{timestamp}.{body}"``, keyed by the
    base64-decoded ``whsec_`` secret. Any stock Standard Webhooks verifier accepts them.

``mlflow``
    MLflow's native headers ``X-MLflow-Delivery-Id``, ``X-MLflow-Timestamp`` and
    ``X-MLflow-Signature: v1,<base64 HMAC-SHA256>`` over the same content, keyed by the secret
    string's UTF-8 bytes (as MLflow's own webhooks do), for receivers written for MLflow.

While a rotated secret is in its grace period the signature header carries one signature per
secret, space-separated, newest first (the Standard Webhooks format for several signatures).

Example:
    >>> import time
    >>> secret = generate_secret()
    >>> headers = sign_headers(scheme="standard", msg_id="evt_1", timestamp=int(time.time()),
    ...                        body='{"a":1}', secrets=[secret])
    >>> verify('{"a":1}', headers, secret)
    {'a': 1}
"""

from __future__ import annotations

import base64
import datetime as _dt
import enum
import json
import os
from typing import Any, Mapping, Sequence

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = [
    "SignatureScheme",
    "WebhookVerificationError",
    "SECRET_PREFIX",
    "TOLERANCE_SECONDS",
    "generate_secret",
    "validate_secret",
    "sign_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
#: How far a delivery's timestamp may be from the receiver's clock (the spec's 5 minutes).
TOLERANCE_SECONDS = 300

STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MLFLOW_HEADERS = ("X-MLflow-Delivery-Id", "X-MLflow-Timestamp", "X-MLflow-Signature")


class SignatureScheme(str, enum.Enum):
    """How a subscription's deliveries are signed."""

    STANDARD = "standard"
    MLFLOW = "mlflow"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str | SignatureScheme) -> SignatureScheme:
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(
                f"Unknown signature scheme {value!r}; use 'standard' or 'mlflow'"
            ) from None


def generate_secret() -> str:
    """A new random ``whsec_`` secret (32 bytes of key material).

    Example:
        >>> generate_secret().startswith("whsec_")
        True
    """
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode("ascii")


def validate_secret(secret: str, scheme: SignatureScheme | str = SignatureScheme.STANDARD) -> str:
    """Check a user-supplied secret for ``scheme``; returns it stripped.

    ``standard`` needs ``whsec_`` followed by base64 of 24 to 64 bytes; ``mlflow`` accepts any
    string of at least 16 characters (MLflow keys its HMAC with the string itself).

    Raises:
        ValueError: saying what is wrong.
    """
    scheme = SignatureScheme.parse(scheme)
    value = (secret or "").strip()
    if scheme is SignatureScheme.MLFLOW and not value.startswith(SECRET_PREFIX):
        if len(value) < 16:
            raise ValueError("A webhook secret must be at least 16 characters long")
        return value
    if not value.startswith(SECRET_PREFIX):
        raise ValueError(
            f"A Standard Webhooks secret starts with {SECRET_PREFIX!r} followed by base64 "
            "(omit --secret to have one generated)"
        )
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise ValueError(f"The part after {SECRET_PREFIX!r} is not valid base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"A webhook secret must hold 24 to 64 bytes of key material, got {len(key)}")
    return value


def _signer(secret: str, scheme: SignatureScheme) -> Webhook:
    if scheme is SignatureScheme.MLFLOW:
        # MLflow keys the HMAC with the secret's raw bytes; standardwebhooks takes bytes as-is.
        return Webhook(secret.encode("utf-8"))
    return Webhook(secret)


def _moment(timestamp: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(int(timestamp), tz=_dt.timezone.utc)


def sign_headers(
    *,
    scheme: SignatureScheme | str,
    msg_id: str,
    timestamp: int,
    body: str,
    secrets: Sequence[str],
) -> dict[str, str]:
    """The signature headers of one request.

    Args:
        scheme: ``standard`` or ``mlflow``.
        msg_id: The event id (stable across retries of the event).
        timestamp: Seconds since the epoch at sending time.
        body: The exact request body.
        secrets: The current secret first, then any still in their grace period.

    Returns:
        The three headers of the scheme, plus ``Content-Type``.
    """
    scheme = SignatureScheme.parse(scheme)
    if not secrets:
        raise ValueError("At least one secret is needed to sign")
    moment = _moment(timestamp)
    signature = " ".join(_signer(s, scheme).sign(msg_id, moment, body) for s in secrets)
    names = MLFLOW_HEADERS if scheme is SignatureScheme.MLFLOW else STANDARD_HEADERS
    return {
        "Content-Type": "application/json",
        names[0]: msg_id,
        names[1]: str(int(timestamp)),
        names[2]: signature,
    }


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    scheme: SignatureScheme | str | None = None,
) -> Any:
    """Verify a delivery as a receiver; returns the parsed JSON body.

    The ``standardwebhooks`` library checks that the timestamp is within 5 minutes of the
    receiver's clock and that one of the signatures was made with (one of) ``secret``, comparing
    in constant time. The scheme is read from the headers unless given.

    Args:
        body: The raw request body, exactly as received.
        headers: The request headers (any capitalisation).
        secret: The subscription's secret, or several (e.g. old and new during a rotation).
        scheme: Force ``standard`` or ``mlflow`` instead of detecting it.

    Raises:
        WebhookVerificationError: when headers are missing, the timestamp is out of tolerance,
            or no signature matches.

    Example:
        >>> import time
        >>> from mlflow_registry_ext.webhooks import generate_secret, sign_headers, verify
        >>> secret = generate_secret()
        >>> body = '{"type": "model_version_alias.created", "data": {"name": "fraud-detector"}}'
        >>> headers = sign_headers(scheme="standard", msg_id="evt_1", timestamp=int(time.time()),
        ...                        body=body, secrets=[secret])      # what the dispatcher sends
        >>> event = verify(body, headers, secret)    # in Flask: request.get_data(), request.headers
        >>> event["type"], event["data"]["name"]
        ('model_version_alias.created', 'fraud-detector')
    """
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    lowered = {str(k).lower(): v for k, v in headers.items()}
    if scheme is None:
        has_mlflow = MLFLOW_HEADERS[2].lower() in lowered and STANDARD_HEADERS[2] not in lowered
        detected = SignatureScheme.MLFLOW if has_mlflow else SignatureScheme.STANDARD
    else:
        detected = SignatureScheme.parse(scheme)
    if detected is SignatureScheme.MLFLOW:
        # Same content and format under other names: present them to the library as its own.
        lowered = {
            std: lowered[native.lower()]
            for std, native in zip(STANDARD_HEADERS, MLFLOW_HEADERS)
            if native.lower() in lowered
        }
    candidates = [secret] if isinstance(secret, str) else list(secret)
    if not candidates:
        raise WebhookVerificationError("No secret to verify with")
    error: WebhookVerificationError | None = None
    for candidate in candidates:
        signer = _signer(candidate, detected)
        try:
            signer.verify(text, lowered, json_parse=False)
        except WebhookVerificationError as exc:
            error = exc
            continue
        except ValueError:
            # A malformed signature header (no "v1," part, bad base64) is just a failed check.
            error = WebhookVerificationError("Malformed signature header")
            continue
        return json.loads(text)
    raise error  # type: ignore[misc]
