"""Fixtures of the webhook tests: an encryption key, a migrated governance database, a receiver."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.webhooks.encryption import KEY_ENV
from mlflow_registry_ext.webhooks.ssrf import ALLOW_PRIVATE_ENV
from tests.support.receiver import Receiver


@pytest.fixture(autouse=True)
def encryption_key(monkeypatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, key)
    return key


@pytest.fixture
def allow_private(monkeypatch):
    """Receivers in tests listen on 127.0.0.1, which the SSRF guard refuses by default."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "true")


@pytest.fixture
def gov_db(database) -> GovernanceDatabase:
    """A migrated governance database on each engine."""
    return GovernanceDatabase(database.uri).ensure_schema()


@pytest.fixture
def sqlite_gov_db(sqlite_database) -> GovernanceDatabase:
    return GovernanceDatabase(sqlite_database.uri).ensure_schema()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r
