"""What a content-addressed root offers, whatever holds it (a local directory, an S3 prefix).

A root holds three things::

    cas.json                         marks the root; its format version
    blobs/sha256/<2 hex>/<64 hex>    file contents, stored once, never overwritten
    trees/<artifact path>            one ref per artifact file (JSON: sha256, size)
    tmp/                             uploads (and, locally, snapshot trees) in flight

Blob writes are atomic (a temporary name, then a link or a conditional put), so a crash never
leaves half a blob under its final name. Refs are small and replaced atomically.

Example:
    >>> import os
    >>> from mlflow_registry_ext.artifacts.local_store import LocalStore
    >>> with open(os.path.join(tmp_dir, "weights.bin"), "wb") as f:
    ...     _ = f.write(b"\\0" * 1024)
    >>> store = LocalStore(os.path.join(tmp_dir, "cas"))
    >>> store.put_file(os.path.join(tmp_dir, "weights.bin")).created
    True
"""

from __future__ import annotations

import abc
import datetime as _dt
import json
import os
from typing import BinaryIO, Iterator

from mlflow_registry_ext.artifacts.blobs import BlobInfo, PutResult
from mlflow_registry_ext.artifacts.filecache import FILE_HASHES
from mlflow_registry_ext.artifacts.hashing import HashResult
from mlflow_registry_ext.errors import InvalidInput, NotFound

__all__ = ["Store", "MARKER_NAME", "FORMAT_VERSION", "SMALL_FILE", "marker_bytes", "check_marker"]

MARKER_NAME = "cas.json"
FORMAT_VERSION = 1
_FORMAT_NAME = "mlflow-registry-ext/cas"

#: Files up to this size are read into memory and hashed before anything is written, so an
#: existing blob is recognised without writing a byte.
SMALL_FILE = 8 * 1024 * 1024


def marker_bytes() -> bytes:
    """The content of a new root's ``cas.json``."""
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    body = {"format": _FORMAT_NAME, "version": FORMAT_VERSION, "hash": "sha256", "created": created}
    return json.dumps(body, indent=2).encode() + b"\n"


def check_marker(data: bytes, where: str) -> None:
    """Refuse a ``cas.json`` this version cannot read."""
    try:
        obj = json.loads(data)
        fmt, version = obj.get("format"), obj.get("version")
    except (ValueError, AttributeError):
        raise InvalidInput(f"{where} is not a content-addressed root marker") from None
    if fmt != _FORMAT_NAME or not isinstance(version, int):
        raise InvalidInput(f"{where} is not a content-addressed root marker")
    if version > FORMAT_VERSION:
        raise InvalidInput(
            f"{where} uses format version {version}; this mlflow-registry-ext reads up to "
            f"{FORMAT_VERSION}: upgrade it"
        )


class Store(abc.ABC):
    """One content-addressed root. Paths are clean relative POSIX paths (see ``paths.py``)."""

    #: The root's URI, e.g. ``cas+file:///data/mlflow`` or ``cas+s3://bucket/prefix``.
    uri: str

    # -- the root marker ---------------------------------------------------------------------

    @abc.abstractmethod
    def read_marker(self) -> bytes | None:
        """The root's ``cas.json``, or ``None`` if there is none."""

    @abc.abstractmethod
    def create_marker(self) -> None:
        """Create ``cas.json`` unless it exists (never replaces it)."""

    def exists(self) -> bool:
        """Whether this root has been created; a damaged or newer marker raises."""
        data = self.read_marker()
        if data is None:
            return False
        check_marker(data, f"{self.uri}/{MARKER_NAME}")
        return True

    # -- refs (the tree) ---------------------------------------------------------------------

    @abc.abstractmethod
    def read_ref(self, path: str) -> bytes | None:
        """The ref stored at ``path``, or ``None`` if no file is there."""

    @abc.abstractmethod
    def read_refs(self, paths: list[str]) -> list[bytes | None]:
        """Several refs at once (in parallel where that helps)."""

    @abc.abstractmethod
    def write_ref(self, path: str, data: bytes) -> None:
        """Store a ref at ``path``, replacing one that is there, atomically."""

    def read_tree(self, path: str) -> list[tuple[str, bytes]]:
        """Every ref under the directory ``path``, any depth: ``(path from the root, ref)``,
        sorted by path (empty if there is no such directory)."""
        paths = list(self.walk_files(path))
        return [(p, d) for p, d in zip(paths, self.read_refs(paths)) if d is not None]

    def write_tree(self, path: str, refs: list[tuple[str, bytes]]) -> bool:
        """Create the directory ``path`` holding ``refs`` (``(path relative to it, ref)``).

        Returns ``False``, writing nothing, when ``path`` exists already. Stores that can
        (a local directory) publish the whole tree at once, so no reader ever sees part of it;
        the others write one ref after another.
        """
        if self.is_dir(path):
            return False
        for rel, data in refs:
            self.write_ref(f"{path}/{rel}" if path else rel, data)
        return True

    @abc.abstractmethod
    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory of the tree (the root ``""`` always is)."""

    @abc.abstractmethod
    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        """The file names and sub-directory names directly under ``path`` (empty if none)."""

    @abc.abstractmethod
    def walk_files(self, path: str) -> Iterator[str]:
        """Every file path (from the root) under the directory ``path``, any depth."""

    @abc.abstractmethod
    def walk_empty_dirs(self, path: str) -> Iterator[str]:
        """Every empty directory under ``path`` (stores without directories yield nothing)."""

    @abc.abstractmethod
    def make_dirs(self, path: str) -> None:
        """Create an (empty) directory of the tree, where the store has directories."""

    @abc.abstractmethod
    def delete_refs(self, path: str) -> None:
        """Delete the ref at ``path``, or everything under the directory ``path``."""

    # -- blobs -------------------------------------------------------------------------------

    @abc.abstractmethod
    def blob_info(self, sha256: str) -> BlobInfo | None:
        """The stored blob, or ``None``."""

    def put_file(self, local_path: str) -> PutResult:
        """Store a local file's bytes as a blob (nothing new if it exists).

        A file this process already hashed, unchanged since, is not read again (see
        ``filecache.py``).
        """
        seen_at = FILE_HASHES.now()
        try:
            before = os.stat(local_path)
        except FileNotFoundError:
            raise NotFound(f"No such file to log: '{local_path}'") from None
        known = FILE_HASHES.lookup(before)
        if known is not None and self.reuse(known):
            return PutResult(known.sha256, known.size, created=False)
        if before.st_size <= SMALL_FILE:
            with open(local_path, "rb") as f:
                result = self.put_bytes(f.read())
        else:
            result = self.put_large_file(local_path)
        try:
            after = os.stat(local_path)
        except OSError:
            return result  # gone already: nothing to remember
        FILE_HASHES.remember(before, seen_at, after, HashResult(result.sha256, result.size))
        return result

    @abc.abstractmethod
    def reuse(self, digest: HashResult) -> bool:
        """Whether a good blob ``digest`` names exists; if so it is touched (gc grace restarts)."""

    @abc.abstractmethod
    def put_bytes(self, data: bytes) -> PutResult:
        """Store bytes already in memory as a blob (nothing new if it exists)."""

    @abc.abstractmethod
    def put_large_file(self, local_path: str) -> PutResult:
        """Store a local file larger than ``SMALL_FILE`` (see ``put_file``)."""

    @abc.abstractmethod
    def put_stream(self, stream: BinaryIO) -> PutResult:
        """Store the bytes of a stream as a blob (nothing new if it exists)."""

    @abc.abstractmethod
    def open_blob(self, sha256: str) -> BinaryIO:
        """A binary stream of the blob; raises ``IntegrityError`` if it vanished."""

    @abc.abstractmethod
    def iter_blobs(self) -> Iterator[BlobInfo]:
        """Every blob (for garbage collection)."""

    @abc.abstractmethod
    def delete_blob(self, sha256: str, *, not_touched_after: float) -> bool:
        """Delete a blob unless it was written or re-used after ``not_touched_after``."""

    @abc.abstractmethod
    def iter_stale_uploads(self, before: float) -> Iterator[tuple[str, int]]:
        """Uploads abandoned before ``before`` (a crash mid-upload): ``(name, bytes)``."""

    @abc.abstractmethod
    def remove_stale_upload(self, name: str) -> None:
        """Remove one abandoned upload found by :meth:`iter_stale_uploads`."""
