"""`mlflow-registry-ext --tracking-uri http://... fairness ...` against a real governance server."""

from __future__ import annotations

import json
import uuid

import pytest
from mlflow import MlflowClient

from tests.fairness.test_cli import run
from tests.support.governance_servers import open_server  # noqa: F401

pytestmark = pytest.mark.server


@pytest.fixture
def server_version(open_server):  # noqa: F811
    client = MlflowClient(tracking_uri=open_server.url)
    name = f"credit-{uuid.uuid4().hex[:8]}"
    run_id = client.create_run("0").info.run_id
    client.create_registered_model(name)
    client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id)
    return open_server.url, name


def test_check_and_list_over_rest(capsys, server_version, frame, tmp_path):
    url, name = server_version
    data = tmp_path / "holdout.parquet"
    frame.to_parquet(data)
    common = ["--tracking-uri", url]
    check = ["fairness", "check", name, "1", "--data", data, "--target", "label", "--prediction", "prediction",
             "--sensitive", "sex", "--metric", "demographic_parity_difference", "--no-chart"]
    code, out, err = run(capsys, *common, *check, "--max", "demographic_parity_difference=0.01")
    assert code == 1 and "breached their threshold" in err
    assert out.startswith(f"{name} version 1: 1 fairness check(s) recorded on holdout.parquet")
    code, out, err = run(capsys, *common, "--json", *check, "--max", "demographic_parity_difference=0.9")
    assert code == 0, err
    assert json.loads(out)["passed"] is True
    code, out, err = run(capsys, *common, "--json", "fairness", "list", name, "1")
    assert code == 0, err
    assert [c["threshold_max"] for c in json.loads(out)] == [0.01, 0.9]
    bad = [*check, "--sensitive", "gender"]
    code, _, err = run(capsys, *common, *bad)
    assert code == 2 and "'gender'" in err
    code, out, _ = run(capsys, *common, "--json", "fairness", "list", name, "1")
    assert len(json.loads(out)) == 2
