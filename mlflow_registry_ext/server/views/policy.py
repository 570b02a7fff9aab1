"""``GET .../policy``: the rule a model is under."""

from __future__ import annotations

from mlflow_registry_ext.policy.effective import effective_policy
from mlflow_registry_ext.server.views._serves import serves


@serves("policy_get")
def policy_get(ctx, access, model):
    return effective_policy(ctx.policy, model)
