"""The only code that sends webhook HTTP requests.

:class:`HttpTransport` posts one body and reports what happened: 15 s to connect, 15 s for the
answer to start and the capped body read within 15 s of sending; redirects not followed (a 3xx
is a failed attempt); at most :data:`MAX_RESPONSE_BYTES` of the response read; environment
proxies ignored; the peer address checked when each connection is made (:mod:`.ssrf`). Anything implementing
:class:`Transport` can replace it, which is how tests drive the dispatcher without a network.

Example:
    >>> result = HttpTransport().send("https://ci.example.com/hook", b"{}", {"webhook-id": "e1"})  # doctest: +SKIP
    >>> result.status_code, result.latency_ms   # doctest: +SKIP
    (200, 12)
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Mapping, Protocol

import urllib3

from mlflow_registry_ext.errors import causes
from mlflow_registry_ext.webhooks.ssrf import BlockedAddress, GuardedPoolManager

__all__ = [
    "TIMEOUT_SECONDS",
    "MAX_RESPONSE_BYTES",
    "Response",
    "TransportError",
    "Transport",
    "HttpTransport",
]

TIMEOUT_SECONDS = 15.0
MAX_RESPONSE_BYTES = 4096
_USER_AGENT = "mlflow-registry-ext-webhooks"


@dataclasses.dataclass(frozen=True)
class Response:
    """What the receiver answered.

    Attributes:
        status_code: The HTTP status.
        retry_after: The ``Retry-After`` header, if any.
        body_excerpt: The start of the response body (at most ``MAX_RESPONSE_BYTES``), decoded.
        latency_ms: Time from sending to the end of reading.
    """

    status_code: int
    retry_after: str | None
    body_excerpt: str
    latency_ms: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


class TransportError(Exception):
    """The request got no HTTP answer (refused, timed out, blocked, reset).

    Attributes:
        kind: ``blocked``, ``timeout``, ``connection`` or ``error``.
        latency_ms: Time spent before it failed.
    """

    def __init__(self, message: str, *, kind: str = "error", latency_ms: int = 0):
        super().__init__(message)
        self.kind = kind
        self.latency_ms = latency_ms


class Transport(Protocol):
    """Sends one webhook request; raises :class:`TransportError` when there is no answer."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response: ...


class HttpTransport:
    """The real transport: urllib3 with SSRF-guarded connections and strict limits.

    Args:
        timeout: Seconds allowed for connecting, for the answer to start, and for reading it.
        max_response_bytes: How much of a response body is read.
        pool_size: Connections kept per host (match the dispatcher's per-subscription limit).
    """

    def __init__(
        self,
        timeout: float = TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 16,
    ):
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        # A pool manager, not requests: it never reads proxy settings from the environment
        # (through a proxy the checked peer would be the proxy) and costs a third of the CPU.
        self._pool = GuardedPoolManager(
            num_pools=64,
            maxsize=pool_size,
            block=False,
            ca_certs=_ca_bundle(),
            headers={"User-Agent": _USER_AGENT},
        )

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        started = time.monotonic()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            response = self._pool.request(
                "POST",
                url,
                body=body,
                headers={"User-Agent": _USER_AGENT, **headers},
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                redirect=False,
                retries=False,
                preload_content=False,
            )
        except BlockedAddress as exc:
            raise TransportError(str(exc), kind="blocked", latency_ms=elapsed_ms()) from None
        except urllib3.exceptions.HTTPError as exc:
            blocked = _blocked_cause(exc)
            if blocked is not None:
                raise TransportError(str(blocked), kind="blocked", latency_ms=elapsed_ms()) from None
            timed_out = isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
                exc, urllib3.exceptions.NewConnectionError
            )
            kind = "timeout" if timed_out else "connection"
            raise TransportError(_describe(exc), kind=kind, latency_ms=elapsed_ms()) from None
        except (OSError, ValueError) as exc:
            raise TransportError(_describe(exc), kind="error", latency_ms=elapsed_ms()) from None
        try:
            excerpt = self._read_capped(response, started)
        except TransportError as exc:
            exc.latency_ms = elapsed_ms()
            raise
        finally:
            response.release_conn()
        return Response(
            status_code=response.status,
            retry_after=response.headers.get("Retry-After"),
            body_excerpt=excerpt,
            latency_ms=elapsed_ms(),
        )

    def _read_capped(self, response: urllib3.BaseHTTPResponse, started: float) -> str:
        # read1 returns whatever has arrived, so a receiver trickling bytes cannot hold us past
        # the deadline (urllib3 < 2 lacks it; small plain reads bound the wait there).
        read = getattr(response, "read1", None) or response.read
        chunks: list[bytes] = []
        size = 0
        try:
            while size < self.max_response_bytes:
                if time.monotonic() - started > self.timeout:
                    raise TransportError(f"Response not read within {self.timeout:g} s", kind="timeout")
                chunk = read(min(1024, self.max_response_bytes - size), decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (OSError, urllib3.exceptions.HTTPError):
            pass  # the status line arrived; a broken body still counts as an answer
        if size >= self.max_response_bytes or response.length_remaining:
            response.close()  # unread bytes would poison a kept-alive connection
        return b"".join(chunks)[: self.max_response_bytes].decode("utf-8", errors="replace")

    def close(self) -> None:
        self._pool.clear()


def _ca_bundle() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def _blocked_cause(exc: BaseException) -> BlockedAddress | None:
    return next((e for e in causes(exc, held=True) if isinstance(e, BlockedAddress)), None)


# urllib3 starts connection errors with the connection object's repr, e.g.
# "_GuardedHTTPConnection(host='h', port=1): ..."; an operator reads "h:1: ..." more easily.
_CONNECTION_REPR = re.compile(r"\b_?\w*HTTPS?Connection(?:Pool)?\(host='([^']*)', port=(\d+)\)")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    text = _CONNECTION_REPR.sub(lambda m: f"{m.group(1)}:{m.group(2)}", text)
    return " ".join(text.split())[:500]
