"""Coded errors raised by mlflow-registry-ext.

Every error is an :class:`mlflow.exceptions.MlflowException`, so MLflow's REST layer turns it into
its usual JSON body (``{"error_code": ..., "message": ...}``) with the right HTTP status, and the
CLI maps it to an exit code.

The tree::

    MlflowException
    └── GovernanceError                      INTERNAL_ERROR            500   exit 1
        ├── InvalidInput                     INVALID_PARAMETER_VALUE   400   exit 2
        │   └── PolicyInvalid                INVALID_PARAMETER_VALUE   400   exit 2
        ├── NotFound                         RESOURCE_DOES_NOT_EXIST   404   exit 2
        ├── AlreadyExists                    RESOURCE_ALREADY_EXISTS   400   exit 2
        ├── PermissionDenied                 PERMISSION_DENIED         403   exit 3
        │   └── PolicyViolation              PERMISSION_DENIED         403   exit 3
        ├── Unauthenticated                  UNAUTHENTICATED           401   exit 3
        ├── StorageUnavailable               TEMPORARILY_UNAVAILABLE   503   exit 2
        │   └── ServerUnreachable            TEMPORARILY_UNAVAILABLE   503   exit 4
        │                                    (the CLI or client cannot reach the server)
        └── CheckFailed                      INVALID_STATE             500   exit 1
            ├── AuditChainBroken             (a check found tampering)
            └── IntegrityError               RESOURCE_CONFLICT         409   exit 1
                                             (stored bytes do not match their hash; not a
                                             5xx, which MLflow's HTTP client would retry)

``CheckFailed`` is only raised by explicit checks (``audit verify``, ``artifacts verify``, a
download that does not match its hash); it never answers a user's mistake.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    INVALID_STATE,
    PERMISSION_DENIED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_CONFLICT,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
    UNAUTHENTICATED,
)

__all__ = [
    "GovernanceError",
    "InvalidInput",
    "PolicyInvalid",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "PolicyViolation",
    "Unauthenticated",
    "StorageUnavailable",
    "ServerUnreachable",
    "CheckFailed",
    "AuditChainBroken",
    "IntegrityError",
    "exit_code_for",
    "missing_as_not_found",
    "causes",
]


class GovernanceError(MlflowException):
    """Base class of every error this package raises."""

    error_code = INTERNAL_ERROR
    exit_code = 1

    def __init__(self, message: str, **kwargs):
        super().__init__(message, error_code=self.error_code, **kwargs)


class InvalidInput(GovernanceError):
    """The caller passed a value that cannot be used."""

    error_code = INVALID_PARAMETER_VALUE
    exit_code = 2


class PolicyInvalid(InvalidInput):
    """The policy file is malformed; the message names the line and the reason."""


class NotFound(GovernanceError):
    """The named approval request, webhook, delivery, model or version does not exist."""

    error_code = RESOURCE_DOES_NOT_EXIST
    exit_code = 2


class AlreadyExists(GovernanceError):
    """A resource with the same identity already exists."""

    error_code = RESOURCE_ALREADY_EXISTS
    exit_code = 2


class PermissionDenied(GovernanceError):
    """The actor may not do this (not an eligible reviewer, not an admin, ...)."""

    error_code = PERMISSION_DENIED
    exit_code = 3


class PolicyViolation(PermissionDenied):
    """The policy refuses the change; the message names what is missing."""


class Unauthenticated(GovernanceError):
    """The request carries no authenticated identity where one is needed."""

    error_code = UNAUTHENTICATED
    exit_code = 3


class StorageUnavailable(GovernanceError):
    """The governance database cannot be reached."""

    error_code = TEMPORARILY_UNAVAILABLE
    exit_code = 2


class ServerUnreachable(StorageUnavailable):
    """The MLflow server of a tracking URI does not answer (refused, unknown host, timed out).

    Attributes:
        uri: The server's URI, named in the message.
    """

    exit_code = 4

    def __init__(self, uri: str, reason: str):
        super().__init__(f"Cannot reach the server at {uri} ({reason}): is it running, and is the URI right?")
        self.uri = uri


class CheckFailed(GovernanceError):
    """An explicit integrity check found a problem."""

    error_code = INVALID_STATE
    exit_code = 1


class AuditChainBroken(CheckFailed):
    """``audit verify`` found an edited, deleted, inserted or reordered entry."""


class IntegrityError(CheckFailed):
    """Stored bytes do not match the hash they were stored under."""

    error_code = RESOURCE_CONFLICT


@contextlib.contextmanager
def missing_as_not_found(message: str) -> Iterator[None]:
    """Re-raise MLflow's ``RESOURCE_DOES_NOT_EXIST`` inside the block as ``NotFound(message)``.

    Any other error goes through unchanged.

    Example:
        >>> with missing_as_not_found("Model version m 3 does not exist"):
        ...     store.get_model_version("m", "3")
        Traceback (most recent call last):
        mlflow_registry_ext.errors.NotFound: Model version m 3 does not exist
    """
    try:
        yield
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFound(message) from None
        raise


_EXIT_BY_CODE = {
    "INVALID_PARAMETER_VALUE": 2,
    "BAD_REQUEST": 2,
    "RESOURCE_DOES_NOT_EXIST": 2,
    "RESOURCE_ALREADY_EXISTS": 2,
    "ENDPOINT_NOT_FOUND": 2,
    "TEMPORARILY_UNAVAILABLE": 2,
    "PERMISSION_DENIED": 3,
    "UNAUTHENTICATED": 3,
}


def exit_code_for(exc: BaseException) -> int:
    """The CLI exit code for an error: 1 check failed, 2 input/not found, 3 refused, 4 the server
    cannot be reached."""
    if isinstance(exc, GovernanceError):
        return exc.exit_code
    if isinstance(exc, MlflowException):
        return _EXIT_BY_CODE.get(exc.error_code, 1)
    return 1


def causes(exc: BaseException, *, held: bool = False) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or during (``__cause__``, else ``__context__``), each
    once; with ``held``, also the exceptions each holds in its ``args`` or ``reason`` (where
    ``requests`` and ``urllib3`` keep the failure they wrap), depth first."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        after = current.__cause__ or current.__context__
        if after is not None:
            stack.append(after)
        if held:
            inner = [*getattr(current, "args", ()), getattr(current, "reason", None)]
            stack.extend(reversed([e for e in inner if isinstance(e, BaseException)]))

