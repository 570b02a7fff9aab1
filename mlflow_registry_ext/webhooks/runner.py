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

from mlflow_registry_ext.webhooks.dispatcher import Dispatcher
from mlflow_registry_ext.db.lease import Lease
from mlflow_registry_ext.periodic import BackgroundThread

__all__ = ["BackgroundDispatcher", "SERVER_LEASE"]

_log = logging.getLogger(__name__)

#: The lease the server's dispatcher threads compete for.
SERVER_LEASE = "server-dispatcher"


class BackgroundDispatcher(BackgroundThread):
    """Runs ``dispatcher`` on a daemon thread until :meth:`stop`.

    :meth:`stop` lets in-flight requests finish (waiting up to 30 s) and gives the lease up.

    Args:
        dispatcher: What to run.
        lease: When given, dispatch only while holding it; otherwise always.
    """

    stop_timeout = 30.0

    def __init__(self, dispatcher: Dispatcher, lease: Lease | None = None):
        super().__init__("webhook-dispatcher")
        self.dispatcher = dispatcher
        self.lease = lease

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
