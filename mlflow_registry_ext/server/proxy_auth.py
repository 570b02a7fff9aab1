"""Identity from a trusted reverse proxy (``MLFLOW_GOVERNANCE_AUTH=proxy``).

Many teams already sign users in at a reverse proxy (OAuth2 Proxy, an SSO gateway, Apache or
nginx with their own auth) that forwards the user name in a header. In this mode the server takes
the actor of each request from that header, and only from requests whose peer address is one of
the trusted proxies: a request from anywhere else, or without the header, answers 401 with MLflow's
error JSON, so nobody can name themselves by reaching the server directly.

Configuration (environment of ``mlflow server``):

* ``MLFLOW_GOVERNANCE_PROXY_USER_HEADER``: the header's name (default ``X-Forwarded-User``);
* ``MLFLOW_GOVERNANCE_TRUSTED_PROXIES``: comma-separated addresses or networks the proxy connects
  from (default ``127.0.0.1,::1``);
* ``MLFLOW_GOVERNANCE_ADMINS``: comma-separated users who may manage webhooks and read the
  delivery log (default: nobody).

There are no per-model permissions in this mode: every authenticated user may read and change
every model, as in MLflow without its basic auth; what a user may *decide* stays the policy's call.
``/health`` and ``/version`` stay open for liveness probes.

Example:
    >>> config = ProxyConfig.from_environ({"MLFLOW_GOVERNANCE_TRUSTED_PROXIES": "10.0.0.0/8"})
    >>> config.header, config.trusts("10.1.2.3"), config.trusts("192.168.0.1")
    ('X-Forwarded-User', True, False)
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping

from mlflow_registry_ext.errors import InvalidInput, Unauthenticated
from mlflow_registry_ext import settings

__all__ = [
    "HEADER_ENV_VAR",
    "PROXIES_ENV_VAR",
    "ADMINS_ENV_VAR",
    "ProxyConfig",
    "FullPermission",
]

HEADER_ENV_VAR = settings.PROXY_USER_HEADER.name
PROXIES_ENV_VAR = settings.TRUSTED_PROXIES.name
ADMINS_ENV_VAR = settings.ADMINS.name

_DEFAULT_HEADER = "X-Forwarded-User"
_DEFAULT_PROXIES = "127.0.0.1,::1"
_OPEN_PATHS = frozenset({"/health", "/version"})
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# A user name as proxies forward it: a login or an e-mail address; no spaces, controls or commas.
_USER = re.compile(r"^[A-Za-z0-9._@+\-]{1,256}$")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@dataclass(frozen=True)
class ProxyConfig:
    """Which header names the user, which peers may send it, and who the admins are."""

    header: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    admins: frozenset[str]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ProxyConfig:
        """Read and validate the configuration.

        Raises:
            InvalidInput: A malformed header name, address or admin name (the server refuses to
                start rather than trusting the wrong peers).
        """
        header = settings.PROXY_USER_HEADER.get(environ) or _DEFAULT_HEADER
        if not _HEADER_NAME.match(header):
            raise InvalidInput(f"{HEADER_ENV_VAR} must be an HTTP header name, got {header!r}")
        if header.lower() == "authorization":
            raise InvalidInput(f"{HEADER_ENV_VAR} cannot be Authorization: name the header your proxy sets")
        networks = []
        for item in _split(settings.TRUSTED_PROXIES.raw(environ) or _DEFAULT_PROXIES):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise InvalidInput(
                    f"{PROXIES_ENV_VAR}: {item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
                ) from None
        if not networks:
            raise InvalidInput(f"{PROXIES_ENV_VAR} names no address")
        admins = _split(settings.ADMINS.raw(environ) or "")
        for admin in admins:
            if not _USER.match(admin):
                raise InvalidInput(f"{ADMINS_ENV_VAR}: {admin!r} is not a user name")
        return cls(header, tuple(networks), frozenset(admins))

    def trusts(self, address: str | None) -> bool:
        """Whether a request from ``address`` may name its user in the header."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks)  # False across IPv4/IPv6

    def user_of(self, path: str, address: str | None, headers: Mapping[str, str]) -> str | None:
        """The user of a request, ``None`` for the open paths.

        Raises:
            Unauthenticated: The request does not come from a trusted proxy, or lacks a valid
                user header.
        """
        if path in _OPEN_PATHS:
            return None
        if not self.trusts(address):
            raise Unauthenticated(
                f"Requests must come through the trusted proxy ({PROXIES_ENV_VAR}); "
                f"{address or 'an unknown address'} is not one"
            )
        user = (headers.get(self.header) or "").strip()
        if not user:
            raise Unauthenticated(f"The proxy sent no {self.header} header: the request has no user")
        if not _USER.match(user):
            raise Unauthenticated(f"The {self.header} header does not hold a valid user name")
        return user


class FullPermission:
    """MLflow's permission shape for "may do everything" (proxy mode has no per-model grants)."""

    can_read = can_update = can_delete = can_manage = True
