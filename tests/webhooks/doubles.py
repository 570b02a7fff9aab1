"""The dispatcher's two seams for unit tests: a clock tests move, and a transport that answers
from a script (recording what it was asked to send)."""

from __future__ import annotations

import threading
from typing import Callable

from mlflow_registry_ext.webhooks.transport import Response, TransportError


class FakeClock:
    """Time that only moves when a test says so."""

    def __init__(self, start_ms: int = 1_800_000_000_000):
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)

    def __call__(self) -> int:
        return self.ms


class ScriptedTransport:
    """Answers each request with ``answer(url, body, headers)``: a status code, a
    :class:`Response`, or an exception instance to raise."""

    def __init__(self, answer: int | Callable = 200):
        self.answer = answer
        self.sent: list[tuple[str, bytes, dict]] = []
        self._lock = threading.Lock()

    def send(self, url, body, headers):
        with self._lock:
            self.sent.append((url, body, dict(headers)))
        result = self.answer(url, body, headers) if callable(self.answer) else self.answer
        if isinstance(result, BaseException):
            raise result
        if isinstance(result, Response):
            return result
        return Response(status_code=result, retry_after=None, body_excerpt="", latency_ms=1)


def refused(url, body, headers):
    return TransportError("connection refused", kind="connection", latency_ms=1)
