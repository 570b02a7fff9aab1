"""``GovernanceClient``: the Python face of mlflow-registry-ext.

Two modes, one interface:

* **direct**, on a registry URI (``governed+sqlite:///mlflow.db``): library calls against the
  stores, in this process;
* **REST**, on a tracking URI of an ``mlflow server --app-name governance``
  (``http://127.0.0.1:5000``): the same operations over the governance REST API. This is what
  ``mlflow.server.get_app_client("governance", tracking_uri=...)`` returns. It imports only the
  route table and the entities, never the server.

Example:
    >>> client = GovernanceClient(registry_uri="governed+sqlite:///mlflow.db")
    >>> client.verify_audit().ok
    True
"""

from __future__ import annotations

import os
from typing import Iterator

from mlflow_registry_ext.audit.chain import VerifyResult
from mlflow_registry_ext.entities import AliasHistoryItem, AuditEntry
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.rest_transport import RestTransport

__all__ = ["GovernanceClient"]


class GovernanceClient:
    """Approvals, fairness checks, audit and webhooks of a governed MLflow registry.

    Args:
        registry_uri: A ``governed+...`` registry URI for direct mode (default:
            ``MLFLOW_REGISTRY_URI``).
        tracking_uri: An ``http(s)://`` MLflow server running ``--app-name governance`` for
            REST mode (default: ``MLFLOW_TRACKING_URI``). Used when no registry URI is given.
    """

    def __init__(self, registry_uri: str | None = None, tracking_uri: str | None = None):
        registry_uri = registry_uri or os.environ.get("MLFLOW_REGISTRY_URI")
        tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        self.registry_uri = registry_uri
        self.tracking_uri = tracking_uri
        self._rest: RestTransport | None = None
        self._db = None
        if registry_uri:
            if not registry_uri.startswith("governed+"):
                raise InvalidInput(
                    f"Registry URI {registry_uri!r} is not governed: use governed+{registry_uri}"
                )
        elif tracking_uri and tracking_uri.startswith(("http://", "https://")):
            self._rest = RestTransport(tracking_uri)
        else:
            raise InvalidInput(
                "GovernanceClient needs a governed registry URI (--registry-uri / "
                "MLFLOW_REGISTRY_URI, e.g. governed+sqlite:///mlflow.db) or the http(s) URI of "
                "an MLflow server running --app-name governance (--tracking-uri / "
                "MLFLOW_TRACKING_URI)"
            )

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def is_rest(self) -> bool:
        return self._rest is not None

    @property
    def database(self):
        """The governance database (direct mode only)."""
        if self._db is None:
            from mlflow_registry_ext.governance.database import GovernanceDatabase

            self._db = GovernanceDatabase.for_registry_uri(self.registry_uri).ensure_schema()
        return self._db

    def registry_store(self):
        """The governed registry store (direct mode only), shared with MLflow's own cache."""
        from mlflow.tracking._model_registry.utils import _get_store

        return _get_store(self.registry_uri, self.tracking_uri)

    # -- audit ------------------------------------------------------------------------------

    def list_audit(
        self,
        model: str | None = None,
        version: str | None = None,
        alias: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: str | int | None = None,
        until: str | int | None = None,
        after_seq: int | None = None,
        limit: int | None = 1000,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, filtered by any of the arguments.

        ``since``/``until`` take ISO 8601 times, dates or epoch milliseconds.
        """
        if self._rest:
            params = dict(model=model, version=version, alias=alias, actor=actor, action=action,
                          since=since, until=until, after_seq=after_seq, limit=limit)
            data = self._rest.call("audit_list", query=params)
            return [AuditEntry.from_dict(e) for e in data["entries"]]
        from mlflow_registry_ext.governance import audit_log

        q = audit_log.AuditQuery(
            model=model,
            version=version,
            alias=alias,
            actor=actor,
            action=action,
            since_ms=audit_log.parse_time(since),
            until_ms=audit_log.parse_time(until),
            after_seq=after_seq,
            limit=limit,
        )
        with self.database.reading() as engine:
            return audit_log.query(engine, q)

    def verify_audit(self) -> VerifyResult:
        """Check the whole hash chain; names the first bad entry."""
        if self._rest:
            return VerifyResult(**self._rest.call("audit_verify"))
        from mlflow_registry_ext.governance import audit_log

        with self.database.reading() as engine:
            return audit_log.verify(engine)

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (for export)."""
        after = 0
        while True:
            page = self.list_audit(after_seq=after, limit=5000)
            if not page:
                return
            yield from page
            after = page[-1].seq

    def alias_history(
        self, model: str, alias: str, at: str | int | None = None
    ) -> list[AliasHistoryItem]:
        """Where ``alias`` pointed over time, and who moved it (or only at time ``at``)."""
        if self._rest:
            data = self._rest.call("alias_history", query={"model": model, "alias": alias, "at": at})
            return [AliasHistoryItem(**item) for item in data["history"]]
        from mlflow_registry_ext.governance import audit_log

        with self.database.reading() as engine:
            return audit_log.alias_history(engine, model, alias, audit_log.parse_time(at))

