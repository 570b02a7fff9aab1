"""What the REST views work on: the server's own stores and the governance database.

The registry store is the one MLflow's handlers use (so the gate, the policy and the approval
store are the same objects that govern the stock REST API); everything else is built from it on
first use, once per process. It lives in ``app.extensions["mlflow_registry_ext.api"]``.
"""

from __future__ import annotations

import functools
import threading

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = ["ApiContext", "CONTEXT_KEY"]

CONTEXT_KEY = "mlflow_registry_ext.api"


class ApiContext:
    """The server's stores, created lazily and shared by every request of the process.

    Args:
        registry_uri: The registry store URI (default: what ``mlflow server`` was given).
        tracking_uri: The backend store URI (default: what ``mlflow server`` was given).
    """

    def __init__(self, registry_uri: str | None = None, tracking_uri: str | None = None):
        from mlflow.server.constants import BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR

        self.tracking_uri = tracking_uri or settings.read(BACKEND_STORE_URI_ENV_VAR)
        self.registry_uri = registry_uri or settings.read(REGISTRY_STORE_URI_ENV_VAR) or self.tracking_uri
        self._lock = threading.Lock()

    @functools.cached_property
    def db(self):
        """The governance database, migrated on first use."""
        from mlflow_registry_ext.db.database import GovernanceDatabase

        with self._lock:
            return GovernanceDatabase.for_registry_uri(self.registry_uri).ensure_schema()

    @property
    def governed(self) -> bool:
        return bool(self.registry_uri and self.registry_uri.startswith("governed+"))

    def registry_store(self):
        """The server's registry store (MLflow caches it per process)."""
        from mlflow.server.handlers import _get_model_registry_store, _get_tracking_store

        # Creating the stores also points MLflow's in-process URIs at them, which is what
        # resolving models:/ and runs:/ URIs (digests, charts) needs.
        _get_tracking_store()
        return _get_model_registry_store()

    def governed_store(self):
        """The governed registry store.

        Raises:
            InvalidInput: The server's registry is not a ``governed+`` URI.
        """
        store = self.registry_store()
        if not hasattr(store, "approvals"):
            raise InvalidInput(
                "This server's registry is not governed: start it with --registry-store-uri "
                f"governed+{self.registry_uri or '<uri>'} to review and promote"
            )
        return store

    @property
    def policy(self):
        """The policy the registry store enforces (read once, as the store reads it)."""
        store = self.registry_store()
        found = getattr(store, "policy", None)
        if found is not None:
            return found
        return self._env_policy

    @functools.cached_property
    def _env_policy(self):
        from mlflow_registry_ext.policy import policy_from_env

        return policy_from_env()

    @functools.cached_property
    def webhooks(self):
        from mlflow_registry_ext.webhooks.service import WebhookService

        return WebhookService(self.db)

    @functools.cached_property
    def fairness(self):
        from mlflow_registry_ext.fairness.records import FairnessStore

        return FairnessStore(self.db)

    def mlflow_client(self):
        """An ``MlflowClient`` on the server's own stores."""
        from mlflow import MlflowClient

        self.registry_store()
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
