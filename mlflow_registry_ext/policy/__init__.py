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

from mlflow_registry_ext.policy.loader import *  # noqa: F403
from mlflow_registry_ext.policy.model import *  # noqa: F403
from mlflow_registry_ext.policy.facts import *  # noqa: F403
from mlflow_registry_ext.policy.evaluate import *  # noqa: F403
from mlflow_registry_ext.policy.checks import *  # noqa: F403
from mlflow_registry_ext.policy.loader import __all__ as _loader
from mlflow_registry_ext.policy.model import __all__ as _model
from mlflow_registry_ext.policy.facts import __all__ as _facts
from mlflow_registry_ext.policy.evaluate import __all__ as _evaluate
from mlflow_registry_ext.policy.checks import __all__ as _checks

# The package's names are its modules' own: each lists what it offers in its ``__all__``.
__all__ = [*_loader, *_model, *_facts, *_evaluate, *_checks]
