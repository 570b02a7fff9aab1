"""Who is acting.

The server app sets the authenticated user of each request with :func:`bind_request`; outside a
request the actor is ``MLFLOW_TRACKING_USERNAME``, then the OS user. Nothing here reads a value
a client put in a request body.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import getpass
import os

__all__ = ["RequestIdentity", "bind_request", "set_request", "reset_request", "current", "current_actor"]


@dataclasses.dataclass(frozen=True)
class RequestIdentity:
    """The identity and origin of the current server request."""

    actor: str
    request_id: str | None = None
    client_addr: str | None = None
    is_admin: bool = False


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
    return RequestIdentity(actor=_process_actor())


def current_actor() -> str:
    return current().actor


def _process_actor() -> str:
    # Read on every call: the variable may change while a process runs (notebooks, tests).
    name = os.environ.get("MLFLOW_TRACKING_USERNAME")
    return name or _os_user()


@functools.lru_cache(maxsize=1)
def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
