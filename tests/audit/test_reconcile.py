"""Reconciling the registry with its audit log on real databases: drift found, recorded and
delivered once; no false positives after governed writes; the baseline of a database that
predates the plugin."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from mlflow import MlflowClient

from mlflow_registry_ext.audit.baseline import ensure_baseline
from mlflow_registry_ext.audit.reconcile import last_result, reconcile
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.registry.store import GovernedRegistryStore
from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.webhooks.service import WebhookService
from tests.support.receiver import Receiver

POLICY = """
version: 1
models:
  - match: "fraud-*"
    protected_aliases: [production]
    protected_stages: [Production]
    approvals:
      required: 1
      reviewers: [alice]
  - match: "*"
    protected_aliases: []
"""


@pytest.fixture
def policy(tmp_path, monkeypatch):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(path))
    return path


def governed(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=f"governed+{uri}")


def plain(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def run(uri: str, **kwargs):
    store = GovernedRegistryStore(f"governed+{uri}")
    return reconcile(store.governance_db, store.inner.engine, **kwargs)


def entries(uri: str, action: str):
    store = GovernedRegistryStore(f"governed+{uri}")
    with store.governance_db.reading() as engine:
        return audit_log.query(engine, AuditQuery(action=action))


def test_governed_writes_of_every_kind_leave_nothing_to_report(database, policy):
    c = governed(database.uri)
    c.create_registered_model("fraud-a", tags={"owner": "risk"}, description="first")
    c.create_registered_model("plain-m")
    for i in range(3):
        c.create_model_version("fraud-a", f"s3://b/a/{i}", tags={"i": str(i)}, description=f"v{i}")
        c.create_model_version("plain-m", f"s3://b/m/{i}")
    c.update_registered_model("fraud-a", "second")
    c.update_model_version("fraud-a", "2", "changed")
    c.set_registered_model_tag("fraud-a", "owner", "fraud-team")
    c.set_registered_model_tag("fraud-a", "extra", "x")
    c.delete_registered_model_tag("fraud-a", "extra")
    c.set_model_version_tag("fraud-a", "1", "i", "one")
    c.set_model_version_tag("fraud-a", "1", "new", "n")
    c.delete_model_version_tag("fraud-a", "2", "i")
    c.set_registered_model_alias("fraud-a", "staging", "1")
    c.set_registered_model_alias("fraud-a", "staging", "2")
    c.set_registered_model_alias("plain-m", "champion", "1")
    c.set_registered_model_alias("plain-m", "old", "3")
    c.delete_registered_model_alias("plain-m", "champion")
    c.transition_model_version_stage("fraud-a", "1", "Staging")
    c.transition_model_version_stage("plain-m", "1", "Production")
    c.transition_model_version_stage("plain-m", "2", "Production", archive_existing_versions=True)
    c.delete_model_version("plain-m", "3")  # takes the alias "old" with it
    c.rename_registered_model("plain-m", "renamed-m")
    c.set_registered_model_alias("renamed-m", "champion", "2")
    c.copy_model_version("models:/renamed-m/2", "copied")
    c.create_registered_model("gone")
    c.create_model_version("gone", "s3://b/g")
    c.delete_registered_model("gone")
    result = run(database.uri)
    assert result.differences == () and result.ok, [d.describe() for d in result.differences]
    assert (result.models, result.versions) == (3, 6)
    assert entries(database.uri, "audit.drift_detected") == []
    # The plugin's own governance.* tags exist here and are rewritten without entries.
    assert "gov.production" in c.get_model_version("fraud-a", "1").tags


def test_a_plain_client_moving_a_protected_alias_is_reported_recorded_and_delivered(database, policy, monkeypatch):
    monkeypatch.setenv("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE", "true")
    c = governed(database.uri)
    c.create_registered_model("fraud-model")
    for i in range(2):
        c.create_model_version("fraud-model", f"s3://b/{i}")
    store = GovernedRegistryStore(f"governed+{database.uri}")
    with Receiver() as receiver:
        created = WebhookService(store.governance_db).create(receiver.url, ["audit.drift_detected"])
        receiver.secrets = [created.secret]
        assert run(database.uri).ok

        # Around the governed store: no approval, no audit entry.
        plain(database.uri).set_registered_model_alias("fraud-model", "production", "2")
        result = run(database.uri)
        assert not result.ok and result.new == 1
        assert [(d.kind, d.model, d.key, d.expected, d.actual) for d in result.differences] == [
            ("alias", "fraud-model", "production", None, "2")]
        [entry] = entries(database.uri, "audit.drift_detected")
        assert (entry.model, entry.seq, entry.details["count"]) == ("fraud-model", result.drift_seqs[0], 1)

        Dispatcher(store.governance_db).run_once()
        receiver.wait_for(lambda r: len(r.deliveries) >= 1, timeout=30)
        [delivery] = receiver.deliveries
        assert delivery.verified
        event = delivery.event
        assert event["type"] == "audit.drift_detected" and event["model"] == "fraud-model"
        assert event["data"]["differences"][0]["key"] == "production"

        # The same drift is reported again but alerted once; a new one alerts.
        again = run(database.uri)
        assert (again.ok, again.new, again.drift_seqs) == (False, 0, ())
        plain(database.uri).set_model_version_tag("fraud-model", "1", "owner", "mallory")
        third = run(database.uri)
        assert third.new == 1 and len(third.differences) == 2
        drift = entries(database.uri, "audit.drift_detected")
        assert [e.details["differences"][0]["kind"] for e in drift] == ["alias", "tag"]
    latest = last_result(store.governance_db)
    assert latest.ran_ms == third.ran_ms and len(latest.differences) == 2
    with store.governance_db.reading() as engine, engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT differences FROM gov_audit_reconciles ORDER BY id")).scalars().all()
    assert rows == [0, 1, 1, 2]


def test_a_change_of_a_version_in_sql_is_found_field_by_field(sqlite_database):
    c = governed(sqlite_database.uri)
    c.create_registered_model("m", description="d")
    c.create_model_version("m", "s3://b/good")
    c.create_model_version("m", "s3://b/two")
    with sa.create_engine(sqlite_database.uri).begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET source = 's3://evil/x', current_stage = 'Production' "
                             "WHERE name = 'm' AND version = 1"))
        conn.execute(sa.text("UPDATE registered_models SET description = 'edited' WHERE name = 'm'"))
        conn.execute(sa.text("DELETE FROM model_versions WHERE name = 'm' AND version = 2"))
        conn.execute(sa.text("INSERT INTO registered_models (name, creation_time, last_updated_time) "
                             "VALUES ('ghost', 0, 0)"))
    found = {(d.kind, d.model, d.version, d.expected, d.actual) for d in run(sqlite_database.uri, record=False).differences}
    assert found == {
        ("description", "m", None, "d", "edited"),
        ("stage", "m", "1", "None", "Production"),
        ("source", "m", "1", "s3://b/good", "s3://evil/x"),
        ("version", "m", "2", "present", "absent"),
        ("model", "ghost", None, "absent", "present"),
    }
    assert entries(sqlite_database.uri, "audit.drift_detected") == []  # record=False


def test_the_baseline_covers_a_database_that_had_models_before_installation(database):
    before = plain(database.uri)
    before.create_registered_model("legacy", tags={"team": "risk"}, description="old model")
    for i in range(3):
        before.create_model_version("legacy", f"s3://b/{i}", tags={"n": str(i)})
    before.set_registered_model_alias("legacy", "production", "2")
    before.transition_model_version_stage("legacy", "3", "Staging")

    assert run(database.uri).ok  # the first governed store recorded what it found
    [baseline] = entries(database.uri, "audit.baseline")
    assert baseline.model == "legacy" and baseline.after["aliases"] == {"production": "2"}
    GovernedRegistryStore(f"governed+{database.uri}")
    assert len(entries(database.uri, "audit.baseline")) == 1  # once only

    governed(database.uri).set_registered_model_alias("legacy", "staging", "3")
    assert run(database.uri).ok
    plain(database.uri).set_registered_model_alias("legacy", "production", "1")
    result = run(database.uri)
    assert [(d.kind, d.key, d.expected, d.actual) for d in result.differences] == [("alias", "production", "2", "1")]


def test_an_empty_database_gets_no_baseline_and_a_log_with_entries_is_never_rebaselined(sqlite_database):
    governed(sqlite_database.uri).create_registered_model("m")
    plain(sqlite_database.uri).create_registered_model("sneaky")
    assert entries(sqlite_database.uri, "audit.baseline") == []
    result = run(sqlite_database.uri)
    assert [(d.kind, d.model, d.actual) for d in result.differences] == [("model", "sneaky", "present")]


def test_stores_starting_at_once_write_one_baseline(database):
    before = plain(database.uri)
    for name in ("a", "b"):
        before.create_registered_model(name)
        before.create_model_version(name, "s3://b/x")
    store = GovernedRegistryStore(f"governed+{database.uri}")
    with store.governance_db.transaction() as conn:  # as if the plugin were only now installed
        conn.execute(sa.text("DELETE FROM gov_audit_log"))
        conn.execute(sa.text("UPDATE gov_audit_head SET seq = 0"))
    barrier = threading.Barrier(4)
    written = []

    def start():
        barrier.wait()
        written.append(ensure_baseline(store.governance_db, store.inner.engine))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(written) == [0, 0, 0, 2]
    assert sorted(e.model for e in entries(database.uri, "audit.baseline")) == ["a", "b"]
    assert run(database.uri).ok


def test_a_separate_governance_database_reconciles_too(tmp_path, monkeypatch):
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("MLFLOW_GOVERNANCE_DATABASE_URI", f"sqlite:///{tmp_path / 'governance.db'}")
    c = governed(registry)
    c.create_registered_model("m")
    c.create_model_version("m", "s3://b/x")
    c.set_registered_model_alias("m", "prod", "1")
    assert run(registry).ok
    plain(registry).delete_registered_model_alias("m", "prod")
    result = run(registry)
    assert [(d.kind, d.key, d.expected, d.actual) for d in result.differences] == [("alias", "prod", "1", None)]
