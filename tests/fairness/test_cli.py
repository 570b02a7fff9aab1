"""`mlflow-registry-ext fairness check|list`, through the real CLI entry point."""

from __future__ import annotations

import json

import pytest
from fairlearn import metrics as flm

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.fairness import FairnessStore
from tests.fairness.conftest import policy_text


def run(capsys, *argv):
    code = run_guarded(cli, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def registry(mlflow_store):
    return f"governed+{mlflow_store.uri}"


@pytest.fixture
def files(frame, tmp_path):
    frame.to_csv(tmp_path / "holdout.csv", index=False)
    frame.to_parquet(tmp_path / "holdout.parquet")
    return tmp_path


def _check(capsys, registry, version, data, *extra, as_json=False):
    argv = ["--registry-uri", registry] + (["--json"] if as_json else [])
    argv += ["fairness", "check", version.name, version.version, "--data", data,
             "--target", "label", "--prediction", "prediction", "--sensitive", "sex", *extra]
    return run(capsys, *argv)


def test_a_breached_threshold_exits_1_and_is_recorded(capsys, registry, version, files, db, frame):
    code, out, err = _check(
        capsys, registry, version, files / "holdout.csv", "--sensitive", "race",
        "--metric", "demographic_parity_difference", "--max", "demographic_parity_difference=0.1",
        "--dataset-name", "holdout-q1",
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{version.name} version {version.version}: 3 fairness check(s) recorded on holdout-q1")
    assert lines[1].split() == ["METRIC", "FEATURE", "VALUE", "THRESHOLD", "RESULT", "CHART"]
    expected = flm.demographic_parity_difference(frame["label"], frame["prediction"], sensitive_features=frame["sex"])
    row = lines[2].split()
    assert row[:2] == ["demographic_parity_difference", "sex"] and float(row[2]) == pytest.approx(expected, rel=1e-3)
    assert row[3:6] == ["max", "0.1", "failed"] and row[6].startswith(f"runs:/{version.run_id}/fairness/")
    breached = [line for line in lines[2:5] if line.split()[5] == "failed"]
    assert lines[-1] == f"{len(breached)} failed"
    assert "breached their threshold: demographic_parity_difference on sex" in err
    records = FairnessStore(db).list(version.name, version.version)
    assert [(r.sensitive_feature, r.dataset_name) for r in records] == [
        ("sex", "holdout-q1"), ("race", "holdout-q1"), ("race&sex", "holdout-q1")
    ]
    assert records[0].dataset_source == str((files / "holdout.csv").resolve())
    assert records[0].chart_uri.startswith(f"runs:/{version.run_id}/")


def test_parquet_json_output_and_a_passing_check(capsys, registry, version, files):
    code, out, err = _check(
        capsys, registry, version, files / "holdout.parquet", "--no-chart",
        "--metric", "demographic_parity_ratio", "--min", "demographic_parity_ratio=0.2",
        "--max", "demographic_parity_ratio=1", "--check-name", "nightly", as_json=True,
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["passed"] is True and result["model"] == version.name
    [check] = result["checks"]
    assert (check["metric"], check["check_name"], check["direction"]) == ("demographic_parity_ratio", "nightly", "range")
    assert check["dataset_name"] == "holdout.parquet" and check["chart_uri"] is None
    assert check["dataset_digest"].startswith("sha256:")


def test_csv_and_parquet_record_the_same_digest(capsys, registry, version, files):
    digests = set()
    for name in ("holdout.csv", "holdout.parquet"):
        code, out, _ = _check(capsys, registry, version, files / name, "--no-chart", "--metric", "accuracy", as_json=True)
        assert code == 0
        result = json.loads(out)
        assert result["passed"] is None
        digests.add(result["checks"][0]["dataset_digest"])
    assert len(digests) == 1


def test_policy_thresholds_from_the_option_or_the_environment(capsys, registry, version, files, tmp_path, monkeypatch):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        policy_text(version.name, "metric: demographic_parity_difference, sensitive_feature: sex, max: 0.05")
    )
    code, out, err = _check(capsys, registry, version, files / "holdout.csv", "--no-chart", "--policy", policy)
    assert code == 1 and "(max 0.05): failed" in err
    assert "demographic_parity_ratio" not in out
    monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(policy))
    code, _, err = _check(capsys, registry, version, files / "holdout.csv", "--no-chart")
    assert code == 1 and "(max 0.05): failed" in err
    # An explicit threshold replaces the policy's.
    code, _, err = _check(
        capsys, registry, version, files / "holdout.csv", "--no-chart", "--max", "demographic_parity_difference=0.9"
    )
    assert code == 0, err


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--sensitive", "gender"), "Sensitive feature column 'gender' is not in the data"),
        (("--metric", "parity"), "Invalid value for '--metric'"),
        (("--max", "accuracy"), "--max expects METRIC=VALUE"),
        (("--metric", "recall", "--pos-label", "yes"), "positive label 'yes'"),
    ],
)
def test_bad_input_exits_2_and_records_nothing(capsys, registry, version, files, db, extra, message):
    code, out, err = _check(capsys, registry, version, files / "holdout.csv", *extra)
    assert code == 2 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1
    assert FairnessStore(db).list(version.name) == []


def test_missing_things_exit_2(capsys, registry, version, files, tmp_path):
    missing_version = type(version)(**{**vars(version), "version": "77"})
    code, _, err = _check(capsys, registry, missing_version, files / "holdout.csv")
    assert code == 2 and "does not exist" in err
    code, _, err = _check(capsys, registry, version, tmp_path / "nope.csv")
    assert code == 2 and "nope.csv' does not exist" in err
    code, _, err = run(capsys, "fairness", "list", version.name, "1")
    assert code == 2 and "--registry-uri" in err


def test_list_shows_records_oldest_first_and_latest(capsys, registry, version, files):
    for threshold in ("0.01", "0.99"):
        code, _, _ = _check(
            capsys, registry, version, files / "holdout.csv", "--no-chart",
            "--metric", "selection_rate", "--max", f"selection_rate={threshold}",
        )
        assert code in (0, 1)
    code, out, err = run(capsys, "--registry-uri", registry, "fairness", "list", version.name, version.version)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["RECORDED", "BY", "CHECK", "METRIC", "FEATURE", "VALUE", "THRESHOLD", "RESULT", "DATASET"]
    assert len(lines) == 3 and "tester" in lines[1] and "max 0.01" in lines[1] and "max 0.99" in lines[2]
    code, out, _ = run(capsys, "--registry-uri", registry, "--json", "fairness", "list", version.name, version.version, "--latest")
    [latest] = json.loads(out)
    assert latest["threshold_max"] == 0.99 and latest["passed"] is True
    code, out, _ = run(capsys, "--registry-uri", registry, "fairness", "list", version.name, "999")
    assert code == 0 and out.strip() == f"No fairness checks recorded on {version.name} version 999"
    code, out, _ = run(capsys, "--registry-uri", registry, "--json", "fairness", "list", version.name, "999")
    assert json.loads(out) == []


@pytest.mark.parametrize("command", [[], ["check"], ["list"]])
def test_help(capsys, command):
    code, out, _ = run(capsys, "fairness", *command, "--help")
    assert code == 0 and "Usage:" in out


def test_an_artifact_store_that_cannot_take_the_chart_keeps_the_record_and_says_why(
        capsys, registry, mlflow_store, files, db, tmp_path):
    from mlflow import MlflowClient

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the artifact root should be")
    client = MlflowClient(tracking_uri=mlflow_store.uri, registry_uri=mlflow_store.uri)
    experiment = client.create_experiment(f"no-charts-{tmp_path.name}", artifact_location=(blocker / "root").as_uri())
    run_ = client.create_run(experiment)
    name = f"model-nochart-{tmp_path.name[-8:]}"
    client.create_registered_model(name)
    client.create_model_version(name, source=f"{run_.info.artifact_uri}/model", run_id=run_.info.run_id)
    argv = ["--registry-uri", registry, "fairness", "check", name, "1", "--data", files / "holdout.csv",
            "--target", "label", "--prediction", "prediction", "--sensitive", "sex"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "INTERNAL_ERROR" not in out + err
    assert f"recorded without charts: the charts were not logged to run {run_.info.run_id}" in out
    records = FairnessStore(db).list(name, "1")
    assert records and all(r.chart_uri is None for r in records)
    code, out, err = run(capsys, "--json", *argv)
    assert code == 0 and json.loads(out)["chart_error"].startswith("the charts were not logged")
