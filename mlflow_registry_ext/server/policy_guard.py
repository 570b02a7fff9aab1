"""No silent fail-open: a server started without a policy says so, or refuses to start.

With ``MLFLOW_GOVERNANCE_POLICY`` unset or empty nothing is protected (everything is still
audited). That is a legitimate way to run, but never a silent one: the server logs a warning
naming the variable at start, and ``MLFLOW_GOVERNANCE_REQUIRE_POLICY=true`` makes it refuse to
start instead.
"""

from __future__ import annotations

import logging

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings
from mlflow_registry_ext.policy.loader import POLICY_ENV_VAR

__all__ = ["REQUIRE_POLICY_ENV", "check_policy_configured"]

REQUIRE_POLICY_ENV = settings.REQUIRE_POLICY.name
_log = logging.getLogger(__name__)


def check_policy_configured(environ=None) -> bool:
    """True when a policy is configured; else warn, or raise when one is required.

    Raises:
        InvalidInput: ``MLFLOW_GOVERNANCE_REQUIRE_POLICY`` is true and no policy is set.
    """
    if settings.POLICY.get(environ):
        return True
    if settings.REQUIRE_POLICY.get(environ):
        raise InvalidInput(
            f"{POLICY_ENV_VAR} is not set and {REQUIRE_POLICY_ENV}=true: refusing to start a "
            "governance server that would enforce nothing"
        )
    _log.warning(
        "%s is not set: no alias or stage is protected (changes are still audited). Set it to a "
        "policy file, or set %s=true to refuse to start without one.", POLICY_ENV_VAR, REQUIRE_POLICY_ENV,
    )
    return False
