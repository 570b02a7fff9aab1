"""Serve a model version's files only when they hash to the version's manifest.

A governed version whose files stay where they were logged (no ``cas+`` pin root to copy them
into; pinning method ``verified``) is handed to MLflow as ``verified:<source>#sha256:<hex>``, the
digest being the one its manifest recorded. Reading through that URI fetches the version's whole
file tree from ``<source>`` into a private temporary folder, hashes every file, and compares the
digest with the manifest's before giving out any byte: ``models:/M/V``, ``models:/M@A``,
``mlflow.pyfunc.load_model`` and ``mlflow.artifacts.download_artifacts`` get the reviewed files
or :class:`~mlflow_registry_ext.errors.IntegrityError` (``RESOURCE_CONFLICT``, HTTP 409) naming
both digests, and nothing is left at the destination. The repository is read-only.

Example:
    >>> uri = verified_uri("s3://bucket/1/models/m-1/artifacts", "sha256:" + "ab" * 32)
    >>> split_verified_uri(uri)[0]
    's3://bucket/1/models/m-1/artifacts'
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import tempfile
import threading
import weakref

from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_registry_ext.artifacts.file_list import FileEntry, digest_of
from mlflow_registry_ext.artifacts.hashing import hash_file
from mlflow_registry_ext.artifacts.paths import clean_path
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound, PermissionDenied

__all__ = ["SCHEME", "VerifiedArtifactRepository", "verified_uri", "split_verified_uri"]

SCHEME = "verified"
_PREFIX = SCHEME + ":"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HASH_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))


def verified_uri(source: str, digest: str) -> str:
    """The URI that serves ``source`` only while its files have the digest ``digest``."""
    if not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"Invalid artifact digest {digest!r}: expected sha256:<64 hex>")
    return f"{_PREFIX}{source}#{digest}"


def split_verified_uri(uri: str) -> tuple[str, str]:
    """``(source, digest)`` of a ``verified:`` URI.

    Raises:
        InvalidInput: ``uri`` is not ``verified:<source>#sha256:<64 hex>``.
    """
    source, _, digest = uri[len(_PREFIX):].rpartition("#") if uri.startswith(_PREFIX) else ("", "", "")
    if not source or not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"Invalid artifact URI {uri!r}: expected {_PREFIX}<source URI>#sha256:<64 hex>")
    return source, digest


def _local_files(root: str) -> list[tuple[str, str]]:
    """``(relative POSIX path, absolute path)`` of every regular file under ``root``."""
    if os.path.isfile(root):
        return [(os.path.basename(root), root)]
    found = []
    for here, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(here, name)
            found.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
    return found


class VerifiedArtifactRepository(ArtifactRepository):
    """A read-only view of ``<source>`` that hands out files only after they match the digest.

    The first read of an instance fetches and checks the whole tree once; later reads of the same
    instance (MLflow reads ``MLmodel`` and then the rest) are served from the checked copy, which
    is removed with the instance.
    """

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        self.source, self.digest = split_verified_uri(artifact_uri)
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        self._inner = get_artifact_repository(self.source, tracking_uri=tracking_uri, registry_uri=registry_uri)
        self._lock = threading.Lock()
        self._checked: str | None = None

    # -- reading -----------------------------------------------------------------------------

    def _checked_tree(self) -> str:
        with self._lock:
            if self._checked is None:
                self._checked = self._fetch_and_check()
            return self._checked

    def _fetch_and_check(self) -> str:
        holder = tempfile.mkdtemp(prefix="mlflow-verified-")
        try:
            local = self._inner.download_artifacts("", dst_path=holder)
            listed = _local_files(local)

            def one(item: tuple[str, str]) -> FileEntry:
                rel, full = item
                result = hash_file(full)
                return FileEntry(rel, result.size, result.sha256)

            with concurrent.futures.ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
                found = digest_of(pool.map(one, listed))
        except BaseException:
            shutil.rmtree(holder, ignore_errors=True)
            raise
        if found != self.digest:
            shutil.rmtree(holder, ignore_errors=True)
            raise IntegrityError(
                f"The files at {self.source} do not match the model version's manifest: "
                f"manifest {self.digest}, found {found}. They changed after the version was "
                "registered; the reviewed bytes are not served (`mlflow-registry-ext artifacts "
                "verify` shows which files differ)."
            )
        weakref.finalize(self, shutil.rmtree, holder, True)
        return local

    def _local(self, path: str | None) -> tuple[str, str]:
        rel = clean_path(path)
        tree = self._checked_tree()
        full = os.path.join(tree, *rel.split("/")) if rel else tree
        if not os.path.lexists(full):
            raise NotFound(f"No artifact {rel!r} in {self.source} (manifest {self.digest})")
        return rel, full

    def download_artifacts(self, artifact_path, dst_path=None):
        rel, full = self._local(artifact_path)
        if dst_path is None:
            dst_path = tempfile.mkdtemp()
        dst_path = os.path.abspath(dst_path)
        if not os.path.isdir(dst_path):
            raise NotFound(f"The destination path for downloaded artifacts does not exist: {dst_path}")
        target = os.path.join(dst_path, *rel.split("/")) if rel else dst_path
        if os.path.isdir(full):
            shutil.copytree(full, target, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(full, target)
        return target

    def _download_file(self, remote_file_path, local_path):
        _, full = self._local(remote_file_path)
        if os.path.isdir(full):
            raise InvalidInput(f"{remote_file_path!r} is a directory, not a file")
        shutil.copyfile(full, local_path)

    def list_artifacts(self, path=None):
        rel, full = self._local(path)
        if not os.path.isdir(full):
            return []
        infos = []
        for name in sorted(os.listdir(full)):
            child = os.path.join(full, name)
            child_rel = f"{rel}/{name}" if rel else name
            is_dir = os.path.isdir(child)
            infos.append(FileInfo(child_rel, is_dir, None if is_dir else os.path.getsize(child)))
        return infos

    # -- writing: never ----------------------------------------------------------------------

    def _read_only(self, *_args, **_kwargs):
        raise PermissionDenied(
            f"The files of a governed model version are read-only ({self.artifact_uri}); "
            "log new files to a run and register a new version"
        )

    log_artifact = _read_only
    log_artifacts = _read_only
    delete_artifacts = _read_only
