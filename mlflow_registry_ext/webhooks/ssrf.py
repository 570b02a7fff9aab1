"""Keep webhook deliveries away from internal networks (server-side request forgery).

Two checks, because DNS may answer differently each time it is asked (DNS rebinding):

* :func:`check_url` when a subscription is created or its URL changed: the scheme is http(s),
  the host is a name or a canonical IP literal, and every address it resolves to is public.
* :class:`GuardedPoolManager` when the transport connects: the peer address of the socket
  actually connected must be public, checked before any byte is sent.

Refused: loopback, private (RFC 1918, ULA), link-local (``169.254.169.254``, ``fe80::/10``),
shared (``100.64/10``), multicast, reserved, unspecified, documentation ranges, and the IPv6
forms that embed one of them (``::ffff:127.0.0.1``, ``::127.0.0.1``, 6to4 ``2002::/16``,
Teredo, NAT64 ``64:ff9b::/96``). ``MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE=true`` turns both
checks off (tests, on-premises targets).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from typing import Callable

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager
from mlflow_registry_ext import settings

__all__ = [
    "ALLOW_PRIVATE_ENV",
    "BlockedAddress",
    "private_allowed",
    "is_public_address",
    "check_url",
    "check_peer",
    "GuardedPoolManager",
]

ALLOW_PRIVATE_ENV = settings.WEBHOOK_ALLOW_PRIVATE.name
_TRUE = frozenset({"1", "true", "yes", "on"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(ValueError):
    """A webhook URL or connection leads to an address that is not public."""


def private_allowed() -> bool:
    """Whether ``MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE`` allows non-public targets."""
    return settings.WEBHOOK_ALLOW_PRIVATE.get()


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    packed = ip.packed
    # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks); not :: or ::1.
    if packed[:12] == bytes(12) and int(ip) > 1:
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public_address(ip: Address | str) -> bool:
    """Whether ``ip`` is a globally routable unicast address, looking inside IPv6 wrappers.

    Example:
        >>> is_public_address("::ffff:169.254.169.254"), is_public_address("93.184.216.34")
        (False, True)
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public_address(inner)
    return address.is_global and not address.is_multicast and not address.is_reserved


def _is_ip_like(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit() or host.lower().startswith("0x")


def _literal(host: str) -> Address | None:
    if not _is_ip_like(host):
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        # "127.1", "0177.0.0.1", "2130706433", "0x7f.1": the resolver maps these to addresses
        # other validators parse differently, so refuse them outright.
        raise BlockedAddress(f"Webhook host {host!r} is not a canonical IP address") from None


def check_url(
    url: str,
    *,
    resolve: Callable[[str], list[str]] | None = None,
) -> str:
    """Validate a webhook URL; returns it stripped.

    Args:
        url: The target URL.
        resolve: Host name -> addresses (default: the system resolver), for tests.

    Raises:
        ValueError: for a malformed URL (not http/https, no host).
        BlockedAddress: when the host is, or resolves to, a non-public address (unless
            ``MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE`` is set), or cannot be resolved.
    """
    value = (url or "").strip()
    try:
        parsed = urllib.parse.urlsplit(value)
        parsed.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ValueError(f"Malformed webhook URL {value!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"Webhook URL must be http or https, got {value!r}")
    host = parsed.hostname
    if not host:
        raise ValueError(f"Webhook URL has no host: {value!r}")
    if len(value) > 2000:
        raise ValueError("Webhook URL is longer than 2000 characters")
    if private_allowed():
        return value
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = (resolve or _resolve)(host)
        except OSError as exc:
            raise BlockedAddress(f"Cannot resolve webhook host {host!r}: {exc}") from None
        if not addresses:
            raise BlockedAddress(f"Webhook host {host!r} resolves to no address")
    for address in addresses:
        if not is_public_address(address.split("%", 1)[0]):
            raise BlockedAddress(
                f"Webhook host {host!r} resolves to {address}, which is not a public address "
                f"(set {ALLOW_PRIVATE_ENV}=true to allow private targets)"
            )
    return value


def _resolve(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def check_peer(sock: socket.socket) -> None:
    """Refuse a connected socket whose peer is not public; closes it when refusing."""
    if private_allowed():
        return
    try:
        peer = sock.getpeername()[0]
        public = is_public_address(str(peer).split("%", 1)[0])
    except (OSError, ValueError) as exc:
        sock.close()
        raise BlockedAddress(f"Cannot check the webhook connection's peer: {exc}") from None
    if not public:
        sock.close()
        raise BlockedAddress(
            f"Webhook connection to {peer} refused: not a public address "
            f"(set {ALLOW_PRIVATE_ENV}=true to allow private targets)"
        )


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        check_peer(sock)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        # The raw TCP socket, before the TLS handshake: checked before any byte goes out.
        sock = super()._new_conn()
        check_peer(sock)
        return sock


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedPoolManager(PoolManager):
    """A urllib3 pool manager whose connections check their peer address when they connect.

    It reads no proxy settings: through a proxy the checked peer would be the proxy, not the
    receiver.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pool_classes_by_scheme = {"http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}
