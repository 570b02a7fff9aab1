"""The dossier's JSON shape is pinned: other tools (the evidence bundle) embed it."""

from __future__ import annotations

import pytest

from mlflow_registry_ext.dossier import DOSSIER_VERSION, PARTS
from tests.support.dossier_server import API, dossier_server  # noqa: F401
from tests.support.governance_servers import call

SHAPE = {
    "comparison": {"status", "alias", "current_version", "rows"},
    "metrics": {"status", "items"},
    "lineage": {"status", "run", "logged_model", "run_missing", "logged_model_missing"},
    "datasets": {"status", "items"},
    "code": {"status", "git_commit", "git_repo_url", "git_branch", "source_name", "source_type"},
    "environment": {"status", "flavors", "python_version", "mlflow_version", "requirements",
                    "requirements_source", "unpinned", "files"},
    "signature": {"status", "inputs", "outputs", "params"},
    "input_example": {"status", "path", "type", "value"},
    "model_card": {"status", "fields", "required", "missing_fields", "body", "has_card_file", "problem"},
    "fairness": {"status", "checks", "passed", "reason"},
    "artifacts": {"status", "digest", "file_count", "total_size"},
    "artifact_signature": {"status", "reason", "signed", "key_id", "digest", "request_id", "target", "signed_at",
                           "signature", "attestation"},
    "governance": {"status", "version_status", "requests", "rule", "protected_aliases", "protected_stages", "alias_history"},
}
TOP = {"dossier_version", "model", "version", "alias", "generated_at", "model_version", "missing", "elapsed_ms",
       *PARTS}
ROW = {"metric", "dataset_name", "dataset_digest", "value", "current_value", "current_dataset_digest", "delta",
       "regression", "direction", "verdict"}


@pytest.mark.server
def test_the_shape_is_pinned(dossier_server):
    server, model, _ = dossier_server
    status, d, _ = call(f"{server.url}{API}/dossier?model={model}&version=2&alias=production", user="alice")
    assert status == 200, d
    assert d["dossier_version"] == DOSSIER_VERSION == 1
    assert set(d) == TOP and set(SHAPE) == set(PARTS)
    for part, keys in SHAPE.items():
        assert set(d[part]) == keys, part
        assert d[part]["status"] in ("present", "partial", "missing")
    assert set(d["comparison"]["rows"][0]) == ROW
    assert d["missing"] == [p for p in PARTS if d[p]["status"] != "present"]


@pytest.mark.server
def test_a_missing_version_or_bad_input_is_a_coded_error(dossier_server):
    server, model, _ = dossier_server
    status, body, _ = call(f"{server.url}{API}/dossier?model={model}&version=42", user="alice")
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, body, _ = call(f"{server.url}{API}/dossier?model={model}&version=two", user="alice")
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body, _ = call(f"{server.url}{API}/dossier?model={model}", user="alice")
    assert status == 400
