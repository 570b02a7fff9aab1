"""Policy as code: which aliases and stages are protected, and what it takes to change them. Pure.

The policy file (``MLFLOW_GOVERNANCE_POLICY``, YAML, ``version: 1``) is read and validated by
:func:`load_policy` (:mod:`.loader`) into frozen records (:mod:`.model`); :func:`evaluate`
(:mod:`.evaluate`) and the checks in :mod:`.checks` judge a change, described by the records in
:mod:`.facts`, against the rule that matches the model. Nothing here touches a
database or the network: the stores gather the facts and call in.

Example:
    >>> policy = load_policy("policy.yaml")
    >>> rule = policy.rule_for("fraud-model")
    >>> evaluate(rule, PromotionFacts(model="fraud-model", version="7", target_kind="alias",
    ...     target="production", requester="erin")).message()
    'needs 2 approvals from risk-reviewers, dave; has 0; missing tag owner; ...'
"""

from __future__ import annotations

from mlflow_registry_ext.policy.checks import authorize_override, check_delete_version, check_rename
from mlflow_registry_ext.policy.evaluate import (
    authorize_reviewer,
    bound_state_hash,
    evaluate,
    fairness_status,
    card_problems,
    is_eligible_reviewer,
    metric_problems,
    security_scan_problem,
    requirements_summary,
)
from mlflow_registry_ext.policy.facts import (
    ACTIONS,
    TARGET_KINDS,
    ApprovalFact,
    Decision,
    FairnessFact,
    IgnoredApproval,
    MetricFact,
    PromotionFacts,
    RequirementsSummary,
    SecurityScanFact,
)
from mlflow_registry_ext.policy.loader import POLICY_ENV_VAR, load_policy, parse_policy, policy_from_env
from mlflow_registry_ext.policy.model import (
    FAIRNESS_METRICS,
    ON_DELETE_ALIAS_CHOICES,
    ON_RENAME_CHOICES,
    SCAN_SEVERITIES,
    SECURITY_SCAN_CHOICES,
    AdminOverride,
    ApprovalRequirement,
    FairnessRequirement,
    METRIC_DIRECTIONS,
    MetricRequirement,
    Policy,
    Requirements,
    RollbackRule,
    Rule,
    format_duration,
    default_direction,
    parse_duration,
    threshold_breach,
)

__all__ = [
    # the policy file
    "POLICY_ENV_VAR",
    "load_policy",
    "parse_policy",
    "policy_from_env",
    "parse_duration",
    "format_duration",
    # its records
    "FAIRNESS_METRICS",
    "SCAN_SEVERITIES",
    "SECURITY_SCAN_CHOICES",
    "ON_DELETE_ALIAS_CHOICES",
    "ON_RENAME_CHOICES",
    "Policy",
    "Rule",
    "ApprovalRequirement",
    "Requirements",
    "FairnessRequirement",
    "MetricRequirement",
    "METRIC_DIRECTIONS",
    "default_direction",
    "threshold_breach",
    "RollbackRule",
    "AdminOverride",
    # evaluation
    "TARGET_KINDS",
    "ACTIONS",
    "ApprovalFact",
    "FairnessFact",
    "MetricFact",
    "SecurityScanFact",
    "PromotionFacts",
    "IgnoredApproval",
    "Decision",
    "RequirementsSummary",
    "evaluate",
    "bound_state_hash",
    "fairness_status",
    "security_scan_problem",
    "is_eligible_reviewer",
    "authorize_reviewer",
    "authorize_override",
    "check_delete_version",
    "check_rename",
    "requirements_summary",
    "metric_problems",
    "card_problems",
]
