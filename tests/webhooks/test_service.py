"""Subscriptions, tests, the delivery log, redelivery and replay (``webhooks.service``)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft, AuditQuery
from mlflow_registry_ext.webhooks import verify
from mlflow_registry_ext.webhooks.encryption import KEY_ENV
from mlflow_registry_ext.webhooks.service import WebhookService, secrets_for_signing
from mlflow_registry_ext.db.webhook_tables import webhooks
from tests.webhooks.doubles import FakeClock

pytestmark = pytest.mark.usefixtures("allow_private")


def test_create_generates_a_secret_shown_once_and_stored_encrypted(gov_db):
    service = WebhookService(gov_db)
    created = service.create(
        "http://127.0.0.1:9/hook",
        ["model_version_alias.*", "approval_request.approved"],
        model_filter="fraud-*",
        description="deploys",
    )
    hook, secret = created.webhook, created.secret
    assert secret.startswith("whsec_")
    assert hook.id.startswith("wh_") and hook.status == "active" and hook.created_by == "tester"
    assert (hook.events, hook.model_filter, hook.signature_scheme) == (
        ["model_version_alias.*", "approval_request.approved"],
        "fraud-*",
        "standard",
    )
    assert secret not in json.dumps(hook.to_dict()) and "secret" not in hook.to_dict()
    assert service.get(hook.id) == hook and service.list() == [hook]
    with gov_db.engine.connect() as conn:
        stored = conn.execute(sa.select(webhooks.c.secret).where(webhooks.c.id == hook.id)).scalar_one()
    assert secret not in stored and secret[6:] not in stored
    with gov_db.reading() as engine:
        trail = [e for e in audit_log.query(engine, AuditQuery()) if e.action.startswith("webhook.")]
    assert [e.action for e in trail] == ["webhook.created"]
    assert secret not in json.dumps(trail[0].to_dict())


def test_create_without_the_encryption_key_is_refused(gov_db, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(InvalidInput, match=KEY_ENV):
        WebhookService(gov_db).create("http://127.0.0.1:9/hook", ["*"])
    assert WebhookService(gov_db).list() == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"events": ["model_version.create"]}, "Unknown event type"),
        ({"events": []}, "At least one"),
        ({"signature_scheme": "both"}, "Unknown signature scheme"),
        ({"secret": "not-whsec"}, "whsec_"),
        ({"url": "ftp://x/"}, "http or https"),
        ({"model_filter": "x" * 300}, "longer than 256"),
    ],
)
def test_create_refuses_bad_input(sqlite_gov_db, kwargs, message):
    args = {"url": "http://127.0.0.1:9/hook", "events": ["*"], **kwargs}
    with pytest.raises(InvalidInput, match=message):
        WebhookService(sqlite_gov_db).create(args.pop("url"), args.pop("events"), **args)


def test_update_enable_disable_and_delete(gov_db):
    service = WebhookService(gov_db)
    hook = service.create("http://127.0.0.1:9/hook", ["*"], model_filter="a*", description="d").webhook
    changed = service.update(hook.id, events=["promotion.blocked"], model_filter="", description="")
    assert (changed.events, changed.model_filter, changed.description) == (["promotion.blocked"], None, None)
    paused = service.update(hook.id, active=False)
    assert paused.status == "disabled" and "tester" in paused.disabled_reason
    assert service.list(status="active") == [] and service.list(status="disabled") == [paused]
    assert service.update(hook.id, active=True).status == "active"
    service.delete(hook.id)
    with pytest.raises(NotFound):
        service.get(hook.id)
    with pytest.raises(NotFound):
        service.delete(hook.id)
    with gov_db.reading() as engine:
        actions = [e.action for e in audit_log.query(engine, AuditQuery()) if e.action.startswith("webhook.")]
    assert actions == ["webhook.created"] + ["webhook.updated"] * 3 + ["webhook.deleted"]


def test_switching_to_the_standard_scheme_needs_a_whsec_secret(sqlite_gov_db):
    service = WebhookService(sqlite_gov_db)
    hook = service.create(
        "http://127.0.0.1:9/hook", ["*"], signature_scheme="mlflow", secret="plain-secret-for-mlflow"
    ).webhook
    with pytest.raises(InvalidInput, match="rotate the secret"):
        service.update(hook.id, signature_scheme="standard")
    service.rotate_secret(hook.id, grace_seconds=0)
    assert service.update(hook.id, signature_scheme="standard").signature_scheme == "standard"


def test_test_sends_a_signed_example_and_logs_it(gov_db, receiver):
    service = WebhookService(gov_db)
    created = service.create(receiver.url, ["model_version_alias.*"])
    result = service.test(created.webhook.id)
    assert result.ok and result.status_code == 200 and result.event_type == "model_version_alias.created"
    got = receiver.deliveries[0]
    event = verify(got.body, got.headers, created.secret)
    assert event["test"] is True and event["data"]["alias"] == "production"
    (logged,) = service.deliveries(webhook_id=created.webhook.id)
    assert (logged.origin, logged.status, logged.attempts, logged.last_status_code) == ("test", "succeeded", 1, 200)
    (attempt,) = service.attempts(logged.id)
    assert attempt.status_code == 200 and attempt.response_excerpt == "ok"

    receiver.status = 500
    failed = service.test(created.webhook.id, event_type="promotion.blocked")
    assert not failed.ok and failed.status_code == 500
    assert service.get_delivery(failed.delivery_id).status == "dead"


def test_rotation_signs_with_both_secrets_during_the_grace_period(sqlite_gov_db, receiver):
    clock = FakeClock(int(time.time() * 1000))
    service = WebhookService(sqlite_gov_db, clock=clock)
    created = service.create(receiver.url, ["*"])
    rotated = service.rotate_secret(created.webhook.id, grace_seconds=3600)
    assert rotated.secret != created.secret
    assert rotated.webhook.previous_secret_expires_ms == clock.ms + 3_600_000
    service.test(created.webhook.id)
    headers = receiver.deliveries[-1].headers
    assert len(headers["webhook-signature"].split(" ")) == 2
    body = receiver.deliveries[-1].body
    assert verify(body, headers, created.secret) and verify(body, headers, rotated.secret)

    with sqlite_gov_db.engine.connect() as conn:
        row = conn.execute(sa.select(webhooks).where(webhooks.c.id == created.webhook.id)).one()
    assert secrets_for_signing(row, clock.ms + 3_599_000) == [rotated.secret, created.secret]
    assert secrets_for_signing(row, clock.ms + 3_600_000) == [rotated.secret]


def test_redeliver_queues_the_same_event_again(gov_db):
    service = WebhookService(gov_db)
    hook = service.create("http://127.0.0.1:9/hook", ["model_version.created"]).webhook
    with gov_db.transaction() as conn:
        (entry,) = audit_log.append(conn, [AuditDraft(action="model_version.created", model="m", version="1")])
    (original,) = service.deliveries(webhook_id=hook.id, event_type="model_version.created")
    again = service.redeliver(original.id)
    assert again.id != original.id
    assert (again.event_id, again.origin, again.source_delivery_id, again.status) == (
        entry.entry_id,
        "redeliver",
        original.id,
        "pending",
    )
    with pytest.raises(NotFound):
        service.redeliver("dlv_nope")
    service.update(hook.id, active=False)
    with pytest.raises(InvalidInput, match="disabled"):
        service.redeliver(original.id)


def test_replay_queues_the_subscriptions_events_of_a_time_range(gov_db):
    service = WebhookService(gov_db)
    with gov_db.transaction() as conn:
        early = audit_log.append(conn, [AuditDraft(action="model_version.created", model="fraud", version="1")])
    time.sleep(0.01)
    middle_ms = int(time.time() * 1000)
    with gov_db.transaction() as conn:
        audit_log.append(
            conn,
            [
                AuditDraft(action="model_version.created", model="fraud", version="2"),
                AuditDraft(action="model_version.created", model="credit", version="1"),
                AuditDraft(action="model_version_tag.set", model="fraud", version="2", after={"key": "k", "value": "v"}),
            ],
        )
    hook = service.create("http://127.0.0.1:9/hook", ["model_version.created"], model_filter="fraud*").webhook
    assert service.deliveries(webhook_id=hook.id) == []
    result = service.replay(hook.id, since=middle_ms)
    assert result.queued == 1
    (replayed,) = service.deliveries(webhook_id=hook.id)
    assert replayed.origin == "replay" and replayed.event_type == "model_version.created"
    everything = service.replay(hook.id, since="2000-01-01", until=int(time.time() * 1000) + 1000)
    assert everything.queued == 2
    assert early[0].entry_id in {d.event_id for d in service.deliveries(webhook_id=hook.id)}
    with pytest.raises(InvalidInput, match="before since"):
        service.replay(hook.id, since="2026-02-01", until="2026-01-01")
    with pytest.raises(InvalidInput, match="Bad time"):
        service.replay(hook.id, since="yesterday")


def test_delivery_listing_filters(sqlite_gov_db):
    service = WebhookService(sqlite_gov_db)
    a = service.create("http://127.0.0.1:9/a", ["*"]).webhook
    b = service.create("http://127.0.0.1:9/b", ["model_version.created"]).webhook
    with sqlite_gov_db.transaction() as conn:
        audit_log.append(
            conn,
            [
                AuditDraft(action="model_version.created", model="m", version="1"),
                AuditDraft(action="promotion.blocked", model="m", version="1"),
            ],
        )
    assert len(service.deliveries(webhook_id=b.id)) == 1
    assert {d.event_type for d in service.deliveries(webhook_id=a.id)} >= {"model_version.created", "promotion.blocked"}
    assert [d.event_type for d in service.deliveries(event_type="promotion.blocked")] == ["promotion.blocked"]
    assert service.deliveries(status="dead") == []
    assert len(service.deliveries(limit=1)) == 1
    with pytest.raises(InvalidInput):
        service.deliveries(status="lost")
    with pytest.raises(InvalidInput):
        service.deliveries(limit=0)
