"""The HTTP transport (``mlflow_registry_ext.webhooks.transport``) against a real receiver."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlflow_registry_ext.webhooks.transport import HttpTransport, TransportError
from tests.support.servers import free_port

pytestmark = pytest.mark.usefixtures("allow_private")


def test_posts_the_exact_body_and_headers(receiver):
    result = HttpTransport().send(receiver.url, b'{"a":1}', {"webhook-id": "e1", "Content-Type": "application/json"})
    assert result.ok and result.status_code == 200 and result.body_excerpt == "ok"
    assert result.latency_ms >= 0
    got = receiver.deliveries[0]
    assert got.body == b'{"a":1}' and got.headers["webhook-id"] == "e1"


def test_reports_status_and_retry_after(receiver):
    receiver.status, receiver.retry_after = 503, "120"
    result = HttpTransport().send(receiver.url, b"{}", {})
    assert (result.ok, result.status_code, result.retry_after) == (False, 503, "120")


def test_response_body_is_capped(receiver):
    receiver.body = b"x" * 100_000
    result = HttpTransport(max_response_bytes=4096).send(receiver.url, b"{}", {})
    assert len(result.body_excerpt) == 4096


def test_a_refused_connection_is_a_transport_error():
    with pytest.raises(TransportError) as caught:
        HttpTransport(timeout=2).send(f"http://127.0.0.1:{free_port()}/", b"{}", {})
    assert caught.value.kind == "connection"


def test_a_slow_receiver_times_out(receiver):
    receiver.delay = 3
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        HttpTransport(timeout=0.5).send(receiver.url, b"{}", {})
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2.5


def test_redirects_are_not_followed(receiver):
    target = receiver.url

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = HttpTransport().send(f"http://127.0.0.1:{server.server_address[1]}/", b"{}", {})
    finally:
        server.shutdown()
        server.server_close()
    assert result.status_code == 307 and not result.ok
    assert receiver.deliveries == []


def test_a_trickling_body_is_cut_at_the_deadline():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.05)
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(TransportError, match="not read within"):
            HttpTransport(timeout=1, max_response_bytes=10_000).send(
                f"http://127.0.0.1:{listener.getsockname()[1]}/", b"{}", {}
            )
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 3


def test_a_connection_error_names_host_and_port_not_the_connection_repr():
    import urllib3

    from mlflow_registry_ext.webhooks.ssrf import _GuardedHTTPConnection
    from mlflow_registry_ext.webhooks.transport import _describe

    error = urllib3.exceptions.NewConnectionError(
        _GuardedHTTPConnection("127.0.0.1", 1), "Failed to establish a new connection: [Errno 111] Connection refused")
    assert _describe(error) == "127.0.0.1:1: Failed to establish a new connection: [Errno 111] Connection refused"
