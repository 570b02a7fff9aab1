"""Fairness records as the facts the promotion gate judges. Pure.

Example:
    >>> from mlflow_registry_ext.fairness import FairnessCheck, FairnessStore
    >>> from mlflow_registry_ext.policy import fairness_status
    >>> store = FairnessStore(db)
    >>> saved = store.record([FairnessCheck(model="fraud-model", version="1",
    ...     metric="demographic_parity_difference", sensitive_features=("sex",),
    ...     aggregate="difference", value=0.04, threshold_max=0.1, passed=True)])
    >>> facts = fairness_facts(store.latest("fraud-model", "1"))
    >>> fairness_status(policy.rule_for("fraud-model"), facts)
    'passed'
"""

from __future__ import annotations

from typing import Iterable

from mlflow_registry_ext.entities import fields_from
from mlflow_registry_ext.fairness.records import FairnessCheck
from mlflow_registry_ext.policy import FairnessFact

__all__ = ["fairness_facts"]


def fairness_facts(records: Iterable[FairnessCheck]) -> list[FairnessFact]:
    """One :class:`~mlflow_registry_ext.policy.FairnessFact` per record, in the same order.

    The fact's ``value`` is the record's aggregate and ``sensitive_feature`` its feature name
    (``race&sex`` for an intersection), so a policy entry matches by metric and name.

    Example:
        >>> [(f.metric, f.sensitive_feature, f.passed) for f in fairness_facts([check])]
        [('demographic_parity_difference', 'sex', True)]
    """
    return [
        fields_from(FairnessFact, record, recorded_at=record.created_at_ms)
        for record in records
    ]
