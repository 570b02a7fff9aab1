"""The three statements that chain entries, sent straight to the database driver.

An audit entry rides on every registry write, so its statements are on MLflow's hot path.
SQLAlchemy's per-statement machinery (compiling, result processing) costs several times what
SQLite needs to run them on a small machine; here they are plain SQL, prepared once per
placeholder style, executed on the DBAPI cursor of the caller's own connection (so still in its
transaction). The head query also reports whether any webhook subscription is active, which lets
the outbox skip its own query on deployments without webhooks.

Dialects other than SQLite, PostgreSQL and MySQL/MariaDB take the SQLAlchemy Core path in
:mod:`mlflow_registry_ext.audit.log`.
"""

from __future__ import annotations

import contextlib
import functools

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["ChainSQL", "for_connection"]

_COLUMNS = ("seq", "entry_id", "timestamp_ms", "actor", "action", "model", "version", "alias",
            "body", "hash", "workspace")
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_LOCKING = {"sqlite": "", "postgresql": " FOR UPDATE", "mysql": " FOR UPDATE"}


class ChainSQL:
    """Prepared SQL text for one dialect and placeholder style."""

    def __init__(self, dialect: str, placeholder: str):
        self.select_head = (
            "SELECT seq, hash, (SELECT COUNT(*) FROM gov_webhooks WHERE status = 'active') "
            f"FROM gov_audit_head WHERE id = 1{_LOCKING[dialect]}"
        )
        self.insert = (
            f"INSERT INTO gov_audit_log ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join([placeholder] * len(_COLUMNS))})"
        )
        self.update_head = (
            f"UPDATE gov_audit_head SET seq = {placeholder}, hash = {placeholder} WHERE id = 1"
        )

    @staticmethod
    @contextlib.contextmanager
    def cursor(conn: Connection):
        """A DBAPI cursor of ``conn``; driver errors become SQLAlchemy's, as elsewhere."""
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            yield cursor
        except dbapi.Error as exc:
            raise DBAPIError.instance(None, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()

    def head(self, cursor) -> tuple[int, str, int] | None:
        """``(last seq, last hash, active webhook count)``, locking the head row; None when the
        head row is missing (deleted around the chain)."""
        cursor.execute(self.select_head)
        found = cursor.fetchone()
        if found is None:
            return None
        seq, digest, active = found
        return int(seq), digest, int(active)

    def write(self, cursor, rows: list[tuple], seq: int, digest: str) -> None:
        """Insert ``rows`` (tuples in column order) and move the head to ``seq``/``digest``."""
        if len(rows) == 1:
            cursor.execute(self.insert, rows[0])
        else:
            cursor.executemany(self.insert, rows)
        cursor.execute(self.update_head, (seq, digest))


@functools.lru_cache(maxsize=16)
def _prepared(dialect: str, paramstyle: str) -> ChainSQL | None:
    if dialect not in _LOCKING or paramstyle not in _PLACEHOLDER:
        return None
    return ChainSQL(dialect, _PLACEHOLDER[paramstyle])


def for_connection(conn: Connection) -> ChainSQL | None:
    """The prepared statements for ``conn``'s database, or None to use SQLAlchemy Core."""
    name = conn.dialect.name
    return _prepared("mysql" if name == "mariadb" else name, conn.dialect.paramstyle)
