"""The payload an event carries when it is queued is the one its stored entry reads back as.

Whoever drafts an audit entry builds its event payload (``AuditDraft.payload``); the outbox sends
it as is. Replay and redelivery read the stored entry (``event_from_audit_entry``). The real
actions of every event family run here with a subscription to everything, and each queued body is
compared with the reading of its entry from the database, so a value the payload holds but the
entry does not store (or the other way round) fails here.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit import checkpoints
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.chain import VerifyResult
from mlflow_registry_ext.audit.reconcile import reconcile
from mlflow_registry_ext.events import EVENT_TYPES, event_from_audit_entry
from mlflow_registry_ext.fairness import FairnessCheck, FairnessStore, GroupValue
from mlflow_registry_ext.registry.promotion import admin_override, promote, rollback
from mlflow_registry_ext.security.records import ScanStore
from mlflow_registry_ext.security.report import ScanReport
from mlflow_registry_ext.audit import outbox
from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.webhooks.service import WebhookService
from mlflow_registry_ext.db.webhook_tables import deliveries
from tests.approvals.fixtures import add_version, approved_request, as_user, copy_database, governed_store

MODEL = "fraud-model"
POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob]
  on-call: [olivia]
admin_override:
  allowed: [root]
models:
  - match: "fraud-*"
    protected_aliases: [production, champion]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
      expires_after: 7d
    require:
      tags: [owner]
    rollback:
      required: 0
      allowed: ["group:on-call"]
  - match: "*"
    protected_aliases: []
"""


@pytest.fixture
def store(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    return governed_store(copy_database(sqlite_template, tmp_path / "db"), monkeypatch, tmp_path, policy=POLICY)


@pytest.fixture
def reparsed(monkeypatch) -> list[str]:
    """The actions of the entries the outbox had to read back because their draft had no payload."""
    seen: list[str] = []
    read = outbox.event_from_audit_entry

    def reading(entry):
        seen.append(entry.action)
        return read(entry)

    monkeypatch.setattr(outbox, "event_from_audit_entry", reading)
    return seen


@pytest.fixture
def everything(store, reparsed):
    """A subscription to every event (made before anything else happens)."""
    with as_user("root"):
        return WebhookService(store.governance_db).create("http://127.0.0.1:9/all", ["*"]).webhook


def _source(tmp_path, name: str) -> str:
    directory = tmp_path / "sources" / name
    directory.mkdir(parents=True)
    (directory / "weights.bin").write_text(f"weights of {name}")
    return str(directory)


def _queued_against_stored(db, webhook_id: str) -> dict[str, int]:
    """Compare each queued event body with the reading of its entry; the event types checked."""
    with db.reading() as engine:
        stored = {e.entry_id: e for e in audit_log.iter_all(engine)}
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries.c.event_id, deliveries.c.event_type, deliveries.c.payload)
                .where(deliveries.c.webhook_id == webhook_id, deliveries.c.origin == "event")
            ).all()
    checked: dict[str, int] = {}
    for event_id, event_type, body in rows:
        live = json.loads(body)
        read_back = event_from_audit_entry(stored[event_id]).to_dict()
        assert live == read_back, f"{event_type}: the queued payload differs from its stored entry's"
        checked[event_type] = checked.get(event_type, 0) + 1
    return checked


def _registry_changes(store, tmp_path) -> None:
    name = "plain-model"
    store.create_registered_model(name, tags=[RegisteredModelTag("owner", "risk")], description="first cut")
    store.update_registered_model(name, "second cut")
    store.set_registered_model_tag(name, RegisteredModelTag("team", "a"))
    store.set_registered_model_tag(name, RegisteredModelTag("team", "b"))
    store.delete_registered_model_tag(name, "team")
    v1 = str(store.create_model_version(name, _source(tmp_path, "p1"), tags=[ModelVersionTag("k", "v")],
                                        description="one").version)
    v2 = str(store.create_model_version(name, _source(tmp_path, "p2")).version)
    store.update_model_version(name, v1, "one, described")
    store.transition_model_version_stage(name, v1, "Staging", archive_existing_versions=False)
    store.transition_model_version_stage(name, v2, "Staging", archive_existing_versions=True)
    store.set_model_version_tag(name, v1, ModelVersionTag("validated", "true"))
    store.set_model_version_tag(name, v1, ModelVersionTag("validated", "false"))
    store.delete_model_version_tag(name, v1, "validated")
    store.set_registered_model_alias(name, "champ", v1)
    store.set_registered_model_alias(name, "champ", v2)
    store.set_registered_model_alias(name, "other", v2)
    store.delete_registered_model_alias(name, "champ")
    store.delete_model_version(name, v2)
    store.rename_registered_model(name, "plain-renamed")
    store.delete_registered_model("plain-renamed")
    store.create_prompt("greeting", description="says hello", tags={"lang": "en"})
    store.set_prompt_tag("greeting", "lang", "fr")


def _governance(store, tmp_path) -> None:
    v1 = add_version(store, MODEL, source=_source(tmp_path, "f1"))
    v2 = add_version(store, MODEL, source=_source(tmp_path, "f2"))
    v3 = add_version(store, MODEL, source=_source(tmp_path, "f3"))
    # created, reviewed, approved; the promotion applies it.
    approved_request(store, MODEL, v1)
    with as_user("erin"):
        promote(store, MODEL, v1, alias="production")
    # promotion.blocked, then promotion.overridden.
    with as_user("erin"), pytest.raises(MlflowException):
        promote(store, MODEL, v2, alias="production")
    with as_user("root"), admin_override("incident 7: the fix cannot wait"):
        store.set_registered_model_alias(MODEL, "production", v2)
    # promotion.rolled_back (alone, under rollback.allowed).
    with as_user("olivia"):
        rollback(store, MODEL, "production", reason="incident 8: precision dropped")
    # commented, rejected, cancelled.
    with as_user("erin"):
        rejected = store.approvals.create(MODEL, v3, alias="champion", comment="please")
    with as_user("carol"):
        store.approvals.comment(rejected.id, "looks risky")
    with as_user("alice"):
        store.approvals.reject(rejected.id, comment="no")
    with as_user("erin"):
        cancelled = store.approvals.create(MODEL, v3, alias="champion")
        store.approvals.cancel(cancelled.id, comment="not yet")
    # approved, then reopened when a required tag changes.
    approved_request(store, MODEL, v3, alias="champion")
    with as_user("frank"):
        store.set_model_version_tag(MODEL, v3, ModelVersionTag("owner", "someone-else"))
    # expired.
    with as_user("erin"):
        store.approvals.create(MODEL, v2, alias="champion")
    clock = store.approvals.clock
    store.approvals.clock = lambda: clock() + 8 * 86_400_000
    try:
        store.approvals.expire_due()
    finally:
        store.approvals.clock = clock
    # fairness_check.recorded, security_scan.recorded.
    FairnessStore(store.governance_db).record([FairnessCheck(
        model=MODEL, version=v1, metric="demographic_parity_difference", sensitive_features=("sex",),
        aggregate="difference", value=0.04, overall={"selection_rate": 0.4},
        by_group=(GroupValue({"sex": "F"}, 40, {"selection_rate": 0.38}),
                  GroupValue({"sex": "M"}, 60, {"selection_rate": 0.42})),
        n_samples=100, threshold_max=0.1, passed=True, dataset_name="holdout",
        dataset_digest="sha256:" + "ab" * 32, tool_version="0.15.0",
    )])
    ScanStore(store.governance_db).record(ScanReport(
        model=MODEL, version=v1, scanner="modelscan", scanner_version="0.8", status="clean",
        artifact_digest="sha256:" + "cd" * 32,
    ))
    # model_version.artifacts_changed: the pinned source changes.
    source = store.get_model_version(MODEL, v1).source
    with open(f"{source}/weights.bin", "w") as f:
        f.write("never reviewed")
    assert store.pinner.check(MODEL, v1) is not None


def _audit(store) -> None:
    db = store.governance_db
    # audit.drift_detected: a change made around the governed store.
    store.inner.set_registered_model_alias(MODEL, "shadow", "1")
    assert reconcile(db, store.inner.engine).new
    audit_log.record_failure(db, VerifyResult(False, 3, first_bad_seq=2, reason="entry 2 was edited", kind="edited"))
    checkpoints.create(db, key=Ed25519PrivateKey.generate(), origin="registry.example/log")


def _webhooks(store, everything) -> None:
    db = store.governance_db
    with as_user("root"):
        service = WebhookService(db)
        other = service.create("http://127.0.0.1:9/other", ["model_version.*"], model_filter="fraud-*").webhook
        service.update(other.id, events=["model_version.*", "promotion.*"], description="release hooks")
        service.update(other.id, active=False)
        service.update(other.id, active=True)
        service.rotate_secret(other.id, grace_seconds=60)
        [first, *_] = service.deliveries(webhook_id=everything.id)
        service.redeliver(first.id)
        service.replay(everything.id, since=0)
        with db.transaction() as conn:
            Dispatcher(db)._disable(conn, other.id, "410 Gone", 1_800_000_000_000)
        service.delete(other.id)


def test_every_queued_payload_is_what_its_stored_entry_reads_back_as(store, everything, reparsed, tmp_path):
    _registry_changes(store, tmp_path)
    _governance(store, tmp_path)
    _audit(store)
    _webhooks(store, everything)

    checked = _queued_against_stored(store.governance_db, everything.id)
    expected = {
        "registered_model.created", "registered_model.updated", "registered_model.renamed",
        "registered_model.deleted", "registered_model_tag.set", "registered_model_tag.deleted",
        "model_version.created", "model_version.updated", "model_version.stage_transitioned",
        "model_version.deleted", "model_version_tag.set", "model_version_tag.deleted",
        "model_version_alias.created", "model_version_alias.deleted", "prompt.created", "prompt_tag.set",
        "approval_request.created", "approval_request.reviewed", "approval_request.approved",
        "approval_request.commented", "approval_request.rejected", "approval_request.cancelled",
        "approval_request.reopened", "approval_request.expired",
        "promotion.blocked", "promotion.overridden", "promotion.rolled_back",
        "fairness_check.recorded", "security_scan.recorded", "model_version.artifacts_changed",
        "audit.drift_detected", "audit.verification_failed", "audit.checkpoint",
        "webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.redelivered",
        "webhook.replayed", "webhook.disabled", "webhook.deleted",
    }
    assert expected - set(checked) == set()
    # Every entry of these actions was queued with the payload its draft built, none read back.
    assert [a for a in reparsed if a in EVENT_TYPES] == []


def test_the_payload_is_no_part_of_the_stored_or_hashed_entry(tmp_path):
    from mlflow_registry_ext.db.database import GovernanceDatabase
    from mlflow_registry_ext.events import ModelVersionAliasPayload
    from mlflow_registry_ext.identity import RequestIdentity

    draft = audit_log.AuditDraft(action="model_version_alias.created", model="m", version="4", alias="production",
                                 before={"version": "3"}, after={"version": "4"})
    typed = audit_log.AuditDraft(**{**draft.__dict__, "payload": ModelVersionAliasPayload(
        name="m", alias="production", version="4", previous_version="3")})
    assert typed == draft
    found = []
    for name, d in (("plain", draft), ("typed", typed)):
        db = GovernanceDatabase(f"sqlite:///{tmp_path / name}.db").ensure_schema()
        with db.transaction() as conn:
            [entry] = audit_log.append(conn, [d], who=RequestIdentity(actor="alice"), timestamp_ms=1,
                                       entry_ids=["e1"])
        found.append(entry.hash)
        assert event_from_audit_entry(entry).data == typed.payload
    assert found[0] == found[1]


def test_entries_relayed_from_another_database_keep_their_payloads(tmp_path, monkeypatch, reparsed):
    """Governance tables in another database: the intent is chained after the commit, and the
    process that wrote it still queues the payloads its drafts built."""
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("MLFLOW_GOVERNANCE_DATABASE_URI", f"sqlite:///{tmp_path / 'governance.db'}")
    store = GovernedRegistryStore(f"governed+sqlite:///{tmp_path / 'registry.db'}")
    hook = WebhookService(store.governance_db).create("http://127.0.0.1:9/all", ["*"]).webhook
    store.create_registered_model("m", tags=[RegisteredModelTag("owner", "risk")])
    store.create_model_version("m", "s3://b/1")
    store.set_registered_model_alias("m", "production", "1")
    checked = _queued_against_stored(store.governance_db, hook.id)
    assert {"registered_model.created", "model_version.created", "model_version_alias.created"} <= set(checked)
    assert [a for a in reparsed if a in EVENT_TYPES] == []
    assert store._relay._payloads == {}
