"""The ``governance`` app (``mlflow_registry_ext.server.app``): request identity and one
dispatching process per deployment."""

from __future__ import annotations

import json

import flask
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from mlflow import MlflowClient
from mlflow.server.constants import REGISTRY_STORE_URI_ENV_VAR

from mlflow_registry_ext import identity
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.server.app import EXTENSION_KEY, create_app
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.db.webhook_tables import leases
from tests.support.receiver import Receiver
from tests.support.servers import MlflowServer


@pytest.fixture
def flask_app(tmp_path, monkeypatch):
    monkeypatch.setenv(REGISTRY_STORE_URI_ENV_VAR, f"sqlite:///{tmp_path / 'gov.db'}")
    monkeypatch.delenv("_MLFLOW_SGI_NAME", raising=False)
    app = flask.Flask("test-governance")

    @app.route("/whoami", methods=["GET", "POST"])
    def whoami():
        who = identity.current()
        return {"actor": who.actor, "request_id": who.request_id, "client_addr": who.client_addr}

    yield app
    state = app.extensions.get(EXTENSION_KEY)
    if state is not None and state.dispatcher is not None:
        state.dispatcher.stop()


def test_without_auth_the_actor_is_the_server_process_never_the_request(flask_app):
    served = create_app(flask_app)
    assert served is flask_app
    client = flask_app.test_client()
    body = client.post(
        "/whoami",
        json={"actor": "mallory"},
        headers={"Authorization": "Basic bWFsbG9yeTp4", "X-Request-Id": "req-42"},
    ).get_json()
    assert body == {"actor": "tester", "request_id": "req-42", "client_addr": "127.0.0.1"}
    generated = client.get("/whoami", headers={"X-Request-Id": "bad id with spaces"}).get_json()
    assert len(generated["request_id"]) == 32
    assert identity.current().request_id is None  # nothing leaks out of the request


def test_the_user_mlflow_basic_auth_authenticated_is_the_actor(flask_app):
    @flask_app.before_request
    def mlflow_auth_validated():
        # What MLflow's basic-auth before_request hook leaves after checking the password.
        flask.g.mlflow_authenticated_user = "alice"

    create_app(flask_app)
    assert flask_app.test_client().get("/whoami").get_json()["actor"] == "alice"


def test_state_lives_in_the_extension_and_the_dispatcher_starts_once(flask_app):
    create_app(flask_app)
    state = flask_app.extensions[EXTENSION_KEY]
    runner = state.dispatcher
    assert runner is not None and runner.running
    create_app(flask_app)
    assert flask_app.extensions[EXTENSION_KEY].dispatcher is runner
    assert flask_app.before_request_funcs[None].count(flask_app.before_request_funcs[None][-1]) == 1


def test_under_uvicorn_an_asgi_app_is_returned(flask_app, monkeypatch):
    monkeypatch.setenv("_MLFLOW_SGI_NAME", "uvicorn")
    served = create_app(flask_app)
    from fastapi import FastAPI

    assert isinstance(served, FastAPI)


def test_without_a_database_the_app_still_serves(monkeypatch, tmp_path):
    monkeypatch.setenv(REGISTRY_STORE_URI_ENV_VAR, str(tmp_path / "mlruns"))
    monkeypatch.delenv("_MLFLOW_SGI_NAME", raising=False)
    app = flask.Flask("no-db")
    assert create_app(app) is app
    assert app.extensions[EXTENSION_KEY].dispatcher is None


@pytest.mark.server
@pytest.mark.slow
def test_one_process_of_a_multi_worker_server_dispatches(tmp_path):
    key = Fernet.generate_key().decode()
    env = {"MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": key, "MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "true"}
    registry_uri = f"governed+sqlite:///{tmp_path / 'registry.db'}"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with Receiver() as receiver, MlflowServer(tmp_path, registry_uri=registry_uri, workers=3, env=env) as server:
            created = WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.created"])
            receiver.secrets = [created.secret]
            client = MlflowClient(tracking_uri=server.url)
            client.create_registered_model("m")
            for n in range(12):
                client.create_model_version("m", f"s3://bucket/{n}")
            assert receiver.wait_for(lambda r: len(r.event_ids()) == 12, timeout=60), server.log_tail()
            service = WebhookService.for_registry_uri(registry_uri)
            assert receiver.wait_for(
                lambda r: {d.status for d in service.deliveries(webhook_id=created.webhook.id)} == {"succeeded"},
                timeout=30,
            )
            senders = {a.dispatcher for d in service.deliveries(webhook_id=created.webhook.id) for a in service.attempts(d.id)}
            db = GovernanceDatabase.for_registry_uri(registry_uri)
            with db.engine.connect() as conn:
                lease_rows = conn.execute(sa.select(leases)).all()
    assert len(receiver.deliveries) == 12 and all(d.verified for d in receiver.deliveries)
    assert len(senders) == 1
    owners = {row.name: row.owner for row in lease_rows}
    assert set(owners) == {"server-dispatcher", "sqlite-outbox"}
    (sender,) = senders
    assert owners["sqlite-outbox"] == sender
    assert owners["server-dispatcher"].split(":")[1] == sender.split(":")[1]  # the same process
    events = [json.loads(d.body) for d in receiver.deliveries]
    assert {e["type"] for e in events} == {"model_version.created"}
