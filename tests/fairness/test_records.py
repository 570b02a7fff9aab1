"""Fairness records in a real database: written with their audit entry, immutable, read back."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from mlflow_registry_ext.errors import AlreadyExists, InvalidInput, NotFound
from mlflow_registry_ext.fairness import FairnessCheck, FairnessStore, GroupValue, fairness_facts
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditQuery
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.policy import fairness_status, parse_policy
from tests.fairness.conftest import policy_text


def _check(**overrides) -> FairnessCheck:
    values = dict(
        model="fraud-model",
        version="3",
        metric="demographic_parity_difference",
        sensitive_features=("sex",),
        aggregate="difference",
        value=0.123456789012345678,
        overall={"selection_rate": 0.4},
        by_group=(
            GroupValue({"sex": "F"}, 40, {"selection_rate": 0.3}),
            GroupValue({"sex": "M"}, 60, {"selection_rate": 0.423456789012345678}),
        ),
        n_samples=100,
        threshold_max=0.1,
        passed=False,
        dataset_name="holdout",
        dataset_digest="sha256:" + "ab" * 32,
        tool_version="0.15.0",
    )
    values.update(overrides)
    return FairnessCheck(**values)


def _audit(db, model="fraud-model"):
    return audit_log.query(db.engine, AuditQuery(model=model, action="fairness_check.recorded"))


def test_recording_writes_the_record_and_its_audit_entry(database):
    db = GovernanceDatabase(database.uri)
    store = FairnessStore(db)
    [saved] = store.record([_check()])
    assert saved.actor == "tester" and saved.created_at_ms > 0
    assert store.get(saved.id) == saved
    assert store.list("fraud-model", 3) == [saved]
    assert store.list("fraud-model", "3")[0].value == 0.123456789012345678
    [entry] = _audit(db)
    assert (entry.version, entry.actor) == ("3", "tester")
    assert entry.after["id"] == saved.id
    assert entry.after["value"] == saved.value and entry.after["passed"] is False
    assert entry.after["sensitive_feature"] == "sex"
    assert audit_log.verify(db.engine).ok


def test_records_are_immutable_and_a_failed_batch_writes_nothing(database):
    db = GovernanceDatabase(database.uri)
    store = FairnessStore(db)
    [first] = store.record([_check()])
    fresh = _check(metric="demographic_parity_ratio", aggregate="ratio", value=0.7)
    with pytest.raises(AlreadyExists, match="immutable"):
        store.record([fresh, dataclasses.replace(first, value=0.0)])
    assert store.list("fraud-model") == [first]
    assert len(_audit(db)) == 1
    for bad, message in (
        (_check(metric="parity"), "Unknown fairness metric 'parity'"),
        (_check(value=float("nan")), "no finite value"),
        (_check(aggregate="mean"), "aggregate must be one of"),
        (_check(sensitive_features=()), "names no sensitive feature"),
        (_check(model=""), "needs a model name"),
    ):
        with pytest.raises(InvalidInput, match=message):
            store.record([fresh, bad])
    assert store.list("fraud-model") == [first]
    assert len(_audit(db)) == 1


def test_list_latest_and_get(sqlite_database):
    store = FairnessStore(GovernanceDatabase(sqlite_database.uri))
    old, other_feature, other_data = store.record(
        [
            _check(value=0.2),
            _check(sensitive_features=("race", "sex"), value=0.3),
            _check(dataset_name="q2", dataset_digest="sha256:" + "cd" * 32, value=0.05),
        ]
    )
    [new] = store.record([_check(value=0.04, passed=True)])
    store.record([_check(version="4")])
    assert [c.id for c in store.list("fraud-model", "3")] == [old.id, other_feature.id, other_data.id, new.id]
    assert [c.id for c in store.latest("fraud-model", "3")] == [other_feature.id, other_data.id, new.id]
    assert other_feature.sensitive_feature == "race&sex"
    assert len(store.list("fraud-model")) == 5
    assert store.list("other-model", "3") == []
    with pytest.raises(NotFound):
        store.get("0" * 32)


def test_the_gate_reads_the_newest_record(sqlite_database):
    policy = parse_policy(
        policy_text(
            "fraud-*",
            "metric: demographic_parity_difference, sensitive_feature: sex, max: 0.1",
            "metric: demographic_parity_ratio, sensitive_feature: sex, min: 0.8, dataset: holdout",
        ),
        source="policy.yaml",
    )
    rule = policy.rule_for("fraud-model")
    store = FairnessStore(GovernanceDatabase(sqlite_database.uri))
    assert fairness_status(rule, fairness_facts(store.latest("fraud-model", "3"))) == "missing"
    store.record([_check(value=0.15), _check(metric="demographic_parity_ratio", aggregate="ratio", value=0.9)])
    facts = fairness_facts(store.latest("fraud-model", "3"))
    assert [(f.metric, f.sensitive_feature, f.value, f.passed) for f in facts] == [
        ("demographic_parity_difference", "sex", 0.15, False),
        ("demographic_parity_ratio", "sex", 0.9, False),
    ]
    assert fairness_status(rule, facts) == "failed"
    store.record([_check(value=0.05, passed=True)])
    assert fairness_status(rule, fairness_facts(store.latest("fraud-model", "3"))) == "passed"
    # Other data than the policy names does not count.
    store2 = FairnessStore(GovernanceDatabase(sqlite_database.uri))
    store2.record([_check(version="9", value=0.05), _check(version="9", metric="demographic_parity_ratio",
                                                            aggregate="ratio", value=0.9, dataset_name="other")])
    assert fairness_status(rule, fairness_facts(store2.latest("fraud-model", "9"))) == "missing"


def test_the_body_is_the_source_of_truth_for_reads(sqlite_database):
    db = GovernanceDatabase(sqlite_database.uri)
    [saved] = FairnessStore(db).record([_check()])
    with db.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT metric, sensitive_feature, passed FROM gov_fairness_checks")).one()
    assert tuple(row) == ("demographic_parity_difference", "sex", False)
    assert saved.to_dict()["direction"] == "max"
    assert FairnessCheck.from_dict(saved.to_dict()) == saved
