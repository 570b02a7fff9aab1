"""A job the server runs every so often, in one process of the deployment at a time.

Each server process starts one thread per job; the threads compete for the job's lease (the
lease table the webhook dispatcher uses), and only the holder runs the job: first one interval
after the thread starts, then every ``interval`` seconds while it keeps the lease. A job that fails is logged and tried again
at the next interval; it never stops the thread or the server.

Example:
    >>> job = PeriodicJob(db, "server-artifact-check", 900.0, check_all)   # doctest: +SKIP
    >>> job.start(); job.stop()                                             # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.webhooks.leader import Lease

__all__ = ["PeriodicJob"]

_log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs ``job()`` every ``interval`` seconds under the lease ``name``.

    Args:
        db: The governance database holding the lease.
        name: The lease's name; one holder per name across all processes.
        interval: Seconds between two runs (> 0).
        job: What to run; its exceptions are logged.
        lease: A lease to use instead of a new one (tests).
    """

    def __init__(self, db: GovernanceDatabase, name: str, interval: float, job: Callable[[], object],
                 *, lease: Lease | None = None):
        self.name = name
        self.interval = float(interval)
        self.job = job
        self.lease = lease or Lease(db, name)
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        # The first run is one interval after start: a server starting up (and its own store's
        # initialisation) is left alone, and a short-lived process never runs the job at all.
        if self._stop.wait(self.interval):
            return
        try:
            while not self._stop.is_set():
                if not self.lease.acquire():
                    self._stop.wait(self.lease.retry_seconds)
                    continue
                try:
                    self.job()
                except Exception:  # noqa: BLE001 - the job runs again at the next interval
                    _log.exception("Periodic job %s failed; next run in %.0f s", self.name, self.interval)
                self.runs += 1
                self._wait_holding()
        finally:
            self.lease.release()

    def _wait_holding(self) -> None:
        """Sleep one interval, renewing the lease so no other process runs the job meanwhile."""
        deadline = time.monotonic() + self.interval
        step = max(0.05, min(self.lease.ttl_ms / 3000, self.interval))
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(step, left))
            self.lease.held()
