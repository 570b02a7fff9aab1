"""Event types, payloads and the mapping from audit entries (``mlflow_registry_ext.events``)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext import events
from mlflow_registry_ext.entities import AuditEntry
from mlflow_registry_ext.events import (
    EVENT_TYPES,
    ModelVersionAliasPayload,
    event_from_audit_entry,
    example_event,
    matches_event_type,
    validate_event_patterns,
)
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase


def entry(action, **fields) -> AuditEntry:
    base = dict(seq=7, entry_id="e" * 32, timestamp_ms=1_769_860_800_123, actor="alice", action=action)
    base.update(fields)
    return AuditEntry(**base)


def test_contract_event_names_are_all_known():
    contract = [
        "registered_model.created",
        "model_version.created",
        "model_version_tag.set",
        "model_version_tag.deleted",
        "model_version_alias.created",
        "model_version_alias.deleted",
        "approval_request.created",
        "approval_request.approved",
        "approval_request.rejected",
        "approval_request.cancelled",
        "approval_request.expired",
        "approval_request.commented",
        "fairness_check.recorded",
        "promotion.blocked",
        "audit.verification_failed",
    ]
    assert set(contract) <= set(EVENT_TYPES)
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)


def test_envelope_names_actor_time_model_version_and_stable_id():
    e = entry(
        "model_version_alias.created",
        model="fraud",
        version="4",
        alias="production",
        before={"version": "3"},
        after={"version": "4"},
    )
    body = event_from_audit_entry(e).to_dict()
    assert body == {
        "id": "e" * 32,
        "type": "model_version_alias.created",
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": "2026-01-31T12:00:00.123Z",
        "actor": "alice",
        "model": "fraud",
        "version": "4",
        "alias": "production",
        "seq": 7,
        "data": {"name": "fraud", "alias": "production", "version": "4", "previous_version": "3"},
    }


def test_body_is_deterministic_ascii_json():
    e = entry("registered_model.created", model="modèle", after={"description": "ü", "tags": {}})
    first = event_from_audit_entry(e).to_json()
    assert first == event_from_audit_entry(e).to_json()
    assert first.isascii()
    assert json.loads(first)["model"] == "modèle"


def test_alias_deleted_carries_previous_version():
    e = entry("model_version_alias.deleted", model="m", version="3", alias="prod", before={"version": "3"})
    data = event_from_audit_entry(e).data
    assert data == ModelVersionAliasPayload(name="m", alias="prod", version=None, previous_version="3")


@pytest.mark.parametrize(
    "action, before, after, details, expected",
    [
        (
            "registered_model.updated",
            {"description": "old"},
            {"description": "new"},
            {},
            {"description": "new", "previous_description": "old"},
        ),
        (
            "registered_model.renamed",
            {"name": "m"},
            {"name": "m2"},
            {},
            {"name": "m2", "previous_name": "m"},
        ),
        (
            "registered_model.deleted",
            {"description": "d", "versions": ["1", "2"], "aliases": {"prod": "2"}, "tags": {"a": "b"}},
            {},
            {},
            {"versions": ["1", "2"], "aliases": {"prod": "2"}, "tags": {"a": "b"}, "description": "d"},
        ),
        (
            "registered_model_tag.set",
            {"key": "owner", "value": "x"},
            {"key": "owner", "value": "y"},
            {},
            {"key": "owner", "value": "y", "previous_value": "x"},
        ),
        (
            "model_version.stage_transitioned",
            {"stage": "Staging"},
            {"stage": "Production"},
            {"archived": [{"version": "1", "from": "Production"}]},
            {"stage": "Production", "previous_stage": "Staging", "archived_versions": [{"version": "1", "from": "Production"}]},
        ),
        (
            "model_version.created",
            {},
            {"source": "s3://b/x", "run_id": "r1", "description": None, "tags": {"k": "v"}},
            {},
            {"source": "s3://b/x", "run_id": "r1", "tags": {"k": "v"}},
        ),
        (
            "model_version.deleted",
            {"stage": "None", "source": "s3://b/x", "run_id": None, "aliases": {"prod": "1"}},
            {},
            {},
            {"source": "s3://b/x", "stage": "None", "aliases": {"prod": "1"}},
        ),
        (
            "model_version_tag.deleted",
            {"key": "k", "value": "v"},
            {},
            {},
            {"key": "k", "value": None, "previous_value": "v"},
        ),
    ],
)
def test_registry_payloads_keep_the_previous_value(action, before, after, details, expected):
    e = entry(action, model="m", version="1", before=before, after=after, details=details)
    data = event_from_audit_entry(e).data.to_dict()
    for key, value in expected.items():
        assert data[key] == value, key


def test_governance_payloads():
    approved = event_from_audit_entry(
        entry(
            "approval_request.approved",
            model="m",
            version="4",
            alias="production",
            before={"status": "pending"},
            after={"status": "approved"},
            details={"request_id": "ar_1", "comment": "LGTM", "approvals": "2/2"},
        )
    ).data
    assert (approved.request_id, approved.status, approved.previous_status, approved.comment) == (
        "ar_1",
        "approved",
        "pending",
        "LGTM",
    )
    assert approved.details == {"approvals": "2/2"}

    blocked = event_from_audit_entry(
        entry("promotion.blocked", model="m", version="4", alias="production", details={"reason": "needs 2 approvals"})
    ).data
    assert blocked.reason == "needs 2 approvals" and blocked.alias == "production"

    tampered = event_from_audit_entry(
        entry("audit.verification_failed", details={"first_bad_seq": 17, "reason": "modified", "checked": 20})
    ).data
    assert (tampered.first_bad_seq, tampered.reason, tampered.checked) == (17, "modified", 20)

    fairness = event_from_audit_entry(
        entry("fairness_check.recorded", model="m", version="4", after={"check_id": "fc_1", "passed": True})
    ).data
    assert (fairness.check_id, fairness.passed) == ("fc_1", True)


def test_unknown_action_falls_back_to_a_generic_payload():
    data = event_from_audit_entry(entry("something.new", after={"x": 1})).data
    assert data.to_dict() == {"before": {}, "after": {"x": 1}, "details": {}}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_has_a_documented_example(event_type):
    event = example_event(event_type, event_id="evt_test_1", timestamp_ms=0, actor="alice")
    body = json.loads(event.to_json())
    assert body["test"] is True and body["type"] == event_type
    payload_class = type(event.data)
    # The example is the class's own example(); docs/webhooks.md prints it (tests/test_event_payloads.py).
    assert type(payload_class.example()) is payload_class
    assert "Attributes:" in payload_class.__doc__ or payload_class is events.GenericPayload
    documented = payload_class.__doc__
    for field in dataclasses.fields(payload_class):
        assert field.name in documented, f"{payload_class.__name__}.{field.name} is undocumented"


def test_patterns():
    assert matches_event_type("*", "promotion.blocked")
    assert matches_event_type("model_version.*", "model_version.created")
    assert not matches_event_type("model_version.*", "model_version_tag.set")
    assert validate_event_patterns([" model_version.created ", "model_version.created", "*"]) == [
        "model_version.created",
        "*",
    ]
    with pytest.raises(ValueError, match="Unknown event type 'model_version.create'"):
        validate_event_patterns(["model_version.create"])
    with pytest.raises(ValueError, match="At least one"):
        validate_event_patterns(["", " "])


def test_events_of_the_real_governed_store(tmp_path):
    uri = f"governed+sqlite:///{tmp_path / 'registry.db'}"
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}", registry_uri=uri)
    client.create_registered_model("fraud", tags={"owner": "risk"})
    client.create_model_version("fraud", "s3://bucket/v1")
    client.create_model_version("fraud", "s3://bucket/v2")
    client.set_registered_model_alias("fraud", "production", "1")
    client.set_registered_model_alias("fraud", "production", "2")
    client.delete_registered_model_alias("fraud", "production")
    client.set_model_version_tag("fraud", "2", "validated", "true")
    client.rename_registered_model("fraud", "fraud-v2")

    db = GovernanceDatabase.for_registry_uri(uri)
    with db.reading() as engine:
        found = [event_from_audit_entry(e) for e in audit_log.query(engine, AuditQuery())]
    by_type = {}
    for event in found:
        by_type.setdefault(event.type, []).append(event)
        assert event.id and event.actor == "tester" and event.timestamp_ms > 0
    created = by_type["registered_model.created"][0].data
    assert created.name == "fraud" and created.tags == {"owner": "risk"}
    version = by_type["model_version.created"][1].data
    assert (version.name, version.version, version.source) == ("fraud", "2", "s3://bucket/v2")
    first, moved = by_type["model_version_alias.created"]
    assert (first.data.version, first.data.previous_version) == ("1", None)
    assert (moved.data.version, moved.data.previous_version) == ("2", "1")
    deleted = by_type["model_version_alias.deleted"][0].data
    assert (deleted.version, deleted.previous_version) == (None, "2")
    tag = by_type["model_version_tag.set"][0].data
    assert (tag.version, tag.key, tag.value) == ("2", "validated", "true")
    renamed = by_type["registered_model.renamed"][0].data
    assert (renamed.name, renamed.previous_name) == ("fraud-v2", "fraud")
