"""Policy texts shared by the policy tests."""

from __future__ import annotations

# The example from the contract, byte for byte: it must validate unchanged.
CONTRACT_POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
models:
  - match: "fraud-*"                 # glob on the registered model name; first match wins
    protected_aliases: [production, champion]
    protected_stages: [Production]
    approvals:
      required: 2                     # distinct approvers
      reviewers: ["group:risk-reviewers", dave]
      allow_self_approval: false      # the requester's approval never counts
      expires_after: 7d
    require:
      tags: [owner, training_dataset]
      description: true
      fairness:
        - metric: demographic_parity_difference
          sensitive_feature: sex
          max: 0.1
      artifact_digest: true           # the version's artifacts must match the digest that was approved
  - match: "*"
    protected_aliases: []
"""

# Every optional section, spelled out.
FULL_POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
  platform-admins: [root]
admin_override:
  allowed: ["group:platform-admins"]
models:
  - match: "credit-*"
    protected_aliases: [production]
    protected_stages: [production, Staging]
    approvals:
      required: 1
      reviewers: [alice]
      allow_self_approval: true
    require:
      fairness:
        - metric: demographic_parity_ratio
          sensitive_feature: age
          min: 0.8
          dataset: holdout-2024
    rollback:
      required: 2
      reviewers: ["group:risk-reviewers"]
      expires_after: 12h
      recheck_requirements: true
    on_delete_alias: deny
    on_rename: allow
    admin_override:
      allowed: [erin]
  - match: "scratch-*"
    protected_aliases: [production]
    on_delete_alias: allow
"""
