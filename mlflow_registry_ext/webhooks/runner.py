"""A dispatcher on a background thread, optionally only while it holds a lease.

The server app runs one per process with the ``server-dispatcher`` lease, so a deployment has
one dispatching process however many workers it runs.

Example:
    >>> runner = BackgroundDispatcher(Dispatcher(db), lease=Lease(db, "server-dispatcher"))
    >>> runner.start()
    >>> runner.stop()
"""

from __future__ import annotations

import logging
import threading

from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.db.lease import Lease

__all__ = ["BackgroundDispatcher", "SERVER_LEASE"]

_log = logging.getLogger(__name__)

#: The lease the server's dispatcher threads compete for.
SERVER_LEASE = "server-dispatcher"


class BackgroundDispatcher:
    """Runs ``dispatcher`` on a daemon thread until :meth:`stop`.

    Args:
        dispatcher: What to run.
        lease: When given, dispatch only while holding it; otherwise always.
    """

    def __init__(self, dispatcher: Dispatcher, lease: Lease | None = None):
        self.dispatcher = dispatcher
        self.lease = lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._main, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop dispatching, finish in-flight requests, give the lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _main(self) -> None:
        backoff = 1.0
        try:
            while not self._stop.is_set():
                try:
                    if self.lease is None:
                        self.dispatcher.run(self._stop)
                    elif self.lease.acquire():
                        _log.info("Webhook dispatcher %s leads", self.dispatcher.name)
                        self.dispatcher.run(self._stop, keep_going=self.lease.held)
                    else:
                        self._stop.wait(self.lease.retry_seconds)
                    backoff = 1.0
                except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                    _log.exception("Webhook dispatcher failed; restarting in %.0f s", backoff)
                    self._stop.wait(backoff)
                    backoff = min(60.0, backoff * 2)
        finally:
            if self.lease is not None:
                self.lease.release()
