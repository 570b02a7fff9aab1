"""From a ``cas+...`` URI to its root and the tree prefix inside it.

MLflow appends paths to the artifact root it was given (``<root>/<experiment id>/<run
id>/artifacts``), so a repository URI rarely names the root itself. The root is the nearest
enclosing location that holds a ``cas.json`` marker. When there is none yet, the first write
creates it where MLflow's layout implies: the experiment's artifact location (the part before
``<run id>/artifacts``, ``models/<model id>/artifacts`` or ``traces/<trace id>/artifacts``),
or its parent when that ends in a numeric experiment id; a URI without that layout is a root
itself (``mlflow server --artifacts-destination cas+file:///data`` creates ``/data``). Roots must
not be nested.

Example:
    >>> parse_cas_uri("cas+s3://bucket/mlflow/1/abc/artifacts").segments
    ('mlflow', '1', 'abc', 'artifacts')
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
import urllib.parse

from mlflow_registry_ext.artifacts.paths import clean_path
from mlflow_registry_ext.artifacts.store import Store
from mlflow_registry_ext.errors import InvalidInput, NotFound

__all__ = ["CasLocation", "parse_cas_uri", "open_root", "store_at", "SCHEMES"]

#: The inner schemes a ``cas+`` URI may wrap.
SCHEMES = ("file", "s3")

_RUN_ID = re.compile(r"[0-9a-f]{32}\Z")
_MODEL_ID = re.compile(r"m-[0-9a-f]{32}\Z")
_TRACE_ID = re.compile(r"tr-[0-9a-f]{32}\Z")

# Roots already found on remote stores, so a repository per call does not probe every ancestor.
_known_lock = threading.Lock()
_known_roots: dict[str, set[tuple[str, ...]]] = {}


@dataclasses.dataclass(frozen=True)
class CasLocation:
    """A parsed ``cas+`` URI.

    Attributes:
        scheme: The inner scheme, ``file`` or ``s3``.
        bucket: The S3 bucket (``None`` for ``file``).
        segments: The path as clean segments (absolute for ``file``, key prefix for ``s3``).
    """

    scheme: str
    bucket: str | None
    segments: tuple[str, ...]

    def at(self, segments: tuple[str, ...]) -> "CasLocation":
        return dataclasses.replace(self, segments=segments)

    @property
    def uri(self) -> str:
        path = "/".join(self.segments)
        if self.scheme == "file":
            return f"cas+file:///{path}"
        return f"cas+s3://{self.bucket}/{path}".rstrip("/")


def parse_cas_uri(uri: str) -> CasLocation:
    """Split a ``cas+file:`` or ``cas+s3:`` URI into its parts.

    Raises:
        InvalidInput: Not a ``cas+`` URI this package serves, or its path is unsafe.

    Example:
        >>> parse_cas_uri("cas+file:///data/mlflow").segments
        ('data', 'mlflow')
    """
    if not isinstance(uri, str) or not uri.startswith("cas+"):
        raise InvalidInput(
            f"Not a content-addressed artifact URI: {uri!r} (expected cas+file: or cas+s3:)"
        )
    inner = uri[len("cas+") :]
    parsed = urllib.parse.urlparse(inner)
    if parsed.scheme not in SCHEMES:
        raise InvalidInput(
            f"Unsupported content-addressed artifact URI {uri!r}: the inner scheme must be one of "
            f"{', '.join(SCHEMES)}"
        )
    if parsed.query or parsed.fragment:
        raise InvalidInput(f"Content-addressed artifact URIs take no query or fragment: {uri!r}")
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"cas+file: URIs name a local path, not host {parsed.netloc!r}: {uri!r}")
        path = urllib.parse.unquote(parsed.path)
        path = os.path.abspath(path) if path else os.getcwd()
        segments = clean_path(path.lstrip("/"), what="root path").split("/") if path != "/" else []
        return CasLocation("file", None, tuple(s for s in segments if s))
    if not parsed.netloc:
        raise InvalidInput(f"cas+s3: URIs need a bucket, e.g. cas+s3://bucket/prefix: {uri!r}")
    key = clean_path(urllib.parse.unquote(parsed.path).lstrip("/"), what="S3 key prefix")
    return CasLocation("s3", parsed.netloc, tuple(key.split("/")) if key else ())


def store_at(location: CasLocation) -> Store:
    """The store whose root is ``location``."""
    if location.scheme == "file":
        from mlflow_registry_ext.artifacts.local_store import LocalStore

        return LocalStore("/" + "/".join(location.segments))
    from mlflow_registry_ext.artifacts.s3_store import S3Store

    return S3Store(location.bucket, "/".join(location.segments))


def _inferred_root_length(segments: tuple[str, ...]) -> int:
    """How many leading segments MLflow's layout says form the root (all, if no layout).

    MLflow puts a run's artifacts at ``<experiment location>/<run id>/artifacts`` and a logged
    model's at ``<experiment location>/models/<model id>/artifacts``. The experiment location is
    ``<default artifact root>/<experiment id>`` unless the experiment was given its own, so the
    root is the experiment location, or its parent when that ends in a numeric experiment id.
    """
    for i in range(len(segments) - 1, 0, -1):
        if segments[i] != "artifacts":
            continue
        owner = segments[i - 1]
        if _RUN_ID.match(owner):
            location = i - 1
        elif i >= 2 and (
            (_MODEL_ID.match(owner) and segments[i - 2] == "models")
            or (_TRACE_ID.match(owner) and segments[i - 2] == "traces")
        ):
            location = i - 2
        else:
            continue
        if location > 0 and segments[location - 1].isdigit():
            return location - 1
        return location
    return len(segments)


def _cache_key(location: CasLocation, store: Store) -> str | None:
    endpoint = getattr(store, "endpoint_key", None)
    return None if endpoint is None else f"{endpoint}|{location.bucket}"


def open_root(uri: str, *, create: bool) -> tuple[Store, str] | None:
    """The store of the root enclosing ``uri`` and the tree prefix of ``uri`` inside it.

    Args:
        uri: A ``cas+`` URI.
        create: Create the root if there is none (writes do; reads do not).

    Returns:
        ``(store, prefix)``, or ``None`` when no root exists and ``create`` is false.

    Example:
        >>> uri = "cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts"
        >>> store, prefix = open_root(uri, create=True)
        >>> prefix
        '1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/artifacts'
    """
    location = parse_cas_uri(uri)
    segments = location.segments
    first = store_at(location)
    key = _cache_key(location, first)
    if key is not None:
        with _known_lock:
            known = [r for r in _known_roots.get(key, ()) if segments[: len(r)] == r]
        if known:
            root = max(known, key=len)
            return store_at(location.at(root)), "/".join(segments[len(root) :])
    for n in range(len(segments), -1, -1):
        store = first if n == len(segments) else store_at(location.at(segments[:n]))
        if store.exists():
            if key is not None:
                with _known_lock:
                    _known_roots.setdefault(key, set()).add(segments[:n])
            return store, "/".join(segments[n:])
    if not create:
        return None
    n = _inferred_root_length(segments)
    store = store_at(location.at(segments[:n]))
    store.create_marker()
    return store, "/".join(segments[n:])


def require_root(uri: str) -> Store:
    """The store whose root is exactly ``uri`` (for ``artifacts gc``).

    Raises:
        NotFound: There is no ``cas.json`` at ``uri``.
    """
    location = parse_cas_uri(uri)
    store = store_at(location)
    if not store.exists():
        hint = ""
        found = open_root(uri, create=False)
        if found is not None:
            hint = f"; it lies inside the root {found[0].uri}"
        raise NotFound(f"No content-addressed root at {location.uri} (no cas.json there{hint})")
    return store
