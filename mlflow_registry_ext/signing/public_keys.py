"""The public halves of the server's keys, as ``GET .../keys`` serves them to consumers.

Example:
    >>> public_keys()["signing"]["key_id"]      # doctest: +SKIP
    '6dde54b58e3bc4b7...'
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext import keys

__all__ = ["public_keys"]


def public_keys() -> dict[str, Any]:
    """``{"signing": {...} | None, "log": {...} | None}`` for the keys this process is configured with.

    ``signing``: ``algorithm``, ``public_key_pem``, ``key_id`` (SHA-256 of the DER public key).
    ``log``: ``algorithm``, ``public_key_pem``, ``origin``, ``key_id`` (the C2SP note key id, hex)
    and ``verifier_key`` (the C2SP verifier key string).

    Raises:
        InvalidInput: A configured key file cannot be loaded.
    """
    signing = keys.load_signing_key()
    log = keys.load_log_key()
    result: dict[str, Any] = {"signing": None, "log": None}
    if signing is not None:
        public = signing.public_key()
        result["signing"] = {
            "algorithm": "ecdsa-p256-sha256",
            "public_key_pem": keys.public_pem(public).decode("ascii"),
            "key_id": keys.signing_key_id(public),
        }
    if log is not None:
        public = log.public_key()
        origin = keys.log_origin()
        result["log"] = {
            "algorithm": "ed25519",
            "public_key_pem": keys.public_pem(public).decode("ascii"),
            "origin": origin,
            "key_id": keys.note_key_id(origin, public).hex(),
            "verifier_key": keys.note_verifier_key(origin, public),
        }
    return result
