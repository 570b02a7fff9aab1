"""A real HTTP webhook receiver on 127.0.0.1 that verifies every request like a user's would.

It runs in a thread of the test process, checks each delivery with the stock
``standardwebhooks`` verifier (or MLflow's native headers with the same library), records it,
and answers as told: a status, a delay, a ``Retry-After``. It can be taken down and brought back
on the same port, to simulate an outage.

Example:
    >>> with Receiver(secret) as receiver:
    ...     ...  # subscribe receiver.url
    ...     receiver.wait_for(lambda r: len(r.event_ids()) >= 5)
    >>> assert all(d.verified for d in receiver.deliveries)
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["Receiver", "ReceivedDelivery"]


class _Listener(ThreadingHTTPServer):
    # Several dispatchers open connections at once; with the stock backlog of 5 a connection can
    # be dropped while the accepting thread waits for a CPU on a loaded machine, and the sender
    # then counts a failed attempt and retries.
    request_queue_size = 128


@dataclasses.dataclass
class ReceivedDelivery:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None
    received_at: float
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id") or self.headers.get("x-mlflow-delivery-id")


class Receiver:
    """A webhook receiver.

    Args:
        secret: The secret(s) to verify with; ``None`` records without verifying.
        scheme: ``standard`` or ``mlflow`` headers.
        port: Port to listen on (0: any free port; kept across :meth:`down`/:meth:`up`).
    """

    def __init__(self, secret: str | list[str] | None = None, *, scheme: str = "standard", port: int = 0):
        self.secrets = [secret] if isinstance(secret, str) else list(secret or [])
        self.scheme = scheme
        self.port = port
        self.status = 200
        self.delay = 0.0
        self.retry_after: str | None = None
        self.body = b"ok"
        self.responder: Callable[[ReceivedDelivery], int] | None = None
        self.deliveries: list[ReceivedDelivery] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def up(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment, sent at once: a stock http.server writes them
            # separately and Nagle's algorithm then holds the body back for ~40 ms.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *_args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._handle(self.path, headers, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    if receiver.retry_after is not None:
                        self.send_header("Retry-After", receiver.retry_after)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(receiver.body)))
                    self.end_headers()
                    self.wfile.write(receiver.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender stopped reading (capped body, timeout): expected

        self._server = _Listener(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def down(self) -> None:
        """Stop listening: connections are refused until :meth:`up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()

    # -- requests ------------------------------------------------------------------------------

    def _verify(self, headers: dict[str, str], body: bytes) -> str | None:
        if not self.secrets:
            return None
        if self.scheme == "mlflow":
            names = ("x-mlflow-delivery-id", "x-mlflow-timestamp", "x-mlflow-signature")
            if not all(n in headers for n in names):
                return "missing X-MLflow headers"
            std = dict(zip(("webhook-id", "webhook-timestamp", "webhook-signature"), (headers[n] for n in names)))
        else:
            std = headers
        error = "no secret matched"
        for secret in self.secrets:
            key = secret.encode() if self.scheme == "mlflow" else secret
            try:
                Webhook(key).verify(body, std)
                return None
            except WebhookVerificationError as exc:
                error = str(exc)
        return error

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        error = self._verify(headers, body)
        delivery = ReceivedDelivery(
            path=path,
            headers=headers,
            body=body,
            verified=error is None and bool(self.secrets),
            error=error,
            received_at=time.time(),
            status=self.status,
        )
        if self.responder is not None:
            delivery.status = self.responder(delivery)
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        return delivery.status

    # -- assertions ----------------------------------------------------------------------------

    def event_ids(self, *, accepted_only: bool = True) -> set[str]:
        """Ids of the events received (by default only those answered with 2xx)."""
        with self._lock:
            return {
                d.webhook_id
                for d in self.deliveries
                if d.webhook_id and (not accepted_only or 200 <= d.status < 300)
            }

    def wait_for(self, condition: Callable[[Receiver], bool], timeout: float = 30.0) -> bool:
        """Wait until ``condition(self)`` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if condition(self):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.25))
