"""Apply the governance migrations, race-safely: four server workers may start at once.

The fast path reads the version table and returns when it is at head. Otherwise one process
takes a lock (PostgreSQL advisory lock, MySQL ``GET_LOCK``, a file lock for SQLite), checks again
and upgrades; the others wait for the lock and then find nothing to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import tempfile
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mlflow_registry_ext.db.metadata import VERSION_TABLE
from mlflow_registry_ext.errors import StorageUnavailable

__all__ = ["upgrade", "current_revision", "head_revision", "ensure_schema"]

_log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_NAME = "mlflow_registry_ext_migrate"
_PG_LOCK_KEY = 0x6D6C6672  # arbitrary, fixed: identifies our migration lock
_ready: set[str] = set()


def _alembic_config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration shipped in this package."""
    from alembic.script import ScriptDirectory

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> str:
    """Bring the governance tables to the newest revision; returns it."""
    from alembic import command

    with _migration_lock(engine):
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    _ready.add(str(engine.url))
    return head_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade when needed; cheap when the database is already at head (checked once)."""
    key = str(engine.url)
    if key in _ready:
        return
    try:
        at_head = current_revision(engine) == head_revision()
    except DBAPIError as exc:
        raise StorageUnavailable(
            f"Cannot reach the governance database {engine.url!r}: {exc.orig}"
        ) from exc
    if at_head:
        _ready.add(key)
        return
    _log.info("Upgrading governance tables in %s", engine.url)
    try:
        upgrade(engine)
    except DBAPIError as exc:
        raise StorageUnavailable(
            f"Cannot upgrade the governance database {engine.url!r}: {exc.orig}"
        ) from exc


@contextlib.contextmanager
def _migration_lock(engine: Engine):
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    elif dialect in ("mysql", "mariadb"):
        with engine.connect() as conn:
            got = conn.execute(text("SELECT GET_LOCK(:n, 120)"), {"n": _LOCK_NAME}).scalar()
            if got != 1:
                raise StorageUnavailable("Timed out waiting for another governance migration")
            try:
                yield
            finally:
                conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
    else:
        digest = hashlib.sha256(str(engine.url).encode()).hexdigest()[:16]
        path = os.path.join(tempfile.gettempdir(), f"mlflow-registry-ext-migrate-{digest}.lock")
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
