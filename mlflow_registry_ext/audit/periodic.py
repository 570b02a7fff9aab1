"""The server's periodic reconcile: every ``MLFLOW_GOVERNANCE_RECONCILE_INTERVAL`` seconds.

Each server process runs one :class:`PeriodicReconciler` thread; a run happens only in the
process holding the ``server-reconcile`` lease, and only when no run (the server's or
``audit reconcile``'s) was recorded within the interval, so a deployment reconciles once per
interval however many workers and replicas it has. The first run is due one interval after the
last recorded one (or after start, on a database never reconciled).

Example:
    >>> reconciler = PeriodicReconciler(db, store.inner.engine, interval=3600)
    >>> reconciler.start()       # a background thread; the server stops it on exit
    >>> reconciler.stop()
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mlflow_registry_ext.audit.checkpoint_tables import reconciles
from mlflow_registry_ext.audit.reconcile import ReconcileResult, reconcile_all
from mlflow_registry_ext.periodic import PeriodicJob
from mlflow_registry_ext import settings
from mlflow_registry_ext.db.lease import Lease

__all__ = ["RECONCILE_LEASE", "PeriodicReconciler"]

_log = logging.getLogger(__name__)

RECONCILE_LEASE = "server-reconcile"


class PeriodicReconciler(PeriodicJob):
    """Reconciles every workspace once per ``interval``: a :class:`~mlflow_registry_ext.periodic.PeriodicJob`
    that looks at start and then when the next run is due (at least every minute).

    Args:
        db: The governance database.
        registry_engine: An engine on MLflow's registry database.
        interval: Seconds between runs.
        lease: The lease to hold while running (default ``server-reconcile``).
        clock: Seconds since the epoch (tests control time).
        run: What a run does (default :func:`~.reconcile.reconcile_all`).
    """

    def __init__(
        self,
        db,
        registry_engine: Engine,
        interval: float = settings.RECONCILE_INTERVAL.value,
        *,
        lease: Lease | None = None,
        clock: Callable[[], float] = time.time,
        run: Callable[..., list[ReconcileResult]] = reconcile_all,
    ):
        # Not exclusive: run_once takes the lease only when a run is due.
        super().__init__(db, RECONCILE_LEASE, interval, self._step, lease=lease, lease_ttl=60.0, exclusive=False,
                         first_delay=0.0, retry_seconds=min(float(interval), 60.0), what="Periodic reconcile")
        self.db = db
        self.registry_engine = registry_engine
        self._clock = clock
        self._run = run
        self._started = clock()

    def _last_run_ms(self) -> int | None:
        with self.db.reading() as engine, engine.connect() as conn:
            return conn.execute(select(func.max(reconciles.c.ran_ms))).scalar()

    def next_due(self) -> float:
        """When the next run is due (seconds since the epoch)."""
        last = self._last_run_ms()
        base = self._started if last is None else last / 1000
        return base + self.interval

    def run_once(self) -> list[ReconcileResult] | None:
        """Run now if due and this process leads; the results, or ``None`` when it did not run."""
        if self._clock() < self.next_due() or not self.lease.acquire():
            return None
        # Checked again under the lease: another process may have just finished a run.
        if self._clock() < self.next_due():
            return None
        results = self._run(self.db, self.registry_engine, now_ms=int(self._clock() * 1000))
        for result in results:
            if not result.ok:
                _log.warning(
                    "Registry drift in workspace %s: %d difference(s) from the audit log (%d new), e.g. %s",
                    result.workspace, len(result.differences), result.new, result.differences[0].describe(),
                )
        return results

    def _step(self) -> float:
        """Run when due; the seconds until the next look."""
        wait = self.next_due() - self._clock()
        if wait <= 0:
            self.run_once()
            # The run's row moves the due time; another process's run is seen at the next look.
            wait = min(self.interval, 60.0)
        return max(0.5, min(wait, 60.0))
