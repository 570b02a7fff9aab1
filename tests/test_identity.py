"""Who is acting: the bound request identity, else MLFLOW_TRACKING_USERNAME, else the OS user."""

from __future__ import annotations

import getpass

from mlflow_registry_ext import identity


def test_env_user_then_os_user(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert identity.current_actor() == "alice"
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    assert identity.current_actor() == getpass.getuser()


def test_bound_request_wins_and_is_restored(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    with identity.bind_request(identity.RequestIdentity("bob", request_id="r1", client_addr="127.0.0.1")):
        assert identity.current() == identity.RequestIdentity("bob", "r1", "127.0.0.1")
        with identity.bind_request(identity.RequestIdentity("carol")):
            assert identity.current_actor() == "carol"
        assert identity.current_actor() == "bob"
    assert identity.current_actor() == "alice"
