"""The statements that chain entries, sent straight to the database driver.

An audit entry rides on every registry write, so its statements are on MLflow's hot path.
SQLAlchemy's per-statement machinery (compiling, result processing) costs several times what
SQLite needs to run them on a small machine; here they are plain SQL, prepared once per
placeholder style, executed on the DBAPI cursor of the caller's own connection (so still in its
transaction). The head query also reports whether any webhook subscription is active, which lets
the outbox skip its own query on deployments without webhooks.

On PostgreSQL and MySQL/MariaDB one entry is chained by one call (:meth:`ChainSQL.append_one`)
of the routine :mod:`mlflow_registry_ext.db.append_routine` stores in the database: it locks the
head row, builds the body from the locked head and the rest of the body encoded here, hashes it,
inserts it and moves the head. The head row's lock is so held for one round trip and the commit
instead of three round trips and the commit, which is what concurrent writers queue on, and the
routine is planned once per connection instead of once per write. The caller recomputes the hash
from what the call reports and refuses a mismatch, so the stored entry is exactly the one
:func:`encode_entry` gives. The routine is used only where its stored definition is the one this
package ships (checked once per engine); elsewhere PostgreSQL chains with one plain statement of
the same steps, MySQL with three.

Dialects other than SQLite, PostgreSQL and MySQL/MariaDB take the SQLAlchemy Core path in
:mod:`mlflow_registry_ext.audit.log`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import weakref

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from mlflow_registry_ext.db import append_routine

__all__ = ["ChainSQL", "for_connection", "routine_failed"]

_log = logging.getLogger(__name__)

_COLUMNS = ("seq", "entry_id", "timestamp_ms", "actor", "action", "model", "version", "alias",
            "body", "hash", "workspace")
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_LOCKING = {"sqlite": "", "postgresql": " FOR UPDATE", "mysql": " FOR UPDATE"}


class ChainSQL:
    """Prepared SQL text for one dialect and placeholder style."""

    def __init__(self, dialect: str, placeholder: str, routine: bool = False):
        self.uses_routine = routine
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
        self.append_one_sql = None
        if dialect == "postgresql":
            p = placeholder
            self.append_one_sql = (
                "WITH h AS (SELECT seq, hash FROM gov_audit_head WHERE id = 1 FOR UPDATE), "
                "e AS (SELECT h.seq + 1 AS seq, h.hash AS prev, "
                f"""'{{"prev_hash":"' || h.hash || '","seq":' || (h.seq + 1)::text || {p}::text AS body """
                "FROM h), "
                "i AS (INSERT INTO gov_audit_log (seq, entry_id, timestamp_ms, actor, action, model, "
                "version, alias, body, hash, workspace) "
                f"SELECT e.seq, {p}, {p}::bigint, {p}, {p}, {p}, {p}, {p}, e.body, "
                f"encode(sha256(convert_to(e.body, 'UTF8')), 'hex'), {p} FROM e RETURNING seq, hash) "
                "UPDATE gov_audit_head SET seq = i.seq, hash = i.hash FROM i, e "
                "WHERE gov_audit_head.id = 1 "
                "RETURNING i.seq, i.hash, e.prev, "
                "(SELECT COUNT(*) FROM gov_webhooks WHERE status = 'active')"
            )
        if self.uses_routine:
            args = ", ".join([placeholder] * 9)
            self.append_one_sql = (
                f"SELECT o_seq, o_hash, o_prev, o_active FROM {append_routine.NAME}({args})"
                if dialect == "postgresql"
                else f"CALL {append_routine.NAME}({args})"
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

    @property
    def appends_in_one(self) -> bool:
        """Whether :meth:`append_one` is available (PostgreSQL)."""
        return self.append_one_sql is not None

    def append_one(self, cursor, suffix: str, row: tuple) -> tuple[int, str, str, int] | None:
        """Chain one entry whose body ends with ``suffix`` (see
        :func:`~mlflow_registry_ext.audit.chain.encode_entry_suffix`); ``row``: its
        ``(entry_id, timestamp_ms, actor, action, model, version, alias, workspace)``.

        Returns ``(seq, hash, previous hash, active webhook count)``; None when the head row is
        missing (nothing was written).
        """
        cursor.execute(self.append_one_sql, (suffix, *row))
        found = cursor.fetchone()
        if found is None or found[0] is None:
            return None
        seq, digest, prev, active = found
        return int(seq), digest, prev, int(active)

    def write(self, cursor, rows: list[tuple], seq: int, digest: str) -> None:
        """Insert ``rows`` (tuples in column order) and move the head to ``seq``/``digest``."""
        if len(rows) == 1:
            cursor.execute(self.insert, rows[0])
        else:
            cursor.executemany(self.insert, rows)
        cursor.execute(self.update_head, (seq, digest))


@functools.lru_cache(maxsize=16)
def _prepared(dialect: str, paramstyle: str, routine: bool) -> ChainSQL:
    return ChainSQL(dialect, _PLACEHOLDER[paramstyle], routine)


# Per engine: whether its database holds this package's append routine, as checked once.
_routine_ok: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_routine(conn: Connection, dialect: str) -> bool:
    """Whether ``conn``'s database holds this package's append routine (PostgreSQL, MySQL),
    checked once per engine."""
    known = _routine_ok.get(conn.engine)
    if known is None:
        with ChainSQL.cursor(conn) as cursor:
            cursor.execute(append_routine.definition_query(dialect))
            row = cursor.fetchone()
        found = None if row is None else row[0]
        if isinstance(found, (bytes, bytearray)):
            found = found.decode()
        known = found is not None and found.strip() == append_routine.expected_body(dialect).strip()
        if not known:
            _log.warning(
                "The audit log's routine %s is %s in this database; audit entries are chained "
                "with plain statements",
                append_routine.NAME, "missing" if found is None else "not the one this package created",
            )
        _routine_ok[conn.engine] = known
    return known


def routine_failed(conn: Connection) -> None:
    """Stop using the append routine on ``conn``'s engine (a call of it failed: it was dropped
    or changed since it was checked)."""
    _routine_ok[conn.engine] = False


def for_connection(conn: Connection) -> ChainSQL | None:
    """The prepared statements for ``conn``'s database, or None to use SQLAlchemy Core."""
    name = conn.dialect.name
    dialect = "mysql" if name == "mariadb" else name
    if dialect not in _LOCKING or conn.dialect.paramstyle not in _PLACEHOLDER:
        return None
    routine = dialect != "sqlite" and _has_routine(conn, dialect)
    return _prepared(dialect, conn.dialect.paramstyle, routine)
