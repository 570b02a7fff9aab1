"""A model's artifact digest: one SHA-256 over its sorted file list (path, size, hash).

The digest is ``"sha256:" + hex(SHA-256(text))`` where ``text`` is the UTF-8 JSON array of
``[path, size, sha256]`` triples, sorted by path, with no whitespace::

    [["MLmodel",412,"9f86d0..."],["model.pkl",1048576,"2c26b4..."]]

Paths are relative to the URI digested, ``/``-separated; empty directories do not count. Two
copies of a model in different places (another run, another root, a plain MLflow store) have the
same digest, and changing, adding, removing or renaming any file changes it. The governed
registry records it on each new version (``governance.artifact_digest``), and promotion can
require it to match what reviewers approved.

On a ``cas+`` root the digest is read from the manifest without downloading anything; on any
other store each file is downloaded to a temporary directory and hashed.

Example:
    >>> d = model_digest("models:/fraud@champion")     # doctest: +SKIP
    >>> d.digest                                       # doctest: +SKIP
    'sha256:5d41402abc4b2a76b9719d911017c592...'
    >>> digest_of([("MLmodel", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")])[:7]
    'sha256:'
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import tempfile

from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_registry_ext.artifacts.blobs import integrity_error
from mlflow_registry_ext.artifacts.file_list import DIGEST_PREFIX, FileEntry, digest_of
from mlflow_registry_ext.artifacts.hashing import hash_file
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.resolve import coded_errors, resolve, walk_files
from mlflow_registry_ext.errors import NotFound

__all__ = ["FileEntry", "ModelDigest", "model_digest", "digest_of", "DIGEST_PREFIX"]

_HASH_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))


@dataclasses.dataclass(frozen=True)
class ModelDigest:
    """The digest of the files under an artifact URI.

    Attributes:
        uri: The URI that was digested.
        digest: ``sha256:<64 hex>`` over ``files`` (see the module docstring).
        files: ``(path, size, sha256)`` for every file, sorted by path.
        source: ``"manifest"`` (read from a ``cas+`` root without downloading) or ``"download"``.
    """

    uri: str
    digest: str
    files: tuple[FileEntry, ...]
    source: str

    @property
    def total_size(self) -> int:
        """Bytes over all files."""
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict:
        """A JSON-ready form (what ``artifacts digest --json`` prints)."""
        return {
            "uri": self.uri,
            "digest": self.digest,
            "source": self.source,
            "file_count": len(self.files),
            "total_size": self.total_size,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base else path


def manifest_files(repo: CasArtifactRepository, path: str) -> list[FileEntry]:
    """The file list of a ``cas+`` tree, from its refs alone."""
    entries = repo.entries(path)
    if len(entries) == 1 and entries[0].path == path:
        name = path.rpartition("/")[2]
        return [FileEntry(name, entries[0].ref.size, entries[0].ref.sha256)]
    return [FileEntry(_relative(e.path, path), e.ref.size, e.ref.sha256) for e in entries]


def downloaded_files(repo: ArtifactRepository, path: str) -> list[FileEntry]:
    """The file list of any repository, hashing each file as it is downloaded."""
    listed = walk_files(repo, path)
    single = len(listed) == 1 and listed[0][0] == path and bool(path)
    local_dir = getattr(repo, "artifact_dir", None) if _is_local(repo) else None

    with tempfile.TemporaryDirectory(prefix="cas-digest-") as tmp:

        def one(numbered: tuple[int, tuple[str, int | None]]) -> FileEntry:
            number, (full, _) = numbered
            rel = full.rpartition("/")[2] if single else _relative(full, path)
            if local_dir is not None:
                result = hash_file(os.path.join(local_dir, *full.split("/")))
            else:
                target = os.path.join(tmp, str(number))
                repo._download_file(full, target)
                try:
                    result = hash_file(target)
                finally:
                    os.unlink(target)
            return FileEntry(rel, result.size, result.sha256)

        with concurrent.futures.ThreadPoolExecutor(max_workers=_HASH_WORKERS) as pool:
            return list(pool.map(one, enumerate(listed)))


def _is_local(repo: ArtifactRepository) -> bool:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    return isinstance(repo, LocalArtifactRepository)


def model_digest(artifact_uri: str, *, tracking_uri: str | None = None) -> ModelDigest:
    """Compute the artifact digest of a model (or any artifact directory or file).

    Args:
        artifact_uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
            ``models:/<model id>``, ``runs:/<run id>/<path>``, a ``cas+file:``/``cas+s3:`` URI, or
            any other MLflow artifact URI.

    Returns:
        The digest and the file list it covers.

    Raises:
        NotFound: Nothing is stored at the URI (or the run/model/alias does not exist).
        InvalidInput: The URI is malformed.
        IntegrityError: A ``cas+`` manifest entry is damaged.
        StorageUnavailable: The store could not be read.

    ``tracking_uri`` is where ``runs:/`` URIs are looked up (default: MLflow's current one).

    Example:
        >>> model_digest("runs:/0a1b.../model").digest    # doctest: +SKIP
        'sha256:...'
    """
    with coded_errors("compute the digest of", artifact_uri):
        repo, path = resolve(artifact_uri, tracking_uri=tracking_uri)
        if isinstance(repo, CasArtifactRepository):
            files, source = manifest_files(repo, path), "manifest"
        else:
            files, source = downloaded_files(repo, path), "download"
    if not files:
        raise NotFound(f"No artifacts at {artifact_uri}")
    files = sorted(files)
    if len({f.path for f in files}) != len(files):
        raise integrity_error(f"The artifacts at {artifact_uri} list the same path twice")
    return ModelDigest(artifact_uri, digest_of(files), tuple(files), source)
