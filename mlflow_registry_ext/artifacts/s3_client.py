"""The boto3 client for ``cas+s3`` roots, configured the way MLflow configures its own.

It reads MLflow's variables (``MLFLOW_S3_ENDPOINT_URL``, ``MLFLOW_S3_IGNORE_TLS``,
``MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE``) and boto3's usual credentials (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, profiles, instance roles). Every request has a
connect and a read timeout and bounded retries, so no call can hang. boto3 errors become the
package's coded errors.

Example:
    >>> client = s3_client()                    # doctest: +SKIP
    >>> with s3_errors("reading", "s3://b/k"):   # doctest: +SKIP
    ...     client.head_object(Bucket="b", Key="k")
"""

from __future__ import annotations

import contextlib
import functools
import threading

from mlflow_registry_ext.errors import InvalidInput, NotFound, PermissionDenied, StorageUnavailable
from mlflow_registry_ext import settings

__all__ = ["s3_client", "s3_errors", "error_code", "CONNECT_TIMEOUT", "READ_TIMEOUT"]

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 120
_lock = threading.Lock()


def _settings() -> tuple:
    ignore_tls = settings.is_true(settings.MLFLOW.get("s3_ignore_tls"))
    return (
        settings.MLFLOW.get("s3_endpoint_url") or None,
        not ignore_tls,
        settings.MLFLOW.get("boto_addressing_style") or "auto",
        settings.AWS.get("access_key_id"),
        settings.AWS.get("secret_access_key"),
        settings.AWS.get("session_token"),
        settings.AWS.get("default_region") or settings.AWS.get("region"),
        settings.AWS.get("profile"),
    )


@functools.lru_cache(maxsize=16)
def _client(endpoint, verify, addressing, key_id, secret, token, region, profile):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise InvalidInput(
            "cas+s3 needs boto3: pip install 'mlflow-registry-ext[s3]'"
        ) from None
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"max_attempts": 5, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": addressing},
        max_pool_connections=32,
    )
    # A session per client: boto3's default session is not safe to share between threads.
    session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint,
        verify=verify,
        config=config,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=region,
    )


def s3_client():
    """A shared boto3 S3 client for the current environment settings."""
    with _lock:
        return _client(*_settings())


def error_code(exc: BaseException) -> str:
    """The S3 error code of a boto3 ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


_MISSING = {"NoSuchKey", "404", "NotFound"}


@contextlib.contextmanager
def s3_errors(action: str, where: str):
    """Turn boto3 failures while ``action`` on ``where`` into coded errors."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 missing is reported by s3_client
        yield
        return
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchBucket":
            raise NotFound(f"S3 bucket of {where} does not exist") from None
        if code in _MISSING:
            raise NotFound(f"Nothing at {where}") from None
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise PermissionDenied(f"S3 refused {action} {where}: {code}") from None
        raise StorageUnavailable(f"S3 failed {action} {where}: {code}: {exc}") from None
    except BotoCoreError as exc:
        raise StorageUnavailable(f"S3 unreachable while {action} {where}: {exc}") from None
