"""A model version's files as a local folder, with the digest of exactly those files.

Local artifact stores are read in place; any other store (``cas+``, S3, ``mlflow-artifacts:``)
is downloaded to a temporary folder first, through the store's own repository (a ``cas+``
download is verified against its hashes). The digest follows
:mod:`mlflow_registry_ext.artifacts.digest`, so it equals the version's artifact digest.

Example:
    >>> with local_model("models:/fraud/3") as local:     # doctest: +SKIP
    ...     local.root, local.digest()
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from mlflow_registry_ext.artifacts.digest import FileEntry, digest_of
from mlflow_registry_ext.artifacts.hashing import hash_file
from mlflow_registry_ext.artifacts.resolve import coded_errors, resolve
from mlflow_registry_ext.errors import NotFound

__all__ = ["LocalModel", "local_model", "hash_tree"]

_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))


def hash_tree(root: Path) -> list[FileEntry]:
    """Every file under ``root`` (or ``root`` itself, when a file) with its size and SHA-256."""
    root = Path(root)
    if root.is_file():
        result = hash_file(root)
        return [FileEntry(root.name, result.size, result.sha256)]
    paths = sorted(p for p in root.rglob("*") if p.is_file())

    def one(path: Path) -> FileEntry:
        result = hash_file(path)
        return FileEntry(path.relative_to(root).as_posix(), result.size, result.sha256)

    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return sorted(pool.map(one, paths))


class LocalModel:
    """A local folder holding a model's files.

    Attributes:
        uri: The artifact URI it came from.
        root: The folder (or file).
        downloaded: Whether it is a temporary copy.
    """

    def __init__(self, uri: str, root: Path, downloaded: bool):
        self.uri, self.root, self.downloaded = uri, Path(root), downloaded
        self._files: list[FileEntry] | None = None

    def files(self) -> list[FileEntry]:
        """The file list (hashed once)."""
        if self._files is None:
            self._files = hash_tree(self.root)
        return self._files

    def digest(self) -> str:
        """The artifact digest of these files."""
        return digest_of(self.files())


@contextlib.contextmanager
def local_model(artifact_uri: str) -> Iterator[LocalModel]:
    """The files at ``artifact_uri`` as a local folder, for as long as the block runs.

    Raises:
        NotFound: Nothing is stored there.
        StorageUnavailable: The store could not be read.
    """
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    with coded_errors("read the artifacts of", artifact_uri):
        repo, path = resolve(artifact_uri)
        local_root = None
        if isinstance(repo, LocalArtifactRepository):
            local_root = Path(repo.artifact_dir, *[p for p in path.split("/") if p])
            if not local_root.exists():
                raise NotFound(f"No artifacts at {artifact_uri}")
    if local_root is not None:
        yield LocalModel(artifact_uri, local_root, downloaded=False)
        return
    with tempfile.TemporaryDirectory(prefix="scan-model-") as tmp:
        with coded_errors("download the artifacts of", artifact_uri):
            local = repo.download_artifacts(path or "", dst_path=tmp)
        yield LocalModel(artifact_uri, Path(local), downloaded=True)
