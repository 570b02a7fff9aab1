"""``GovernanceClient``: the Python face of mlflow-registry-ext, on either backend.

* **direct**, on a registry URI (``governed+sqlite:///mlflow.db``): library calls against the
  stores, in this process (:class:`~mlflow_registry_ext.client.direct.DirectBackend`);
* **REST**, on the ``http(s)://`` URI of an ``mlflow server --app-name governance``: the same
  operations over the governance REST API
  (:class:`~mlflow_registry_ext.client.rest.RestBackend`). This is what
  ``mlflow.server.get_app_client("governance", tracking_uri=...)`` returns.

Every operation is declared once, with its documentation, in
:class:`~mlflow_registry_ext.client.interface.GovernanceBackend`; the client's methods are made
from those declarations and hand each call to the backend.

Example:
    >>> client = GovernanceClient(registry_uri="governed+sqlite:///mlflow.db")
    >>> client.is_rest, client.verify_audit().ok
    (False, True)
"""

from __future__ import annotations

import functools

from mlflow_registry_ext import settings
from mlflow_registry_ext.client.direct import DirectBackend
from mlflow_registry_ext.client.interface import GovernanceBackend
from mlflow_registry_ext.client.rest import RestBackend
from mlflow_registry_ext.errors import InvalidInput

__all__ = ["GovernanceClient"]

_HTTP = ("http://", "https://")


class GovernanceClient:
    """Approvals, fairness checks, audit and webhooks of a governed MLflow registry.

    Args:
        registry_uri: A ``governed+...`` registry URI for direct mode, or the ``http(s)://`` URI
            of the server holding the registry (default: ``MLFLOW_REGISTRY_URI``).
        tracking_uri: An ``http(s)://`` MLflow server running ``--app-name governance`` for
            REST mode (default: ``MLFLOW_TRACKING_URI``). Used for REST when no registry URI is
            given; next to one, it is the tracking server runs and artifacts are read from.
    """

    def __init__(self, registry_uri: str | None = None, tracking_uri: str | None = None):
        registry_uri = registry_uri or settings.MLFLOW.get("registry_uri")
        tracking_uri = tracking_uri or settings.MLFLOW.get("tracking_uri")
        if registry_uri and registry_uri.startswith(_HTTP):
            # The registry is a server (as ``mlflow.set_registry_uri(server)`` leaves it): its REST.
            backend: GovernanceBackend = RestBackend(registry_uri, tracking_uri)
        elif registry_uri:
            backend = DirectBackend(registry_uri, tracking_uri)
        elif tracking_uri and tracking_uri.startswith(_HTTP):
            backend = RestBackend(None, tracking_uri)
        else:
            raise InvalidInput(
                "GovernanceClient needs a governed registry URI (--registry-uri / "
                "MLFLOW_REGISTRY_URI, e.g. governed+sqlite:///mlflow.db) or the http(s) URI of "
                "an MLflow server running --app-name governance (--tracking-uri / "
                "MLFLOW_TRACKING_URI)"
            )
        self._backend = backend

    @classmethod
    def on_database(cls, database) -> GovernanceClient:
        """A direct client on a governance database alone (no registry): audit, checkpoints,
        proofs, fairness records and webhooks work; the rest say they need the registry."""
        client = cls.__new__(cls)
        client._backend = DirectBackend(None, None, database=database)
        return client

    @property
    def registry_uri(self) -> str | None:
        return self._backend.registry_uri

    @property
    def tracking_uri(self) -> str | None:
        return self._backend.tracking_uri

    @property
    def is_rest(self) -> bool:
        """Whether the calls go to a server over REST."""
        return self._backend.is_rest

    @property
    def database(self):
        """The governance database (direct mode only)."""
        return self._direct().database

    def registry_store(self):
        """The governed registry store (direct mode only), shared with MLflow's own cache."""
        return self._direct().registry_store()

    def _direct(self) -> DirectBackend:
        if not isinstance(self._backend, DirectBackend):
            raise InvalidInput("This works on the registry database, not over REST: pass a governed+ registry URI")
        return self._backend

    def __repr__(self) -> str:
        mode = "rest" if self.is_rest else "direct"
        return f"GovernanceClient({mode}, registry_uri={self.registry_uri!r}, tracking_uri={self.tracking_uri!r})"


def _operation(name: str):
    declared = getattr(GovernanceBackend, name)

    @functools.wraps(declared)
    def call(self, *args, **kwargs):
        backend = self._backend
        with backend.scoped():
            return getattr(backend, name)(*args, **kwargs)

    call.__qualname__ = f"GovernanceClient.{name}"
    return call


for _name in GovernanceBackend.operations():
    setattr(GovernanceClient, _name, _operation(_name))
del _name
