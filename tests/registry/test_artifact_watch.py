"""The server's periodic check of pinned versions' sources, and the periodic job that runs it."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.artifacts import CasArtifactRepository
from mlflow_registry_ext.periodic import PeriodicJob
from mlflow_registry_ext import settings
from mlflow_registry_ext.registry.artifact_watch import check_pinned_versions
from tests.approvals.fixtures import (  # noqa: F401 - sqlite_template is a fixture
    add_version,
    copy_database,
    governed_store,
    sqlite_template,
)
from tests.registry.test_pinning import POLICY, _model_dir

INTERVAL_ENV_VAR = settings.ARTIFACT_CHECK_INTERVAL.name
check_interval = settings.ARTIFACT_CHECK_INTERVAL.get


@pytest.fixture
def gated(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_PIN_ROOT", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'tracking.db'}")
    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, policy=POLICY)


def _audit_actions(store, action):
    from mlflow_registry_ext.audit.log import AuditQuery, query

    return [e for e in query(store.governance_db.engine, AuditQuery()) if e.action == action]


def test_the_check_finds_each_changed_source_once_whatever_the_pinning_method(gated, tmp_path):
    uri = f"cas+file://{tmp_path}/root/1/{uuid.uuid4().hex}/artifacts"
    cas_run = CasArtifactRepository(uri)
    cas_run.log_artifacts(str(_model_dir(tmp_path / "src")), "model")
    on_cas = add_version(gated, source=f"{uri}/model")
    plain = _model_dir(tmp_path / "plain" / "model")
    verified = add_version(gated, source=str(plain))
    untouched = add_version(gated, source=str(_model_dir(tmp_path / "other" / "model")))
    assert check_pinned_versions(gated) == []

    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "weights.bin").write_text("never reviewed")
    cas_run.log_artifact(str(tmp_path / "evil" / "weights.bin"), "model")
    (plain / "weights.bin").write_text("never reviewed")
    changed = {(m, v) for m, v, _ in check_pinned_versions(gated)}
    assert changed == {("fraud-model", on_cas), ("fraud-model", verified)}
    check_pinned_versions(gated)  # a second pass records nothing new
    entries = _audit_actions(gated, "model_version.artifacts_changed")
    assert sorted(e.version for e in entries) == sorted([on_cas, verified])
    tags = gated.get_model_version("fraud-model", untouched).tags
    assert "governance.artifacts" not in tags
    assert gated.get_model_version("fraud-model", verified).tags["governance.artifacts"] == "changed"


def test_a_deleted_model_is_skipped(gated, tmp_path):
    plain = _model_dir(tmp_path / "plain" / "model")
    add_version(gated, source=str(plain))
    (plain / "weights.bin").write_text("never reviewed")
    gated.delete_registered_model("fraud-model")
    assert check_pinned_versions(gated) == []


@pytest.mark.parametrize("raw", ["-1", "soon", "nan", "inf"])
def test_a_malformed_interval_is_refused(monkeypatch, raw):
    monkeypatch.setenv(INTERVAL_ENV_VAR, raw)
    with pytest.raises(MlflowException) as err:
        check_interval()
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and INTERVAL_ENV_VAR in err.value.message


def test_the_interval_defaults_and_zero_turns_it_off(monkeypatch):
    monkeypatch.delenv(INTERVAL_ENV_VAR, raising=False)
    assert check_interval() == 900.0
    monkeypatch.setenv(INTERVAL_ENV_VAR, "0")
    assert check_interval() == 0.0


def test_a_periodic_job_runs_in_one_process_at_a_time_and_survives_failures(gated):
    calls: list[str] = []
    lock = threading.Lock()

    def job(name):
        def run():
            with lock:
                calls.append(name)
            if name == "a":
                raise RuntimeError("boom")
        return run

    jobs = [PeriodicJob(gated.governance_db, "test-periodic", 0.2, job(name)) for name in ("a", "b")]
    for j in jobs:
        j.start()
    time.sleep(1.5)
    for j in jobs:
        j.stop()
    assert len(set(calls)) == 1, calls  # only the lease holder ran it
    assert len(calls) >= 3  # again and again, a failing run included
