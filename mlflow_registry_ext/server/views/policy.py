"""``GET .../policy``: the rule a model is under."""

from __future__ import annotations

from mlflow_registry_ext.governance.effective_policy import effective_policy


def policy_get(ctx, access, model):
    return effective_policy(ctx.policy, model)
