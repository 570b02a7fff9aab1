"""Engines for the governance database: created once per URI, with SQLite made safe for writers.

The governance tables live in the registry's own database unless
``MLFLOW_GOVERNANCE_DATABASE_URI`` names another one.
"""

from __future__ import annotations

import threading

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from mlflow_registry_ext.db.drivers import with_installed_driver
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = ["GOVERNANCE_DB_ENV", "governance_db_uri", "get_engine", "dialect_of"]

GOVERNANCE_DB_ENV = settings.DATABASE_URI.name

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def governance_db_uri(registry_db_uri: str | None) -> str:
    """The URI of the governance database: the env override, else the registry database."""
    override = settings.DATABASE_URI.raw()
    uri = override or registry_db_uri
    if not uri:
        raise InvalidInput(
            f"No governance database: set {GOVERNANCE_DB_ENV} or pass a governed+ registry URI"
        )
    return with_installed_driver(uri)


def dialect_of(engine_or_uri) -> str:
    """``sqlite``, ``postgresql``, ``mysql`` or ``mssql``."""
    url = engine_or_uri.url if isinstance(engine_or_uri, Engine) else make_url(engine_or_uri)
    name = url.get_backend_name()
    return "mysql" if name == "mariadb" else name


def get_engine(uri: str, *, for_reads: bool = False) -> Engine:
    """The process-wide engine for ``uri`` (one pool per database, shared by every store).

    On SQLite, transactions of the default engine take the write lock when they begin; pass
    ``for_reads=True`` for an engine whose transactions only read and so never block writers.
    """
    key = f"{uri}#r" if for_reads else uri
    engine = _engines.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(uri, for_reads)
            _engines[key] = engine
    return engine


def _create_engine(uri: str, for_reads: bool) -> Engine:
    try:
        url = make_url(uri)
    except ArgumentError as exc:
        raise InvalidInput(f"Malformed database URI {uri!r}: {exc}") from exc
    kwargs: dict = {"pool_pre_ping": True, "future": True}
    if url.get_backend_name() == "sqlite":
        # A writer waits for another instead of failing at once with "database is locked".
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    try:
        engine = sqlalchemy.create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise InvalidInput(f"Cannot use database URI {url!r}: {exc}") from exc
    if url.get_backend_name() == "sqlite" and not for_reads:
        _make_sqlite_transactions_immediate(engine)
    return engine


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
    # pysqlite starts transactions lazily and "upgrades" a reader to a writer, which SQLite may
    # refuse at once (SQLITE_BUSY, no waiting) when another connection is writing. Taking the
    # write lock at BEGIN makes concurrent governance writers queue on the busy timeout instead.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
