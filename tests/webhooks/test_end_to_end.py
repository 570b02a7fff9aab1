"""End to end: a real ``mlflow server --app-name governance`` with the governed registry store, a
real receiver verifying every request with the ``standardwebhooks`` library, and real faults:
the receiver down, the server killed with SIGKILL, two dispatchers at once."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext.webhooks.retry import SCHEDULE_ENV
from mlflow_registry_ext.webhooks.service import WebhookService
from tests.support.databases import TempDatabase
from tests.support.receiver import Receiver
from tests.support.servers import MlflowServer

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def env(encryption_key, monkeypatch):
    values = {
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": encryption_key,
        "MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "true",
        # Retry within seconds instead of minutes, so an outage fits in a test.
        SCHEDULE_ENV: "1,2,2,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def registry_uri(tmp_path):
    return f"governed+sqlite:///{tmp_path / 'registry.db'}"


def create_versions(server: MlflowServer, n: int, model: str = "fraud") -> None:
    client = MlflowClient(tracking_uri=server.url)
    client.create_registered_model(model)
    for i in range(n):
        client.create_model_version(model, f"s3://bucket/{model}/{i}")


def all_succeeded(service: WebhookService, webhook_id: str) -> bool:
    return {d.status for d in service.deliveries(webhook_id=webhook_id)} == {"succeeded"}


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def assert_all_verified_and_duplicates_identical(receiver: Receiver) -> None:
    assert receiver.deliveries
    bad = [(d.webhook_id, d.error) for d in receiver.deliveries if not d.verified]
    assert bad == []
    bodies = collections.defaultdict(set)
    for d in receiver.deliveries:
        bodies[d.webhook_id].add(d.body)
        assert json.loads(d.body)["id"] == d.webhook_id
    assert all(len(b) == 1 for b in bodies.values())


def test_events_of_client_calls_arrive_signed(tmp_path, env, registry_uri):
    with Receiver() as standard, Receiver(scheme="mlflow") as native:
        service = WebhookService.for_registry_uri(registry_uri)
        created = service.create(standard.url, ["*"], model_filter="fraud*")
        standard.secrets = [created.secret]
        mlflow_style = service.create(
            native.url, ["model_version_alias.*"], signature_scheme="mlflow", secret="a-secret-written-for-mlflow"
        )
        native.secrets = [mlflow_style.secret]
        with MlflowServer(tmp_path, registry_uri=registry_uri, env=env) as server:
            client = MlflowClient(tracking_uri=server.url)
            create_versions(server, 2)
            client.set_registered_model_alias("fraud", "production", "1")
            client.set_registered_model_alias("fraud", "production", "2")
            client.delete_registered_model_alias("fraud", "production")
            client.set_model_version_tag("fraud", "2", "validated", "true")
            client.create_registered_model("other")
            assert standard.wait_for(lambda r: len(r.event_ids()) >= 7, timeout=30), server.log_tail()
            assert native.wait_for(lambda r: len(r.event_ids()) >= 3, timeout=30), server.log_tail()
    assert_all_verified_and_duplicates_identical(standard)
    events = sorted((json.loads(d.body) for d in standard.deliveries), key=lambda e: e["seq"])
    assert [e["type"] for e in events] == [
        "registered_model.created",
        "model_version.created",
        "model_version.created",
        "model_version_alias.created",
        "model_version_alias.created",
        "model_version_alias.deleted",
        "model_version_tag.set",
    ]
    moved = events[4]
    assert (moved["model"], moved["version"], moved["alias"]) == ("fraud", "2", "production")
    assert moved["data"] == {"name": "fraud", "alias": "production", "version": "2", "previous_version": "1"}
    assert events[5]["data"]["previous_version"] == "2"
    assert all(e["actor"] and e["timestamp"].endswith("Z") for e in events)
    assert all(d.verified for d in native.deliveries)
    assert all("x-mlflow-signature" in d.headers and "webhook-signature" not in d.headers for d in native.deliveries)


def test_every_event_arrives_after_the_receiver_was_down(tmp_path, env, registry_uri):
    receiver = Receiver().up()
    receiver.down()
    try:
        created = WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.created"])
        receiver.secrets = [created.secret]
        with MlflowServer(tmp_path, registry_uri=registry_uri, env=env) as server:
            started = time.monotonic()
            create_versions(server, 30)
            calls = time.monotonic() - started
            time.sleep(8)  # several failed attempts each
            receiver.up()
            assert receiver.wait_for(lambda r: len(r.event_ids()) == 30, timeout=60), server.log_tail()
            service = WebhookService.for_registry_uri(registry_uri)
            assert wait_until(lambda: all_succeeded(service, created.webhook.id), timeout=30)
        found = service.deliveries(webhook_id=created.webhook.id)
        assert len(found) == 30 and {d.status for d in found} == {"succeeded"}
        assert min(d.attempts for d in found) >= 3
        failed_first = service.attempts(found[0].id)[0]
        assert failed_first.outcome == "failed" and "refused" in failed_first.error.lower()
    finally:
        receiver.down()
    assert_all_verified_and_duplicates_identical(receiver)
    assert calls < 30  # the registry never waited for the dead receiver


def test_every_event_arrives_after_the_server_is_killed_with_pending_deliveries(tmp_path, env, registry_uri):
    with Receiver() as receiver:
        created = WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.created"])
        receiver.secrets = [created.secret]
        receiver.delay = 1.0
        server = MlflowServer(tmp_path, registry_uri=registry_uri, env=env).start()
        try:
            create_versions(server, 30)
            assert receiver.wait_for(lambda r: len(r.deliveries) >= 3, timeout=30), server.log_tail()
            server.kill()
            service = WebhookService.for_registry_uri(registry_uri)
            unfinished = [d for d in service.deliveries(webhook_id=created.webhook.id) if d.status != "succeeded"]
            assert len(unfinished) >= 10
            assert {d.status for d in unfinished} <= {"pending", "sending"}
            receiver.delay = 0
            server.start()
            assert receiver.wait_for(lambda r: len(r.event_ids()) == 30, timeout=120), server.log_tail()
            # Requests the killed server had in flight may have reached the receiver without the
            # answer being recorded: they are sent again when their lease ends (same webhook-id).
            assert wait_until(lambda: all_succeeded(service, created.webhook.id), timeout=120), server.log_tail()
        finally:
            server.stop()
    assert_all_verified_and_duplicates_identical(receiver)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_two_dispatchers_at_once_lose_nothing(tmp_path, env, engine, request):
    if engine == "sqlite":
        registry_uri = f"governed+sqlite:///{tmp_path / 'registry.db'}"
    else:
        database = TempDatabase(engine, tmp_path)
        request.addfinalizer(database.drop)
        registry_uri = f"governed+{database.uri}"
    with Receiver() as receiver:
        created = WebhookService.for_registry_uri(registry_uri).create(receiver.url, ["model_version.created"])
        receiver.secrets = [created.secret]
        # Slow answers: the server's dispatcher soon holds as many requests to one subscription as
        # it may (twice its per-subscription share) even when the versions are created slowly, so
        # the rest wait in the outbox for the worker to claim.
        receiver.delay = 3.0
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from mlflow_registry_ext.cli import main; main(sys.argv[1:])",
                "--registry-uri",
                registry_uri,
                "webhooks",
                "worker",
            ],
            env={**os.environ, **env},
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            with MlflowServer(tmp_path, registry_uri=registry_uri, env=env) as server:
                create_versions(server, 50)
                assert receiver.wait_for(lambda r: len(r.event_ids()) == 50, timeout=90), server.log_tail()
                service = WebhookService.for_registry_uri(registry_uri)
                assert wait_until(lambda: all_succeeded(service, created.webhook.id), timeout=60)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err
        found = service.deliveries(webhook_id=created.webhook.id)
        senders = {a.dispatcher for d in found for a in service.attempts(d.id)}
    assert len(found) == 50 and {d.status for d in found} == {"succeeded"}
    if engine == "sqlite":
        # One dispatcher at a time holds the outbox; the other stands by.
        assert len(senders) >= 1
    else:
        assert len(senders) == 2  # both claimed rows, none twice
        tried = {d.id: service.attempts(d.id) for d in found}
        repeated = {i: [(a.dispatcher, a.outcome, a.status_code, a.error) for a in tried[i]]
                    for i in tried if len(tried[i]) > 1}
        assert sum(len(a) for a in tried.values()) == 50, repeated
    assert_all_verified_and_duplicates_identical(receiver)
