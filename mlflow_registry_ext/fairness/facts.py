"""Fairness records as the facts the promotion gate judges. Pure.

Example:
    >>> facts = fairness_facts(FairnessStore(db).latest("fraud", "3"))
    >>> fairness_status(policy.rule_for("fraud"), facts)
    'passed'
"""

from __future__ import annotations

from typing import Iterable

from mlflow_registry_ext.fairness.records import FairnessCheck
from mlflow_registry_ext.policy import FairnessFact

__all__ = ["fairness_facts"]


def fairness_facts(records: Iterable[FairnessCheck]) -> list[FairnessFact]:
    """One :class:`~mlflow_registry_ext.policy.FairnessFact` per record, in the same order.

    The fact's ``value`` is the record's aggregate and ``sensitive_feature`` its feature name
    (``race&sex`` for an intersection), so a policy entry matches by metric and name.

    Example:
        >>> [f.value for f in fairness_facts(store.latest("fraud", "3"))]
        [0.04]
    """
    return [
        FairnessFact(
            metric=record.metric,
            sensitive_feature=record.sensitive_feature,
            value=record.value,
            passed=record.passed,
            dataset_name=record.dataset_name,
            dataset_digest=record.dataset_digest,
            recorded_at=record.created_at_ms,
        )
        for record in records
    ]
