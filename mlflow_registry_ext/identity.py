"""Who is acting.

The server app sets the authenticated user of each request with :func:`bind_request`; outside a
request the actor is ``MLFLOW_TRACKING_USERNAME``, then the OS user. Nothing here reads a value
a client put in a request body. Every identity says how it was established (:data:`SOURCES`):
only ``authenticated`` and ``proxy`` identities may review (unless the policy says
``allow_unauthenticated_reviews: true``), since anyone can set an environment variable.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import getpass
import os
from mlflow_registry_ext import settings

__all__ = ["SOURCES", "AUTHENTICATED_SOURCES", "RequestIdentity", "bind_request", "set_request", "reset_request", "current", "current_actor"]


#: How an actor can be established, strongest first.
SOURCES = ("authenticated", "proxy", "environment", "os")
#: The sources that prove who is acting.
AUTHENTICATED_SOURCES = frozenset({"authenticated", "proxy"})


@dataclasses.dataclass(frozen=True)
class RequestIdentity:
    """The identity and origin of the current server request.

    Attributes:
        actor: Who is acting.
        request_id: The HTTP request id.
        client_addr: The client address.
        is_admin: Whether the actor is an MLflow admin.
        source: How ``actor`` was established (one of :data:`SOURCES`); what a server binds
            for a logged-in user is ``authenticated``.
    """

    actor: str
    request_id: str | None = None
    client_addr: str | None = None
    is_admin: bool = False
    source: str = "authenticated"

    @property
    def is_authenticated(self) -> bool:
        """Whether a server login or a trusted proxy established the actor."""
        return self.source in AUTHENTICATED_SOURCES


_request: contextvars.ContextVar[RequestIdentity | None] = contextvars.ContextVar(
    "mlflow_registry_ext_request", default=None
)


@contextlib.contextmanager
def bind_request(identity: RequestIdentity):
    """Make ``identity`` the actor of everything done inside the ``with`` block."""
    token = _request.set(identity)
    try:
        yield identity
    finally:
        _request.reset(token)


def set_request(identity: RequestIdentity | None) -> contextvars.Token:
    """Bind ``identity`` until :func:`reset_request` (for before/after-request hooks)."""
    return _request.set(identity)


def reset_request(token: contextvars.Token) -> None:
    _request.reset(token)


def current() -> RequestIdentity:
    """The identity of the current request, or the process's own identity."""
    bound = _request.get()
    if bound is not None:
        return bound
    # Read on every call: the variable may change while a process runs (notebooks, tests).
    name = settings.MLFLOW.get("username")
    if name:
        return RequestIdentity(actor=name, source="environment")
    return RequestIdentity(actor=_os_user(), source="os")


def current_actor() -> str:
    return current().actor


@functools.lru_cache(maxsize=1)
def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
