"""`db upgrade` and `audit ...` through the real console entry point's guard."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded


@pytest.fixture
def governed(sqlite_database, monkeypatch):
    uri = f"governed+{sqlite_database.uri}"
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    client = MlflowClient(tracking_uri=sqlite_database.uri, registry_uri=uri)
    client.create_registered_model("fraud-model")
    for _ in range(2):
        client.create_model_version("fraud-model", "s3://bucket/m")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    client.set_registered_model_alias("fraud-model", "production", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    client.set_registered_model_alias("fraud-model", "production", "2")
    return sqlite_database


def run(capsys, *args):
    code = run_guarded(cli, list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade_reports_the_revision(sqlite_database, capsys):
    code, out, _ = run(capsys, "--registry-uri", f"governed+{sqlite_database.uri}", "--json", "db", "upgrade")
    assert code == 0
    assert json.loads(out)["to_revision"]


def test_audit_list_filters_and_json(governed, capsys):
    code, out, _ = run(capsys, "--json", "audit", "list", "--actor", "bob")
    assert code == 0
    entries = json.loads(out)
    assert [(e["action"], e["before"], e["after"]) for e in entries] == [
        ("model_version_alias.created", {"version": "1"}, {"version": "2"})
    ]
    code, out, _ = run(capsys, "audit", "list", "--model", "fraud-model", "--action", "model_version.created")
    assert code == 0 and out.count("model_version.created") == 2


def test_audit_history_answers_what_production_pointed_to(governed, capsys):
    code, out, _ = run(capsys, "audit", "history", "fraud-model", "--alias", "production")
    assert code == 0
    lines = out.strip().splitlines()
    assert "version 1  by alice" in lines[0] and "version 2  by bob" in lines[1]
    code, out, _ = run(capsys, "--json", "audit", "history", "fraud-model", "--alias", "production", "--at", "2000-01-01")
    assert code == 0 and json.loads(out) == []


def test_audit_verify_exit_codes_and_export(governed, capsys, tmp_path):
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "intact: 5 entries" in out
    target = tmp_path / "audit.jsonl"
    code, out, _ = run(capsys, "audit", "export", str(target))
    assert code == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5] and rows[-1]["hash"] in out
    engine = sa.create_engine(governed.uri)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE gov_audit_log SET actor = 'mallory' WHERE seq = 4"))
    engine.dispose()
    code, out, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "TAMPERED at entry 4" in out and err.strip().count("\n") == 0


def test_bad_input_is_one_line_with_exit_code_2(governed, capsys):
    code, _, err = run(capsys, "audit", "list", "--since", "someday")
    assert code == 2 and err.startswith("mlflow-registry-ext: INVALID_PARAMETER_VALUE")
    assert err.count("\n") == 1
    code, _, err = run(capsys, "audit", "list", "--limit", "0")
    assert code == 2
    code, _, err = run(capsys, "--registry-uri", "sqlite:///x.db", "audit", "list")
    assert code == 2 and "not governed" in err


def test_missing_registry_uri_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2 and "registry URI" in err


def test_a_failed_verification_is_itself_recorded_for_webhooks(governed, capsys):
    engine = sa.create_engine(governed.uri)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE gov_audit_log SET actor = 'mallory' WHERE seq = 2"))
    code, _, _ = run(capsys, "audit", "verify")
    assert code == 1
    code, out, _ = run(capsys, "--json", "audit", "list", "--action", "audit.verification_failed")
    entries = json.loads(out)
    assert len(entries) == 1 and entries[0]["details"]["first_bad_seq"] == 2
    engine.dispose()


def test_audit_reconcile_exits_1_on_drift_and_prints_json(governed, capsys):
    code, out, _ = run(capsys, "audit", "reconcile")
    assert code == 0 and "registry matches the audit log: 1 models, 2 versions" in out
    MlflowClient(tracking_uri=governed.uri, registry_uri=governed.uri).set_registered_model_alias("fraud-model", "production", "1")
    code, out, err = run(capsys, "--json", "audit", "reconcile")
    assert code == 1
    result = json.loads(out)
    assert (result["ok"], result["new"]) == (False, 1)
    assert result["differences"] == [{"workspace": "default", "kind": "alias", "model": "fraud-model",
                                      "version": None, "key": "production", "expected": "2", "actual": "1"}]
    assert err.strip() == "mlflow-registry-ext: 1 difference(s) between the registry and its audit log"
    code, out, _ = run(capsys, "audit", "reconcile")
    assert code == 1 and "0 new" in out and "fraud-model @production: log says '2', database says '1'" in out
