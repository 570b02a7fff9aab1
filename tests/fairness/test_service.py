"""evaluate_fairness end to end: a real SQLite MLflow store, charts in the version's run, records."""

from __future__ import annotations

import os

import pytest
from fairlearn import metrics as flm

from mlflow_registry_ext import identity
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext.fairness import FairnessStore
from mlflow_registry_ext.fairness.service import evaluate_fairness
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.policy import parse_policy
from tests.fairness.conftest import policy_text

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _recorded(db, version):
    return FairnessStore(db).list(version.name, version.version)


def _audited(db, version):
    return audit_log.query(db.engine, AuditQuery(model=version.name, action="fairness_check.recorded"))


def test_a_check_records_every_metric_and_logs_charts_to_the_versions_run(db, version, frame, tmp_path):
    result = evaluate_fairness(
        db, version.name, version.version,
        data=frame, y_true="label", y_pred="prediction", sensitive_features=["sex", "race"],
        metrics=["demographic_parity_difference", "equalized_odds_ratio"],
        thresholds={"demographic_parity_difference": {"max": 0.1}},
        dataset="holdout", check_name="holdout-q1", client=version.client,
    )
    assert [(c.metric, c.sensitive_feature) for c in result.checks] == [
        ("demographic_parity_difference", "sex"),
        ("demographic_parity_difference", "race"),
        ("demographic_parity_difference", "race&sex"),
        ("equalized_odds_ratio", "sex"),
        ("equalized_odds_ratio", "race"),
        ("equalized_odds_ratio", "race&sex"),
    ]
    dpd_sex = result.checks[0]
    expected = flm.demographic_parity_difference(frame["label"], frame["prediction"], sensitive_features=frame["sex"])
    assert dpd_sex.value == pytest.approx(expected, rel=1e-12)
    assert dpd_sex.passed is False and dpd_sex.threshold_max == 0.1 and result.passed is False
    assert result.failed[0] is dpd_sex
    assert all(c.passed is None for c in result.checks[3:])
    assert {c.dataset_name for c in result.checks} == {"holdout"}
    assert dpd_sex.dataset_digest.startswith("sha256:") and dpd_sex.tool == "fairlearn"
    assert dpd_sex.actor == "tester" and dpd_sex.n_samples == len(frame)

    assert _recorded(db, version) == list(result.checks)
    assert [e.after["id"] for e in _audited(db, version)] == [c.id for c in result.checks]

    assert all(c.chart_uri.startswith(f"runs:/{version.run_id}/fairness/holdout-q1/") for c in result.checks)
    logged = version.client.list_artifacts(version.run_id, "fairness/holdout-q1")
    assert len(logged) == 6
    local = version.client.download_artifacts(version.run_id, dpd_sex.chart_uri.split("/", 2)[2], str(tmp_path))
    with open(local, "rb") as handle:
        assert handle.read(8) == PNG_MAGIC


def test_arrays_and_a_dataframe_give_the_same_values(db, version, frame):
    common = dict(metrics=["equal_opportunity_difference"], client=version.client, log_charts=False)
    from_frame = evaluate_fairness(
        db, version.name, version.version, data=frame, y_true="label", y_pred="prediction",
        sensitive_features="sex", **common,
    )
    from_arrays = evaluate_fairness(
        db, version.name, int(version.version), frame["label"].to_numpy(), frame["prediction"].tolist(),
        {"sex": frame["sex"].to_numpy()}, **common,
    )
    assert from_arrays.checks[0].value == from_frame.checks[0].value
    assert from_arrays.checks[0].by_group == from_frame.checks[0].by_group
    assert from_arrays.checks[0].chart_uri is None
    assert len(_recorded(db, version)) == 2


def test_policy_thresholds_and_default_metrics(db, version, frame):
    policy = parse_policy(
        policy_text(
            version.name,
            "metric: demographic_parity_difference, sensitive_feature: sex, max: 0.5",
            "metric: demographic_parity_ratio, sensitive_feature: sex, min: 0.99",
        ),
        source="policy.yaml",
    )
    result = evaluate_fairness(
        db, version.name, version.version, data=frame, y_true="label", y_pred="prediction",
        sensitive_features=["sex"], policy=policy, client=version.client, log_charts=False,
    )
    assert [(c.metric, c.passed) for c in result.checks] == [
        ("demographic_parity_difference", True),
        ("demographic_parity_ratio", False),
    ]
    assert result.checks[1].describe().endswith("(min 0.99): failed")
    no_threshold = evaluate_fairness(
        db, version.name, version.version, data=frame, y_true="label", y_pred="prediction",
        sensitive_features=["sex"], client=version.client, log_charts=False,
    )
    assert [c.metric for c in no_threshold.checks] == [
        "demographic_parity_difference", "demographic_parity_ratio",
        "equalized_odds_difference", "equalized_odds_ratio",
    ]
    assert no_threshold.passed is None


def test_an_unknown_version_is_not_found_and_nothing_is_written(db, version, frame):
    with pytest.raises(NotFound, match="does not exist"):
        evaluate_fairness(
            db, version.name, "99", data=frame, y_true="label", y_pred="prediction",
            sensitive_features=["sex"], client=version.client,
        )
    assert _recorded(db, version) == [] and _audited(db, version) == []


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (lambda f: f, {"sensitive_features": ["gender"]}, "'gender'"),
        (lambda f: f, {"y_true": "outcome"}, "Target column 'outcome' is not in the data"),
        (lambda f: f.assign(prediction=f["prediction"].where(f.index != 4)), {}, "missing (NaN)"),
        (lambda f: f.assign(label=f["label"] + (f["age"] > 60)), {"metrics": ["recall"]}, "not binary"),
        (lambda f: f.assign(sex="F"), {}, "single group"),
        (lambda f: f, {"metrics": ["fairness"]}, "Unknown fairness metric 'fairness'"),
        (lambda f: f, {"thresholds": {"accuracy": {"min": 2, "max": 1}}}, "is above max"),
        (lambda f: f, {"check_name": " "}, "check_name"),
    ],
)
def test_bad_input_writes_no_record_no_audit_entry_and_no_chart(db, version, frame, change, kwargs, message):
    arguments = dict(data=change(frame), y_true="label", y_pred="prediction", sensitive_features=["sex"])
    arguments.update(kwargs)
    with pytest.raises(InvalidInput) as excinfo:
        evaluate_fairness(db, version.name, version.version, client=version.client, **arguments)
    assert message in excinfo.value.message
    assert _recorded(db, version) == [] and _audited(db, version) == []
    assert version.client.list_artifacts(version.run_id) == []


def test_a_version_without_a_run_is_recorded_without_a_chart(db, version, frame):
    mv = version.client.create_model_version(version.name, source="s3://bucket/model")
    result = evaluate_fairness(
        db, version.name, mv.version, data=frame, y_true="label", y_pred="prediction",
        sensitive_features=["sex"], metrics=["accuracy"], client=version.client,
    )
    assert result.checks[0].chart_uri is None and result.checks[0].version == str(mv.version)


def test_the_actor_is_the_bound_identity_and_the_mlflow_dataset_source_is_kept(db, version, frame, tmp_path):
    import mlflow.data

    path = tmp_path / "holdout.csv"
    frame.to_csv(path, index=False)
    dataset = mlflow.data.from_pandas(frame, source=str(path), name="holdout-2026")
    with identity.bind_request(identity.RequestIdentity(actor="alice")):
        result = evaluate_fairness(
            db, version.name, version.version, data=frame, y_true="label", y_pred="prediction",
            sensitive_features=["sex"], metrics=["selection_rate"], dataset=dataset,
            client=version.client, log_charts=False,
        )
    [check] = result.checks
    assert check.actor == "alice" and _audited(db, version)[0].actor == "alice"
    assert check.dataset_name == "holdout-2026" and os.fspath(path) in check.dataset_source
