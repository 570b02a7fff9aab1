"""A handle on the governance database: engines, schema, transactions.

Example:
    >>> from mlflow_registry_ext.audit import log as audit_log
    >>> db = GovernanceDatabase.for_registry_uri(registry_uri)     # governed+sqlite:///...
    >>> with db.transaction() as conn:
    ...     entries = audit_log.append(conn, [audit_log.AuditDraft(action="approval_request.created", model="m")])
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from mlflow_registry_ext.db.drivers import with_installed_driver
from mlflow_registry_ext.db.engine import get_engine, governance_db_uri
from mlflow_registry_ext.db.migrate import ensure_schema
from mlflow_registry_ext.errors import InvalidInput, StorageUnavailable

__all__ = ["GOVERNED_PREFIX", "GovernanceDatabase", "inner_registry_uri"]

GOVERNED_PREFIX = "governed+"


def inner_registry_uri(registry_uri: str) -> str:
    """``sqlite:///mlflow.db`` for ``governed+sqlite:///mlflow.db``; plain URIs pass through.

    A ``postgresql://`` or ``mysql://`` inner URI gets the installed driver (see
    :mod:`mlflow_registry_ext.db.drivers`)."""
    if registry_uri.startswith(GOVERNED_PREFIX):
        inner = registry_uri[len(GOVERNED_PREFIX) :]
        if "://" not in inner:
            raise InvalidInput(
                f"Malformed governed registry URI {registry_uri!r}: expected "
                "governed+<MLflow registry URI>, e.g. governed+sqlite:///mlflow.db"
            )
        return with_installed_driver(inner)
    return registry_uri


class GovernanceDatabase:
    """The database holding the governance tables, migrated to the newest schema on first use."""

    def __init__(self, uri: str):
        self.uri = uri
        self.engine: Engine = get_engine(uri)
        self.read_engine: Engine = get_engine(uri, for_reads=True)
        self._ensured = False

    @classmethod
    def for_registry_uri(cls, registry_uri: str | None) -> GovernanceDatabase:
        """The governance database of a (``governed+``) registry URI, or the env override."""
        inner = inner_registry_uri(registry_uri) if registry_uri else None
        return cls(governance_db_uri(inner))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> GovernanceDatabase:
        if not self._ensured:
            ensure_schema(self.engine)
            self._ensured = True
        return self

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction on the governance database; committed on success."""
        self.ensure_schema()
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageUnavailable(f"Governance database unavailable: {exc.orig}") from exc

    @contextlib.contextmanager
    def reading(self) -> Iterator[Engine]:
        """The read engine, with connection errors turned into coded errors."""
        self.ensure_schema()
        try:
            yield self.read_engine
        except DBAPIError as exc:
            raise StorageUnavailable(f"Governance database unavailable: {exc.orig}") from exc
