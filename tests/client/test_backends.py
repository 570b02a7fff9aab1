"""The client's two backends implement one interface: every operation once, with the same
parameters, and ``GovernanceClient`` offers exactly those operations."""

from __future__ import annotations

import inspect

import pytest

from mlflow_registry_ext.client import GovernanceClient
from mlflow_registry_ext.client.direct import DirectBackend
from mlflow_registry_ext.client.interface import GovernanceBackend
from mlflow_registry_ext.client.rest import RestBackend
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.webhooks.encryption import KEY_ENV
from mlflow_registry_ext.webhooks.ssrf import ALLOW_PRIVATE_ENV

BACKENDS = [DirectBackend, RestBackend]
OPERATIONS = GovernanceBackend.operations()


def _parameters(function):
    """Names, kinds and defaults: what a caller relies on (annotations live on the interface)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_interface_declares_the_operations_a_user_knows():
    for name in ("list_audit", "verify_audit", "request_approval", "promote", "rollback", "record_fairness",
                 "create_webhook", "redeliver", "dossier", "export_evidence", "verify_signature", "reconcile"):
        assert name in OPERATIONS
    assert len(OPERATIONS) == len(set(OPERATIONS)) >= 45


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.__name__)
def test_each_backend_implements_every_operation(backend):
    assert not backend.__abstractmethods__
    for name in OPERATIONS:
        assert _parameters(getattr(backend, name)) == _parameters(getattr(GovernanceBackend, name)), name


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.__name__)
def test_no_backend_has_operations_of_its_own(backend):
    extra = {name for name, member in vars(backend).items()
             if callable(member) and not name.startswith("_")} - set(OPERATIONS)
    # Direct mode also hands out its stores to code that needs them (``artifacts pin``).
    assert extra <= {"registry_store", "scoped"}, extra


def test_the_client_offers_each_operation_with_its_declared_signature_and_docs():
    for name in OPERATIONS:
        method = getattr(GovernanceClient, name)
        assert inspect.signature(method) == inspect.signature(getattr(GovernanceBackend, name)), name
        assert method.__doc__ and method.__doc__ == getattr(GovernanceBackend, name).__doc__, name


def test_the_uris_pick_the_backend(tmp_path):
    direct = GovernanceClient(registry_uri=f"governed+sqlite:///{tmp_path / 'r.db'}")
    assert not direct.is_rest and isinstance(direct._backend, DirectBackend)
    rest = GovernanceClient(tracking_uri="http://127.0.0.1:9")
    assert rest.is_rest and isinstance(rest._backend, RestBackend)
    with pytest.raises(InvalidInput, match="not governed: use governed\\+sqlite"):
        GovernanceClient(registry_uri=f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(InvalidInput, match="works on the registry database, not over REST"):
        rest.database


def test_a_client_on_the_governance_database_alone(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "true")
    database = GovernanceDatabase(f"sqlite:///{tmp_path / 'governance.db'}")
    client = GovernanceClient.on_database(database)
    created = client.create_webhook("https://127.0.0.1:8443/hook", ["model_version.created"])
    assert [h.id for h in client.list_webhooks()] == [created.webhook.id]
    assert client.verify_audit().ok and client.list_audit()[0].action == "webhook.created"
    with pytest.raises(InvalidInput, match="needs the registry, not only the governance database"):
        client.promote("fraud", 1, alias="production")
