"""A process killed at any point never leaves a registry change without its audit entry."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.registry.store import GovernedRegistryStore

_CHILD_PRELUDE = """
import os, sys
from mlflow.entities.model_registry import RegisteredModelTag
from mlflow_registry_ext.registry import session_hook
from mlflow_registry_ext.registry.store import GovernedRegistryStore
store = GovernedRegistryStore("governed+" + sys.argv[1])
"""


def _run_child(body: str, uri: str) -> int:
    code = _CHILD_PRELUDE + body
    return subprocess.run([sys.executable, "-c", code, uri], timeout=120).returncode


@pytest.mark.parametrize("point", ["after_audit_insert", "before_audit_insert"])
def test_process_dies_between_the_change_and_the_commit(database, point):
    store = GovernedRegistryStore(f"governed+{database.uri}")
    store.create_registered_model("m")
    store.create_model_version("m", "s3://b/1")
    store.create_model_version("m", "s3://b/2")
    store.set_registered_model_alias("m", "production", "1")
    kill = {
        # The audit entry is written, MLflow's commit has not run yet.
        "after_audit_insert": """
            original = session_hook.audit_log.append
            def append_then_die(conn, drafts):
                original(conn, drafts)
                os._exit(137)
            session_hook.audit_log.append = append_then_die
        """,
        # MLflow has flushed its change; the audit entry is not written yet.
        "before_audit_insert": """
            def die(op, changes):
                os._exit(137)
            session_hook.drafts_for = die
        """,
    }[point]
    rc = _run_child(textwrap.dedent(kill) + '\nstore.set_registered_model_alias("m", "production", "2")\n', database.uri)
    assert rc == 137
    # Neither the change nor its entry survived: the two commit together or not at all.
    assert store.get_model_version_by_alias("m", "production").version in (1, "1")
    entries = audit_log.query(store.governance_db.engine, AuditQuery(alias="production"))
    assert [e.after for e in entries] == [{"version": "1"}]
    assert audit_log.verify(store.governance_db.engine).ok
    # The store keeps working after the crash.
    store.set_registered_model_alias("m", "production", "2")
    assert audit_log.verify(store.governance_db.engine).ok


def _await_committed(store, value: int, child, timeout: float = 180) -> None:
    """Until the child has committed ``counter`` >= ``value``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counter = store.get_registered_model("m").tags.get("counter")
        if counter is not None and int(counter) >= value:
            return
        if child.poll() is not None:
            pytest.fail(f"the writer exited early ({child.returncode})")
        time.sleep(0.05)
    child.kill()
    pytest.fail(f"the writer committed nothing in {timeout} s")


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_an_entry(database):
    store = GovernedRegistryStore(f"governed+{database.uri}")
    store.create_registered_model("m")
    rng = random.Random(7)
    code = _CHILD_PRELUDE + textwrap.dedent(
        """
        start = int(sys.argv[2])
        for i in range(start, start + 100000):
            store.set_registered_model_tag("m", RegisteredModelTag("counter", str(i)))
        """
    )
    start = 0
    for _round in range(5):
        child = subprocess.Popen([sys.executable, "-c", code, database.uri, str(start)])
        # Imports take seconds (many more on a loaded machine): the kill lands at a random moment
        # once the child's writes are under way, however long it took to get there.
        _await_committed(store, start, child)
        time.sleep(rng.random() * 2)
        child.send_signal(signal.SIGKILL)
        child.wait()
        tags = store.get_registered_model("m").tags
        entries = audit_log.query(
            store.governance_db.engine, AuditQuery(action="registered_model_tag.set", limit=None)
        )
        committed = int(tags["counter"]) if "counter" in tags else -1
        audited = [int(e.after["value"]) for e in entries]
        # Every committed value has exactly one entry, in order, and nothing beyond it.
        assert audited == list(range(0, committed + 1))
        assert audit_log.verify(store.governance_db.engine).ok
        start = committed + 1
    assert start > 0, "the child never committed a write; the test proved nothing"
