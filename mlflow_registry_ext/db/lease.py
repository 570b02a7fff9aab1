"""A lease row in the database so that one process of a deployment leads.

``mlflow server --workers 4 --app-name governance`` runs the app in four processes; each starts
a dispatcher thread, but only the holder of the ``server-dispatcher`` lease dispatches (the
others wait, and take over within a lease period if it dies). Correctness never rests on the
lease (claims keep concurrent dispatchers safe); it keeps the workers from polling in parallel.

The owner is ``host:pid:nonce``. A lease whose owner is a process of this host that no longer
exists (a server killed with SIGKILL and restarted) is taken over at once instead of waiting for
it to expire.

Example:
    >>> lease = Lease(db, "server-dispatcher")
    >>> lease.acquire()      # True: lead, and call lease.held() now and then to renew
    True
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from mlflow_registry_ext.errors import GovernanceError
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.db.webhook_tables import leases
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["Lease", "owner_is_dead_local_process"]

_log = logging.getLogger(__name__)


def _wall_ms() -> int:
    return utc_now_ms()


def owner_is_dead_local_process(owner: str) -> bool:
    """Whether ``owner`` (``host:pid:nonce``) names a process of this host that has exited."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """A named lease in ``gov_webhook_leases``.

    Args:
        db: The governance database.
        name: What is being led, e.g. ``server-dispatcher``.
        owner: This holder's identity (default ``host:pid:nonce``).
        ttl_seconds: How long a lease lasts without renewal.
        clock: Milliseconds since the epoch.
    """

    def __init__(
        self,
        db: GovernanceDatabase,
        name: str,
        *,
        owner: str | None = None,
        ttl_seconds: float = 10.0,
        clock: Callable[[], int] | None = None,
    ):
        self.db = db
        self.name = name
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self.ttl_ms = int(ttl_seconds * 1000)
        self._now = clock or _wall_ms
        self._renewed_ms: int | None = None

    @property
    def retry_seconds(self) -> float:
        """How often a follower looks whether it can take over (a read, unless it can)."""
        return min(1.0, max(0.2, self.ttl_ms / 4000))

    def _takeable(self, row, now: int) -> bool:
        return row is None or row.owner == self.owner or row.expires_ms <= now or owner_is_dead_local_process(row.owner)

    def acquire(self) -> bool:
        """Take or renew the lease; True when this holder leads."""
        now = self._now()
        try:
            # Look first without writing: on SQLite a write transaction locks the whole file,
            # and followers ask often.
            with self.db.reading() as engine, engine.connect() as conn:
                seen = conn.execute(select(leases).where(leases.c.name == self.name)).first()
            if not self._takeable(seen, now):
                self._renewed_ms = None
                return False
            with self.db.transaction() as conn:
                stmt = select(leases).where(leases.c.name == self.name)
                if conn.dialect.name in ("postgresql", "mysql", "mariadb"):
                    stmt = stmt.with_for_update()
                row = conn.execute(stmt).first()
                values = {"owner": self.owner, "expires_ms": now + self.ttl_ms}
                if row is None:
                    conn.execute(leases.insert().values(name=self.name, acquired_ms=now, **values))
                elif not self._takeable(row, now):
                    self._renewed_ms = None
                    return False
                elif row.owner == self.owner:
                    conn.execute(update(leases).where(leases.c.name == self.name).values(**values))
                else:
                    conn.execute(
                        update(leases).where(leases.c.name == self.name).values(acquired_ms=now, **values)
                    )
                    _log.info("Lease %s taken over from %s", self.name, row.owner)
        except IntegrityError:
            # Another process inserted the row first: it leads.
            self._renewed_ms = None
            return False
        except (SQLAlchemyError, GovernanceError) as exc:
            _log.warning("Lease %s: database error: %s", self.name, exc)
            self._renewed_ms = None
            return False
        self._renewed_ms = now
        return True

    def confirm(self, conn: Connection) -> bool:
        """Renew the lease inside the caller's transaction; False when it is no longer ours.

        Work done under the lease commits in the same transaction only while this holds, so a
        holder that stalled past its lease cannot overwrite its successor's work.
        """
        now = self._now()
        renewed = conn.execute(
            update(leases)
            .where(leases.c.name == self.name, leases.c.owner == self.owner, leases.c.expires_ms > now)
            .values(expires_ms=now + self.ttl_ms)
        ).rowcount
        self._renewed_ms = now if renewed else None
        return bool(renewed)

    def held(self) -> bool:
        """Whether this holder still leads, renewing when a third of the lease has passed."""
        if self._renewed_ms is None:
            return False
        if self._now() - self._renewed_ms < self.ttl_ms / 3:
            return True
        return self.acquire()

    def release(self) -> None:
        """Give the lease up (a clean shutdown), so another process can lead at once."""
        if self._renewed_ms is None:
            return
        self._renewed_ms = None
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    update(leases)
                    .where(leases.c.name == self.name, leases.c.owner == self.owner)
                    .values(expires_ms=0)
                )
        except (SQLAlchemyError, GovernanceError) as exc:
            _log.warning("Lease %s: could not release: %s", self.name, exc)
