"""The effective policy of a model: its rule, reviewers, and what each protected target needs."""

from __future__ import annotations

from mlflow_registry_ext.policy.effective import EffectivePolicy, effective_policy
from mlflow_registry_ext.policy import Policy, parse_policy

POLICY = """
version: 1
groups:
  risk: [alice, bob]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    protected_stages: [Production]
    approvals:
      required: 2
      reviewers: ["group:risk", dave]
    require:
      tags: [owner]
  - match: "*"
"""


def test_a_protected_model():
    effective = effective_policy(parse_policy(POLICY), "fraud-model")
    assert effective.rule_name == "models[0] (match 'fraud-*')"
    assert effective.reviewers == ("alice", "bob", "dave")
    assert effective.protected
    targets = [(r["target_kind"], r["target"], r["action"]) for r in effective.requirements]
    assert targets == [("alias", "production", "promote"), ("alias", "production", "rollback"),
                       ("alias", "production", "delete_alias"), ("stage", "Production", "promote")]
    promote = effective.requirements[0]["requirements"]
    assert any("2 distinct approvals" in line for line in promote) and "tag owner" in promote
    assert EffectivePolicy.from_dict(effective.to_dict()) == effective


def test_a_model_no_rule_protects():
    effective = effective_policy(parse_policy(POLICY), "other")
    assert effective.rule_name == "models[1] (match '*')" and not effective.protected
    assert effective.requirements == ()
    empty = effective_policy(Policy(), "any")
    assert (empty.rule, empty.policy_source, empty.policy_digest) == (None, None, None)
