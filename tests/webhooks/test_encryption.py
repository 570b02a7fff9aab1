"""Secrets at rest (``mlflow_registry_ext.webhooks.encryption``)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.webhooks.encryption import KEY_ENV, SecretUnreadable, decrypt, encrypt


def test_round_trip_and_the_token_hides_the_secret():
    token = encrypt("whsec_abc")
    assert "whsec_abc" not in token
    assert decrypt(token) == "whsec_abc"


def test_storing_without_a_key_is_refused_with_how_to_make_one(monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(InvalidInput, match=f"{KEY_ENV} is not set.*Fernet.generate_key"):
        encrypt("whsec_abc")


def test_a_malformed_key_is_refused(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "not-a-key")
    with pytest.raises(InvalidInput, match="not a valid Fernet key"):
        encrypt("whsec_abc")


def test_a_changed_key_makes_stored_secrets_unreadable_not_empty(monkeypatch):
    token = encrypt("whsec_abc")
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(SecretUnreadable, match="not the key it was stored with"):
        decrypt(token)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SecretUnreadable, match="is not set"):
        decrypt(token)
