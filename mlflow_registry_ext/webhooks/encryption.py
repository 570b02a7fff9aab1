"""Webhook secrets at rest: encrypted with MLflow's ``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY``.

The same Fernet scheme MLflow's own webhook table uses (``EncryptedString``), with one
difference: MLflow quietly invents a throw-away key when the variable is unset, which makes every
stored secret unreadable after a restart. Here storing a secret without the key is refused with
an error that says how to make one, and a secret that no longer decrypts (the key changed) is
reported as such instead of being sent unsigned.

Example:
    >>> token = encrypt("whsec_...")           # needs MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY
    >>> decrypt(token)
    'whsec_...'
"""

from __future__ import annotations


from cryptography.fernet import Fernet, InvalidToken

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = ["KEY_ENV", "SecretUnreadable", "encrypt", "decrypt"]

KEY_ENV = settings.WEBHOOK_SECRET_ENCRYPTION_KEY.name
_HOW = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the key is missing or is not the one it was stored with)."""


def _cipher(purpose: str) -> Fernet:
    key = settings.WEBHOOK_SECRET_ENCRYPTION_KEY.get() or ""
    if not key:
        raise InvalidInput(f"{KEY_ENV} is not set: it is needed to {purpose}; {_HOW}")
    try:
        return Fernet(key.encode())
    except ValueError:
        raise InvalidInput(
            f"{KEY_ENV} is not a valid Fernet key (32 url-safe base64-encoded bytes); {_HOW}"
        ) from None


def encrypt(secret: str) -> str:
    """The encrypted form of ``secret`` for the database.

    Raises:
        InvalidInput: when ``MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY`` is unset or malformed.
    """
    return _cipher("store a webhook secret").encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The secret stored as ``token``.

    Raises:
        SecretUnreadable: when the key is missing, malformed, or not the one used to store it.
    """
    try:
        cipher = _cipher("read a stored webhook secret")
    except InvalidInput as exc:
        raise SecretUnreadable(exc.message) from None
    try:
        return cipher.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            f"A stored webhook secret cannot be decrypted: {KEY_ENV} is not the key it was "
            "stored with (rotate the webhook's secret to store a new one)"
        ) from None
