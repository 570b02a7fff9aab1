"""Reviewers in separate processes deciding at the same moment, on every engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from tests.approvals.fixtures import UNAUTHENTICATED_POLICY, add_version, approved_request, as_user, governed_store

_CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from mlflow.exceptions import MlflowException
    from mlflow_registry_ext.registry import promotion
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    uri, workdir, name, task, request_id = sys.argv[1:6]
    store = GovernedRegistryStore("governed+" + uri)
    Path(workdir, "ready-" + name).touch()
    while not Path(workdir, "go").exists():
        time.sleep(0.005)
    try:
        if task == "approve":
            result = store.approvals.approve(request_id).status
        else:
            result = promotion.promote(store, "fraud-model", sys.argv[6], alias="production").request_id
        print(json.dumps({"ok": result}))
    except MlflowException as exc:
        print(json.dumps({"error": exc.error_code, "message": exc.message}))
    """
)


def _race(uri: str, workdir: Path, children: list[tuple[str, str]], *args: str) -> list[dict]:
    """Start one process per (actor, task), release them at once, return what each printed."""
    workdir.mkdir(parents=True, exist_ok=True)
    processes = []
    for number, (actor, task) in enumerate(children):
        env = dict(os.environ, MLFLOW_TRACKING_USERNAME=actor)
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", _CHILD, uri, str(workdir), f"{number}", task, *args],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    deadline = time.monotonic() + 180
    while len(list(workdir.glob("ready-*"))) < len(children):
        assert time.monotonic() < deadline, "children did not start"
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.05)
    (workdir / "go").touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_simultaneous_approvals_make_exactly_one_transition(database, tmp_path, monkeypatch):
    # The approving processes name their actor by MLFLOW_TRACKING_USERNAME.
    store = governed_store(database.uri, monkeypatch, tmp_path, UNAUTHENTICATED_POLICY)
    version = add_version(store)
    with as_user("erin"):
        request = store.approvals.create("fraud-model", version, alias="production")

    children = [("alice", "approve"), ("bob", "approve"), ("carol", "approve"), ("dave", "approve"),
                ("alice", "approve"), ("alice", "approve")]
    results = _race(database.uri, tmp_path / "race", children, request.id)

    assert all("ok" in r for r in results), results
    decided = store.approvals.get(request.id)  # decided elsewhere, seen here
    assert decided.status == "approved"
    assert sorted(d.reviewer for d in decided.decisions) == ["alice", "bob", "carol", "dave"]
    engine = store.governance_db.engine
    assert len(audit_log.query(engine, AuditQuery(action="approval_request.approved"))) == 1
    assert len(audit_log.query(engine, AuditQuery(action="approval_request.reviewed"))) == 6
    assert audit_log.verify(engine).ok


def test_an_approved_request_is_applied_once_when_two_processes_promote(database, tmp_path, monkeypatch):
    store = governed_store(database.uri, monkeypatch, tmp_path)
    version = add_version(store)
    request = approved_request(store, "fraud-model", version)

    results = _race(database.uri, tmp_path / "race", [("erin", "promote"), ("frank", "promote")], "-", version)

    # One process claims and applies the request. The other either finds the alias already
    # there (nothing to change) or finds the request gone and is refused; never both applied.
    applied = [r for r in results if r.get("ok") == request.id]
    assert len(applied) == 1, results
    for other in (r for r in results if r not in applied):
        assert other.get("ok") is None and other.get("error") in (None, "PERMISSION_DENIED"), other
    assert store.get_model_version_by_alias("fraud-model", "production").version in (1, "1")
    assert store.approvals.get(request.id).status == "applied"
    engine = store.governance_db.engine
    moved = audit_log.query(engine, AuditQuery(action="model_version_alias.created"))
    assert [e.details["governance"]["approval_request"] for e in moved] == [request.id]
