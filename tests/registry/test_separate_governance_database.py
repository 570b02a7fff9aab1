"""MLFLOW_GOVERNANCE_DATABASE_URI: governance tables in another database, nothing lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import sqlalchemy as sa

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.registry.store import GovernedRegistryStore


def test_entries_land_in_the_governance_database(tmp_path, monkeypatch):
    registry_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    governance_uri = f"sqlite:///{tmp_path / 'governance.db'}"
    monkeypatch.setenv("MLFLOW_GOVERNANCE_DATABASE_URI", governance_uri)
    store = GovernedRegistryStore(f"governed+{registry_uri}")
    store.create_registered_model("m")
    store.create_model_version("m", "s3://b/1")
    store.set_registered_model_alias("m", "production", "1")
    assert store.governance_db.uri == governance_uri
    entries = audit_log.query(store.governance_db.engine, AuditQuery())
    assert [e.action for e in entries] == [
        "registered_model.created", "model_version.created", "model_version_alias.created"
    ]
    assert entries[2].after == {"version": "1"} and entries[2].actor == "tester"
    assert not sa.inspect(sa.create_engine(registry_uri)).has_table("gov_audit_log")
    with sa.create_engine(registry_uri).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM gov_audit_pending")).scalar() == 0


def test_an_intent_left_by_a_dead_process_is_chained_on_the_next_start(tmp_path, monkeypatch):
    registry_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    governance_uri = f"sqlite:///{tmp_path / 'governance.db'}"
    monkeypatch.setenv("MLFLOW_GOVERNANCE_DATABASE_URI", governance_uri)
    store = GovernedRegistryStore(f"governed+{registry_uri}")
    store.create_registered_model("m")
    # The child commits the registry change with its intent, then dies before relaying it.
    # Construction relays leftovers too, so die only on the relay after the change.
    code = textwrap.dedent(
        f"""
        import os
        from mlflow_registry_ext.audit import pending
        from mlflow_registry_ext.registry.store import GovernedRegistryStore
        store = GovernedRegistryStore("governed+{registry_uri}")
        pending.PendingRelay.relay = lambda self, ids=None: os._exit(137)
        store.set_registered_model_tag(
            "m", __import__("mlflow").entities.model_registry.RegisteredModelTag("k", "v"))
        """
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 137
    assert store.get_registered_model("m").tags == {"k": "v"}
    before = audit_log.query(store.governance_db.engine, AuditQuery(action="registered_model_tag.set"))
    assert before == []
    restarted = GovernedRegistryStore(f"governed+{registry_uri}")
    after = audit_log.query(restarted.governance_db.engine, AuditQuery(action="registered_model_tag.set"))
    assert [(e.after, e.actor) for e in after] == [({"key": "k", "value": "v"}, "tester")]
    # Relaying again (another worker starting) appends nothing twice.
    GovernedRegistryStore(f"governed+{registry_uri}")
    assert audit_log.verify(restarted.governance_db.engine).checked == 2
