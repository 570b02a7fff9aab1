"""Scanning a version's files, recording the report, and the ``require.security_scan`` gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.audit.log import AuditQuery, query
from mlflow_registry_ext.security.findings import ScanOutcome
from mlflow_registry_ext.security.records import ScanStore
from mlflow_registry_ext.security.scanners import ModelscanScanner, PicklescanScanner
from mlflow_registry_ext.security.service import scan_version
from tests.approvals.fixtures import add_version, approved_request, as_user, copy_database, governed_store
from tests.security.models import malicious_model, safetensors_model, skops_model

POLICY = """\
version: 1
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
    require:
      security_scan: {level}
"""


@pytest.fixture
def gated(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_SCAN_ON_CREATE", raising=False)
    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path,
                          policy=POLICY.format(level="clean"))


def _refusal(store, version) -> str:
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert err.value.error_code == "PERMISSION_DENIED"
    return err.value.message


def _scans(store, version):
    return ScanStore(store.governance_db).list("fraud-model", version)


def test_a_malicious_pickle_is_critical_recorded_at_creation_and_blocks_promotion(gated, tmp_path):
    version = add_version(gated, source=str(malicious_model(tmp_path / "m")))
    [report] = _scans(gated, version)
    assert (report.status, report.highest_severity, report.trigger) == ("findings", "critical", "created")
    [finding] = report.findings
    assert (finding.file, finding.module, finding.operator) == ("model.pkl", "posix", "system")
    assert [s.file for s in report.skipped] == ["MLmodel"] and report.skipped[0].reason
    assert report.scanner == "modelscan" and report.scanner_version == "0.8.8"
    mv = gated.get_model_version("fraud-model", version)
    assert mv.tags["governance.scan"] == "critical"
    from mlflow_registry_ext.artifacts.digest import model_digest

    assert report.artifact_digest == model_digest(str(tmp_path / "m")).digest
    entries = query(gated.governance_db.engine, AuditQuery(model="fraud-model", action="security_scan.recorded"))
    assert [e.after["id"] for e in entries] == [report.id]
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    message = _refusal(gated, version)
    assert "security scan found critical: Use of unsafe operator 'system' from module 'posix' in model.pkl" in message
    assert "(allowed: clean)" in message
    with as_user("frank"), pytest.raises(MlflowException) as err:
        from mlflow.entities.model_registry import ModelVersionTag

        gated.set_model_version_tag("fraud-model", version, ModelVersionTag("governance.scan", "clean"))
    assert err.value.error_code in ("PERMISSION_DENIED", "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("build", [skops_model, safetensors_model], ids=["skops", "safetensors"])
def test_clean_models_pass(gated, tmp_path, build):
    version = add_version(gated, source=str(build(tmp_path / "m")))
    [report] = _scans(gated, version)
    assert report.status == "clean" and report.findings == ()
    assert gated.get_model_version("fraud-model", version).tags["governance.scan"] == "clean"
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    with as_user("erin"):
        gated.set_registered_model_alias("fraud-model", "production", version)


def test_a_pickle_under_an_unknown_name_is_still_scanned(gated, tmp_path):
    version = add_version(gated, source=str(malicious_model(tmp_path / "m", name="weights")))
    [report] = _scans(gated, version)
    assert [(f.file, f.severity) for f in report.findings] == [("weights", "critical")]


def test_picklescan_finds_it_too(tmp_path):
    outcome = PicklescanScanner().scan(malicious_model(tmp_path / "m"))
    assert [(f.file, f.severity, f.operator) for f in outcome.findings] == [("model.pkl", "critical", "system")]


class _Crashing:
    name = "modelscan"
    version = "0.8.8"

    def scan(self, root: Path) -> ScanOutcome:
        raise RuntimeError("scanner blew up")


def test_a_scanner_crash_is_a_recorded_error_never_a_pass(gated, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_SCAN_ON_CREATE", "false")
    version = add_version(gated, source=str(skops_model(tmp_path / "m")))
    assert _scans(gated, version) == []
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    assert "missing security scan of the current artifacts" in _refusal(gated, version)
    report = scan_version(gated.governance_db, gated.inner, "fraud-model", version, policy=gated.policy,
                          scanner=_Crashing())
    assert report.status == "error" and "scanner blew up" in report.errors[0]
    assert report.artifact_digest  # still bound to the files
    assert gated.get_model_version("fraud-model", version).tags["governance.scan"] == "error"
    assert "security scan failed: modelscan crashed: RuntimeError: scanner blew up" in _refusal(gated, version)


def test_unreadable_artifacts_are_a_recorded_error(gated, tmp_path):
    version = add_version(gated, source=str(tmp_path / "nowhere"))
    [report] = _scans(gated, version)
    assert report.status == "error" and report.artifact_digest is None
    assert "No artifacts" in report.errors[0]


def test_a_scan_counts_only_for_the_files_it_scanned(gated, tmp_path):
    directory = skops_model(tmp_path / "m")
    version = add_version(gated, source=str(directory))
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    malicious_model(directory)  # a pickle slipped in after the clean scan
    assert "missing security scan of the current artifacts" in _refusal(gated, version)
    report = scan_version(gated.governance_db, gated.inner, "fraud-model", version, policy=gated.policy)
    assert report.highest_severity == "critical"
    assert "security scan found critical" in _refusal(gated, version)


def test_a_highest_allowed_severity(sqlite_template, tmp_path, monkeypatch):
    store = governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path,
                           policy=POLICY.format(level="high"))
    version = add_version(store, source=str(malicious_model(tmp_path / "m")))
    approved_request(store, "fraud-model", version, reviewers=("alice",))
    with as_user("erin"), pytest.raises(MlflowException) as err:
        store.set_registered_model_alias("fraud-model", "production", version)
    assert "(allowed: up to high)" in err.value.message


def test_a_recreated_model_does_not_inherit_the_old_scans(gated, tmp_path):
    version = add_version(gated, source=str(skops_model(tmp_path / "m")))
    gated.delete_registered_model("fraud-model")
    import os

    os.environ["MLFLOW_GOVERNANCE_SCAN_ON_CREATE"] = "false"
    try:
        again = add_version(gated, source=str(tmp_path / "m"))
    finally:
        del os.environ["MLFLOW_GOVERNANCE_SCAN_ON_CREATE"]
    assert again == version
    approved_request(gated, "fraud-model", again, reviewers=("alice",))
    assert "missing security scan of the current artifacts" in _refusal(gated, again)


def test_no_rule_asking_for_scans_means_no_scan_at_creation(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_SCAN_ON_CREATE", raising=False)
    store = governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, policy=None)
    version = add_version(store, source=str(malicious_model(tmp_path / "m")))
    assert ScanStore(store.governance_db).list("fraud-model", version) == []
    assert "governance.scan" not in store.get_model_version("fraud-model", version).tags
    # On demand it is scanned and recorded, but an unprotected model gets no tag.
    report = scan_version(store.governance_db, store.inner, "fraud-model", version, policy=store.policy)
    assert report.highest_severity == "critical"
    assert "governance.scan" not in store.get_model_version("fraud-model", version).tags


def test_the_policy_refuses_an_unknown_level():
    from mlflow_registry_ext.errors import PolicyInvalid
    from mlflow_registry_ext.policy import parse_policy

    with pytest.raises(PolicyInvalid) as err:
        parse_policy(POLICY.format(level="severe"))
    assert "security_scan" in err.value.message and "clean, low, medium, high, critical" in err.value.message
    assert parse_policy(POLICY.format(level="medium")).rule_for("fraud-x").require.security_scan == "medium"


def test_modelscan_scans_nested_folders(tmp_path):
    malicious_model(tmp_path / "m" / "data")
    outcome = ModelscanScanner().scan(tmp_path / "m")
    assert [f.file for f in outcome.findings] == ["data/model.pkl"]
