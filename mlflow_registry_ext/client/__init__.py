"""The governance client: one interface (:mod:`.interface`), two backends (:mod:`.direct` in this
process, :mod:`.rest` over a server's REST API), and :class:`GovernanceClient` (:mod:`.facade`),
which picks the backend from the URIs it is given.

Example:
    >>> client = GovernanceClient(registry_uri="governed+sqlite:///mlflow.db")
    >>> client.verify_audit().ok
    True
"""

from __future__ import annotations

from mlflow_registry_ext.client.facade import GovernanceClient

__all__ = ["GovernanceClient"]
