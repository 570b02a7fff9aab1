"""The dossier, the metric gate and the model card gate on a real governed server with real
sklearn versions (see :mod:`tests.support.dossier_server`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.dossier_server import API, as_client, dossier_server, promote, request_and_approve  # noqa: F401
from tests.support.governance_servers import call, rest_env

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _dossier(server, model, version, alias="production", user="alice"):
    status, body, _ = call(f"{server.url}{API}/dossier?model={model}&version={version}&alias={alias}", user=user)
    assert status == 200, body
    return body


def test_the_challenger_is_compared_with_the_version_under_production(dossier_server):
    server, model, metrics = dossier_server
    d = _dossier(server, model, "2")
    comparison = d["comparison"]
    assert comparison["status"] == "present" and comparison["current_version"] == "1"
    rows = {r["metric"]: r for r in comparison["rows"]}
    assert set(rows) == {"auc", "log_loss", "accuracy"}
    for name, row in rows.items():
        assert row["value"] == pytest.approx(metrics["2"][name])
        assert row["current_value"] == pytest.approx(metrics["1"][name])
        assert row["delta"] == pytest.approx(metrics["2"][name] - metrics["1"][name])
        assert row["dataset_name"] == "cancer-test" and row["dataset_digest"] == row["current_dataset_digest"]
    assert rows["log_loss"]["direction"] == "lower" and rows["auc"]["direction"] == "higher"
    expected = "worse" if metrics["2"]["log_loss"] > metrics["1"]["log_loss"] else "better"
    assert rows["log_loss"]["verdict"] == expected


def test_the_dossier_names_lineage_data_code_environment_from_mlflow(dossier_server):
    server, model, _ = dossier_server
    d = _dossier(server, model, "2")
    assert d["lineage"]["run"]["params"]["C"] == "0.5"
    assert d["lineage"]["logged_model"]["model_id"].startswith("m-")
    assert {x["name"]: x["context"] for x in d["datasets"]["items"]} == {"cancer-train": "training",
                                                                         "cancer-test": "eval"}
    assert d["code"]["git_commit"] == "b" * 40
    env = d["environment"]
    assert "sklearn" in env["flavors"] and env["python_version"]
    assert any(r.startswith("scikit-learn==") for r in env["requirements"]) and env["unpinned"] == []
    assert d["signature"]["status"] == "present" and d["input_example"]["status"] == "present"
    assert d["model_card"]["status"] == "present"
    assert d["artifacts"]["digest"].startswith("sha256:")
    # Not there: named missing, never invented.
    assert d["fairness"]["status"] == "missing" and d["artifact_signature"]["status"] == "missing"
    assert "fairness" in d["missing"] and "artifact_signature" in d["missing"]
    history = d["governance"]["alias_history"]["production"]
    assert [h["version"] for h in history] == ["1"]
    assert d["generated_at"].endswith("Z")


def test_max_regression_refuses_a_regressing_version_naming_the_metric(dossier_server):
    server, model, metrics = dossier_server
    request = request_and_approve(server, model, "3")
    status, body, _ = promote(server, model, "3", request)
    assert status == 403, body
    message = body["message"]
    assert "metric auc" in message and "regressed against production (version 1)" in message
    assert f"{metrics['3']['auc']:g}" in message and f"{metrics['1']['auc']:g}" in message
    assert "max_regression 0.002" in message
    status, current, _ = call(f"{server.url}/api/2.0/mlflow/registered-models/alias?name={model}&alias=production",
                              user="alice")
    assert current["model_version"]["version"] == "1"


def test_model_card_refuses_an_undocumented_version_and_accepts_it_once_documented(dossier_server):
    server, model, _ = dossier_server
    d = _dossier(server, model, "4")
    assert d["model_card"]["status"] == "partial"
    assert d["model_card"]["missing_fields"] == ["training_data", "evaluation_data", "ethical_considerations"]
    request = request_and_approve(server, model, "4", alias="champion")
    status, body, _ = promote(server, model, "4", request, alias="champion")
    assert status == 403, body
    assert "model card missing training_data, evaluation_data, ethical_considerations" in body["message"]
    with as_client(server, "erin") as mlflow:
        client = mlflow.MlflowClient()
        client.set_model_version_tag(model, "4", "model_card.training_data", "70% split")
        client.set_model_version_tag(model, "4", "model_card.evaluation_data", "30% holdout")
        client.set_model_version_tag(model, "4", "model_card.ethical_considerations", "A person decides.")
    # The approval was given for the card as it was: editing it made the approval stale.
    status, body, _ = promote(server, model, "4", request, alias="champion")
    assert status == 403 and "has 0" in body["message"] and "model card" not in body["message"], body
    status, decided, _ = call(f"{server.url}{API}/approval-requests/{request}/approve", "POST",
                              {"comment": "card complete"}, user="bob")
    assert status == 200, decided
    status, body, _ = promote(server, model, "4", request, alias="champion")
    assert status == 200, body


def test_the_cli_prints_the_dossier_and_renders_the_card(dossier_server, tmp_path):
    server, model, _ = dossier_server
    env = {**server.env, **rest_env("alice"), "MLFLOW_TRACKING_URI": server.url}
    env.pop("MLFLOW_GOVERNANCE_POLICY", None)
    import os

    base = {**os.environ, **env}
    base.pop("MLFLOW_REGISTRY_URI", None)
    run = lambda *args: subprocess.run([sys.executable, "-c", "from mlflow_registry_ext.cli import main; main()", *args],  # noqa: E731
                                       env=base, capture_output=True, text=True, timeout=120)
    done = run("--json", "dossier", model, "2", "--alias", "production")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["comparison"]["current_version"] == "1"
    done = run("dossier", model, "2")
    assert done.returncode == 0 and "Metrics against @production (version 1)" in done.stdout
    md = run("card", model, "2", "--format", "md")
    assert md.returncode == 0, md.stderr
    for section in ("## Model details", "## Intended use", "## Training data", "## Evaluation data",
                    "## Quantitative analyses", "## Ethical considerations", "## Caveats and recommendations"):
        assert section in md.stdout
    assert "Flag tumours for a second read" in md.stdout
    out = tmp_path / "card.html"
    html = run("card", model, "4", "--format", "html", "-o", str(out))
    assert html.returncode == 0, html.stderr
    assert "<h2>Intended use</h2>" in out.read_text()
    missing = run("dossier", model, "99")
    assert missing.returncode == 2 and "RESOURCE_DOES_NOT_EXIST" in missing.stderr
