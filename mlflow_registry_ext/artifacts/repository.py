"""The ``cas+file`` / ``cas+s3`` artifact repository MLflow uses for a content-addressed root.

Every MLflow artifact operation works (``log_artifact(s)``, ``list_artifacts``,
``download_artifacts``, ``delete_artifacts``, trace data, and the streaming uploads
``mlflow server --serve-artifacts`` makes). Files are stored once per content; every download
re-hashes the bytes and refuses a mismatch, leaving nothing at the destination.

Example:
    >>> import os
    >>> repo = CasArtifactRepository("cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts")
    >>> repo.log_artifacts(model_dir, "model")
    >>> os.mkdir(os.path.join(tmp_dir, "out"))
    >>> local = repo.download_artifacts("model", dst_path=os.path.join(tmp_dir, "out"))
    >>> sorted(os.listdir(local))
    ['MLmodel', 'model.pkl']
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import tempfile
import threading
from concurrent.futures import as_completed
from typing import AsyncIterable, BinaryIO

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.utils.file_utils import create_tmp_dir

from mlflow_registry_ext.artifacts.blobs import BlobRef, integrity_error, short
from mlflow_registry_ext.artifacts.file_list import digest_of
from mlflow_registry_ext.artifacts.hashing import copy_hashing, hash_bytes, read_full
from mlflow_registry_ext.artifacts.paths import (
    SNAPSHOT_PREFIX,
    clean_path,
    is_snapshot_path,
    join_paths,
    snapshot_digest,
)
from mlflow_registry_ext.artifacts.resolve import coded_os_error
from mlflow_registry_ext.artifacts.root import open_root, parse_cas_uri
from mlflow_registry_ext.artifacts.store import SMALL_FILE
from mlflow_registry_ext.artifacts.streams import ChunkPipe
from mlflow_registry_ext.artifacts.tree import Tree, TreeEntry
from mlflow_registry_ext.errors import (
    GovernanceError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

__all__ = ["CasArtifactRepository"]

try:  # MLflow >= 3.11 streams proxied uploads straight into repositories that accept streams.
    from mlflow.store.artifact.artifact_repo import StreamUploadMixin

    _STREAM_BASES: tuple[type, ...] = (StreamUploadMixin,)
except ImportError:  # older MLflow spools the upload to a file and calls log_artifact
    _STREAM_BASES = ()

_DOWNLOAD_PREFIX = ".cas-download."
_umask_lock = threading.Lock()


def _os_errors(action: str):
    """Report filesystem failures of a repository method as coded errors (not a bare 500)."""

    def wrap(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except OSError as exc:
                raise coded_os_error(exc, action, self.artifact_uri) from exc

        return guarded

    return wrap


def _default_file_mode() -> int:
    # The mode open() would give a new file, as MLflow's own repositories leave downloads.
    with _umask_lock:
        mask = os.umask(0)
        os.umask(mask)
    return 0o666 & ~mask


class CasArtifactRepository(ArtifactRepository, *_STREAM_BASES):
    """Content-addressed, verified artifact repository over a local directory or S3."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        parse_cas_uri(artifact_uri)  # refuse a malformed URI now, not at first use
        self._opened: Tree | None = None
        self._open_lock = threading.Lock()

    # -- the tree ------------------------------------------------------------------------------

    def tree(self, *, create: bool = False) -> Tree | None:
        """This repository's tree, or ``None`` if its root does not exist (and ``create`` is off)."""
        if self._opened is None:
            with self._open_lock:
                if self._opened is None:
                    found = open_root(self.artifact_uri, create=create)
                    if found is None:
                        return None
                    self._opened = Tree(*found)
        return self._opened

    def _existing_tree(self) -> Tree:
        tree = self.tree()
        if tree is None:
            raise NotFound(
                f"No content-addressed root at or above {self.artifact_uri} (no cas.json found)"
            )
        return tree

    @staticmethod
    def _writable(tree: Tree, *paths: str | None) -> Tree:
        """Refuse changes to the snapshots of pinned versions: only pinning writes there."""
        for path in paths:
            full = join_paths(tree.prefix, clean_path(path))
            if is_snapshot_path(full):
                raise PermissionDenied(
                    f"'{full}' of {tree.store.uri} is the immutable snapshot of a pinned model "
                    "version: it cannot be written or deleted"
                )
        return tree

    # -- logging -------------------------------------------------------------------------------

    @_os_errors("log to")
    def log_artifact(self, local_file, artifact_path=None):
        local_file = os.fspath(local_file)
        if os.path.isdir(local_file):
            raise InvalidInput(f"'{local_file}' is a directory: use log_artifacts for directories")
        target = join_paths(
            clean_path(artifact_path), clean_path(os.path.basename(local_file), what="file name")
        )
        tree = self._writable(self.tree(create=True), target)
        result = tree.store.put_file(local_file)
        tree.put(target, result.ref)

    @_os_errors("log to")
    def log_artifacts(self, local_dir, artifact_path=None):
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            raise NotFound(f"No such directory to log: '{local_dir}'")
        base = clean_path(artifact_path)
        files, empty_dirs = [], []
        for dirpath, dirnames, filenames in os.walk(local_dir):
            rel = os.path.relpath(dirpath, local_dir)
            rel = "" if rel == "." else rel.replace(os.sep, "/")
            if not dirnames and not filenames and rel:
                empty_dirs.append(join_paths(base, clean_path(rel)))
            for name in filenames:
                target = join_paths(base, clean_path(join_paths(rel, name), what="file name"))
                files.append((os.path.join(dirpath, name), target))
        tree = self._writable(self.tree(create=True), base, *empty_dirs, *(t for _, t in files))
        for path in empty_dirs:
            tree.make_dir(path)

        def store_one(local_path: str, target: str) -> None:
            tree.put(target, tree.store.put_file(local_path).ref)

        failures = self._run_all(store_one, {dst: (src, dst) for src, dst in files})
        _raise_failures(failures, "log", self.artifact_uri)

    @_os_errors("log to")
    def log_artifact_from_stream(
        self, stream: BinaryIO, artifact_file_name: str, artifact_path: str | None = None
    ) -> None:
        """Store a stream (MLflow's proxied upload) as the file ``artifact_path/name``."""
        target = self._stream_target(artifact_file_name, artifact_path)
        tree = self._writable(self.tree(create=True), target)
        tree.put(target, tree.store.put_stream(stream).ref)

    async def log_artifact_from_async_stream(
        self,
        chunks: AsyncIterable[bytes],
        artifact_file_name: str,
        artifact_path: str | None = None,
    ) -> None:
        """Store an async chunk stream (MLflow's FastAPI upload route) as one file."""
        target = self._stream_target(artifact_file_name, artifact_path)
        tree = self._writable(await asyncio.to_thread(self.tree, create=True), target)
        pipe = ChunkPipe()

        def consume():
            try:
                return tree.store.put_stream(pipe)
            finally:
                pipe.drain()

        worker = asyncio.ensure_future(asyncio.to_thread(consume))
        try:
            await pipe.feed(chunks)
        finally:
            try:
                result = await worker
            except OSError as exc:
                raise coded_os_error(exc, "log to", self.artifact_uri) from exc
        await asyncio.to_thread(tree.put, target, result.ref)

    @staticmethod
    def _stream_target(artifact_file_name: str, artifact_path: str | None) -> str:
        name = clean_path(os.path.basename(artifact_file_name), what="file name")
        if not name:
            raise InvalidInput(f"Invalid path: artifact file name {artifact_file_name!r}")
        return join_paths(clean_path(artifact_path), name)

    def _run_all(self, fn, jobs: dict[str, tuple]) -> dict[str, Exception]:
        """Run ``fn(*args)`` for every job on the thread pool; the failures by job name."""
        futures = {self.thread_pool.submit(fn, *args): name for name, args in jobs.items()}
        failures = {}
        for future in as_completed(futures):
            try:
                future.result()
            except OSError as exc:
                failures[futures[future]] = coded_os_error(exc, "write", futures[future])
            except Exception as exc:  # noqa: BLE001 - collected for the caller to raise
                failures[futures[future]] = exc
        return failures

    # -- reading -------------------------------------------------------------------------------

    @_os_errors("list")
    def list_artifacts(self, path=None):
        tree = self.tree()
        if tree is None:
            return []
        return tree.list(path)

    def _is_directory(self, artifact_path):
        tree = self.tree()
        return tree is not None and tree.kind(artifact_path) == "dir"

    @_os_errors("read")
    def entries(self, path: str | None = None) -> list[TreeEntry]:
        """Every file at or under ``path`` with its size and hash, read from the manifest.

        Example:
            >>> repo = CasArtifactRepository("cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts")
            >>> repo.log_artifacts(model_dir, "model")
            >>> [e.path for e in repo.entries("model")]
            ['model/MLmodel', 'model/model.pkl']
        """
        tree = self._existing_tree()
        path = clean_path(path)
        entries = tree.files(path)
        if not entries and path and tree.kind(path) is None:
            raise NotFound(f"No such artifact: '{path}' in {self.artifact_uri}")
        return entries

    @_os_errors("download from")
    def download_artifacts(self, artifact_path, dst_path=None):
        path = clean_path(artifact_path)
        if dst_path:
            dst_path = os.path.abspath(dst_path)
            if not os.path.exists(dst_path):
                raise NotFound(f"The download destination does not exist: {dst_path}")
            if not os.path.isdir(dst_path):
                raise InvalidInput(f"The download destination must be a directory: {dst_path}")
        else:
            dst_path = create_tmp_dir()
        tree = self.tree()
        if tree is None:
            if not path:
                return dst_path
            raise NotFound(f"No such artifact: '{path}' in {self.artifact_uri}")
        kind = tree.kind(path) if path else "dir"
        if kind is None:
            raise NotFound(f"No such artifact: '{path}' in {self.artifact_uri}")
        entries = tree.files(path)
        expected = snapshot_digest(join_paths(tree.prefix, path))
        if expected is not None:
            _check_snapshot(entries, path, expected, self.artifact_uri)
        empty_dirs = tree.empty_dirs(path) if kind == "dir" else []
        self._fetch_all(tree, entries, dst_path)
        for rel in empty_dirs:
            os.makedirs(os.path.join(dst_path, *rel.split("/")), exist_ok=True)
        if kind == "dir" and path:
            os.makedirs(os.path.join(dst_path, *path.split("/")), exist_ok=True)
        return os.path.join(dst_path, *path.split("/")) if path else dst_path

    def _fetch_all(self, tree: Tree, entries: list[TreeEntry], dst_dir: str) -> None:
        """Download and verify every entry; on any failure remove what this call wrote."""
        written: list[str] = []
        lock = threading.Lock()

        def fetch(entry: TreeEntry) -> None:
            local = os.path.join(dst_dir, *entry.path.split("/"))
            self._fetch(tree, entry.path, entry.ref, local)
            with lock:
                written.append(local)

        failures = self._run_all(fetch, {e.path: (e,) for e in entries})
        if failures:
            for local in written:
                try:
                    os.unlink(local)
                except FileNotFoundError:
                    pass
        _raise_failures(failures, "download", self.artifact_uri)

    def _fetch(self, tree: Tree, path: str, ref: BlobRef, local_path: str) -> None:
        """Copy one blob to ``local_path`` through SHA-256; nothing lands there unless it matches."""
        directory = os.path.dirname(local_path) or "."
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_DOWNLOAD_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    src = tree.store.open_blob(ref.sha256)
                except IntegrityError:
                    raise integrity_error(
                        f"Artifact '{path}' of {self.artifact_uri} is lost: its blob "
                        f"sha256:{ref.sha256} is missing from {tree.store.uri}"
                    ) from None
                with contextlib.closing(src):
                    if ref.size <= SMALL_FILE:
                        # Small blobs in one read, hashed inline: the pool's threads already run
                        # many files at once, so a helper thread per file would only add switches.
                        data = read_full(src, ref.size + 1)
                        got = hash_bytes(data)
                        out.write(data)  # a mismatch below removes the temporary file
                    else:
                        got = copy_hashing(src, out)
            if got.sha256 != ref.sha256 or got.size != ref.size:
                raise integrity_error(
                    f"Artifact '{path}' of {self.artifact_uri} is corrupt: expected "
                    f"sha256:{short(ref.sha256)}… ({ref.size} bytes), read "
                    f"sha256:{short(got.sha256)}… ({got.size} bytes) from blob "
                    f"sha256:{ref.sha256}; nothing was written to {local_path}"
                )
            os.chmod(tmp, _default_file_mode())
            os.replace(tmp, local_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    @_os_errors("download from")
    def _download_file(self, remote_file_path, local_path):
        tree = self._existing_tree()
        path = clean_path(remote_file_path)
        ref = tree.entry(path)
        if ref is None:
            raise NotFound(f"No such artifact: '{path}' in {self.artifact_uri}")
        self._fetch(tree, path, ref, os.fspath(local_path))

    # -- deleting ------------------------------------------------------------------------------

    @_os_errors("delete from")
    def delete_artifacts(self, artifact_path=None):
        """Remove the files or directory from this tree; their blobs stay until ``artifacts gc``."""
        tree = self.tree()
        if tree is not None:
            path = clean_path(artifact_path)
            self._writable(tree, path)
            if path or tree.prefix:
                tree.delete(path)
                return
            # Emptying a whole root keeps the snapshots of pinned versions.
            files, dirs = tree.store.list_dir("")
            for name in files + [d for d in dirs if d != SNAPSHOT_PREFIX]:
                tree.delete(name)


def _check_snapshot(entries: list[TreeEntry], path: str, expected: str, uri: str) -> None:
    """A whole snapshot must hold exactly the files whose digest names it."""

    cut = len(path) + 1 if path else 0
    found = digest_of((e.path[cut:], e.ref.size, e.ref.sha256) for e in entries)
    if found != expected:
        raise integrity_error(
            f"The pinned snapshot {uri} does not hold the files it was pinned with: expected "
            f"{expected}, found {found}; nothing was downloaded"
        )


def _raise_failures(failures: dict[str, Exception], verb: str, uri: str) -> None:
    """Re-raise one failure as is; several as one error of their common kind naming each path."""
    if not failures:
        return
    if len(failures) == 1:
        raise next(iter(failures.values()))
    lines = "\n".join(f"  {path}: {exc}" for path, exc in sorted(failures.items()))
    message = f"Failed to {verb} {len(failures)} artifacts of {uri}:\n{lines}"
    if any(isinstance(exc, IntegrityError) for exc in failures.values()):
        raise integrity_error(message)
    kinds = {type(exc) for exc in failures.values()}
    if len(kinds) == 1 and issubclass(next(iter(kinds)), GovernanceError):
        raise next(iter(kinds))(message)
    codes = {getattr(exc, "error_code", "INTERNAL_ERROR") for exc in failures.values()}
    code = codes.pop() if len(codes) == 1 else "INTERNAL_ERROR"
    raise MlflowException(message, error_code=ErrorCode.Value(code))
