"""Jobs the server runs every so often, in one process of the deployment at a time.

Each server process starts one thread per job; the threads compete for the job's lease (the
lease table the webhook dispatcher uses), and only the holder runs the job's step, then again
every ``interval`` seconds while it keeps the lease, renewing it meanwhile; a stopped thread
gives the lease back. A step that raises is logged and tried again after ``retry_seconds``;
it never stops the thread or the server. A step may return how many seconds to wait before the
next one, to follow a due time of its own; a job that is not ``exclusive`` runs its step in every
process, and the step takes the lease itself only when it finds something due.

The artifact check (:mod:`mlflow_registry_ext.registry.artifact_watch`), the periodic reconcile
(:mod:`mlflow_registry_ext.audit.periodic`) and the automatic checkpoints
(:mod:`mlflow_registry_ext.audit.auto_checkpoint`) are such jobs.

Example:
    >>> def check_all():
    ...     print("checking")
    >>> job = PeriodicJob(db, "server-artifact-check", 900.0, check_all, first_delay=3600)
    >>> job.start(); job.stop()
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from typing import Any, Callable

from mlflow_registry_ext.db.lease import Lease

__all__ = ["BackgroundThread", "PeriodicJob"]

_log = logging.getLogger(__name__)


class BackgroundThread(abc.ABC):
    """A daemon thread running :meth:`_main` from :meth:`start` until :meth:`stop`, which sets
    ``self._stop`` (a :class:`threading.Event` the loop waits on) and joins it."""

    #: How long :meth:`stop` waits for the thread by default.
    stop_timeout: float = 10.0

    def __init__(self, thread_name: str):
        self.thread_name = thread_name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """End the thread (at once, unless it is in the middle of a step) and wait for it up to
        ``timeout`` seconds (default :attr:`stop_timeout`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.stop_timeout if timeout is None else timeout)

    @abc.abstractmethod
    def _main(self) -> None:
        """The thread's loop: runs until ``self._stop`` is set."""


class PeriodicJob(BackgroundThread):
    """Runs ``step()`` every ``interval`` seconds under the lease ``name``.

    Args:
        db: The governance database holding the lease.
        name: The lease's name (one holder per name across all processes) and the thread's.
        interval: Seconds between two steps; with 0 or less, :meth:`start` does nothing.
        step: What to run. Its exceptions are logged; a number it returns replaces
            ``interval`` as the wait before the next step.
        lease: A lease to use instead of ``Lease(db, name, ttl_seconds=lease_ttl)``.
        lease_ttl: How long the default lease lasts without renewal.
        exclusive: Run the step only while holding the lease, renewed between steps. False runs
            it in every process: a step that needs the lease takes ``self.lease`` itself (so a
            process holds it only while the step finds something due).
        first_delay: Seconds from start to the first step (default ``interval``: a server
            starting up, and its own store's initialisation, is left alone).
        retry_seconds: The wait after a step that raised (default ``interval``).
        what: How log messages name the job (default ``Periodic job <name>``).
        log_repeats: Log every failure; False logs the first of a row of failures only.
    """

    def __init__(
        self,
        db: Any,
        name: str,
        interval: float,
        step: Callable[[], object],
        *,
        lease: Lease | None = None,
        lease_ttl: float = 10.0,
        exclusive: bool = True,
        first_delay: float | None = None,
        retry_seconds: float | None = None,
        what: str | None = None,
        log_repeats: bool = True,
    ):
        self.name = name
        self.interval = float(interval)
        self.step = step
        self.lease = lease or Lease(db, name, ttl_seconds=lease_ttl)
        self.exclusive = exclusive
        self.first_delay = self.interval if first_delay is None else float(first_delay)
        self.retry_seconds = self.interval if retry_seconds is None else float(retry_seconds)
        self.what = what or f"Periodic job {name}"
        self.log_repeats = log_repeats
        self.runs = 0
        super().__init__(name)

    def start(self) -> None:
        """Start the thread (unless ``interval`` is 0 or less); :meth:`stop` gives the lease back."""
        if self.interval > 0:
            super().start()

    def _leads(self) -> bool:
        return not self.exclusive or self.lease.held() or self.lease.acquire()

    def _main(self) -> None:
        failing = False
        if self._stop.wait(self.first_delay):
            return
        try:
            while not self._stop.is_set():
                if not self._leads():
                    self._stop.wait(self.lease.retry_seconds)
                    continue
                try:
                    wait = self.step()
                    failing = False
                except Exception as exc:  # noqa: BLE001 - the step runs again after retry_seconds
                    wait = self.retry_seconds
                    if self.log_repeats or not failing:
                        _log.error("%s failed: %s; next run in %.0f s", self.what, exc, wait, exc_info=True)
                    failing = True
                self.runs += 1
                numeric = isinstance(wait, (int, float)) and not isinstance(wait, bool)
                self._wait_holding(float(wait) if numeric else self.interval)
        finally:
            self.lease.release()  # a no-op unless held

    def _wait_holding(self, seconds: float) -> None:
        """Sleep ``seconds``, renewing the lease so no other process runs the job meanwhile."""
        deadline = time.monotonic() + seconds
        chunk = max(0.05, min(self.lease.ttl_ms / 3000, seconds)) if self.exclusive else seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(chunk, left))
            if self.exclusive:
                self.lease.held()
