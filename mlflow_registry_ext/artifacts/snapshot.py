"""Immutable snapshots: a model version's files, frozen inside a content-addressed root.

A snapshot is a tree at ``_pinned/sha256/<hex>`` of a root, where ``sha256:<hex>`` is the
artifact digest of its files (see ``digest.py``). Because blobs are named by their content, a
snapshot of files already in the root is a new set of refs over the same blobs: no byte is
copied and the cost is one small ref per file. Files held elsewhere (a plain MLflow store) are
copied into the root once, hashed on the way.

The repository refuses every write and deletion under ``_pinned/`` (``repository.py``), so later
writes to the run, or to the artifact proxy, cannot change what a snapshot holds; ``artifacts
gc`` keeps its blobs because its refs reference them. A download of a whole snapshot also checks
that the digest of its refs is the one in its name.

Example:
    >>> snap = snapshot_cas_tree(repo, "model")                   # doctest: +SKIP
    >>> snap.uri                                                  # doctest: +SKIP
    'cas+file:///data/mlflow/_pinned/sha256/5d41402a...'
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import tempfile

from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_registry_ext.artifacts.blobs import integrity_error
from mlflow_registry_ext.artifacts.digest import DIGEST_PREFIX, FileEntry, digest_of
from mlflow_registry_ext.artifacts.paths import (
    SNAPSHOT_PREFIX,
    is_snapshot_path,
    join_paths,
    snapshot_digest,
)
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.resolve import walk_files
from mlflow_registry_ext.artifacts.root import open_root
from mlflow_registry_ext.artifacts.store import Store
from mlflow_registry_ext.artifacts.tree import Tree
from mlflow_registry_ext.errors import InvalidInput, NotFound

__all__ = [
    "SNAPSHOT_PREFIX",
    "Snapshot",
    "snapshot_path",
    "is_snapshot_path",
    "snapshot_digest",
    "snapshot_cas_tree",
    "copy_into_root",
]

_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A frozen copy of a model's files.

    Attributes:
        root_uri: The ``cas+`` root holding it.
        path: Its tree path inside the root (``_pinned/sha256/<hex>``).
        digest: The artifact digest of ``files`` (also in ``path``).
        files: ``(path, size, sha256)`` per file, sorted by path.
        copied: Whether bytes were copied (the source was not in this root).
    """

    root_uri: str
    path: str
    digest: str
    files: tuple[FileEntry, ...]
    copied: bool

    @property
    def uri(self) -> str:
        """The snapshot as an artifact URI of its root."""
        return f"{self.root_uri.rstrip('/')}/{self.path}"


def snapshot_path(digest: str) -> str:
    """``_pinned/sha256/<hex>`` for ``sha256:<hex>``."""
    if not digest.startswith(DIGEST_PREFIX):
        raise InvalidInput(f"Not an artifact digest: {digest!r}")
    return f"{SNAPSHOT_PREFIX}/sha256/{digest[len(DIGEST_PREFIX):]}"


def _publish(store: Store, path: str, refs: list[tuple[str, bytes]]) -> None:
    """Create the snapshot ``path`` holding ``refs``, or reuse it when it exists.

    A local root builds the tree aside and renames it into place (no reader sees part of it); a
    snapshot found there already is checked against the digest in its name, and one left
    incomplete (by a writer that died, on S3, or by an older version that wrote ref after ref)
    is completed.
    """
    if store.write_tree(path, refs):
        return
    if not _complete(store, path):
        _fill_in(store, path, refs)


def _fill_in(store: Store, path: str, entries: list[tuple[str, bytes]]) -> None:
    """Write the refs missing from an incomplete snapshot, keeping those already there."""

    def one(item: tuple[str, bytes]) -> None:
        rel, data = item
        full = join_paths(path, rel)
        existing = store.read_ref(full)
        if existing is None:
            store.write_ref(full, data)
        elif existing != data:
            raise integrity_error(
                f"Snapshot {path} of {store.uri} already holds other content at '{rel}'"
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        list(pool.map(one, entries))
    _check(Tree(store, path), path, store.uri)


def _check(tree: Tree, path: str, where: str) -> tuple[FileEntry, ...]:
    files = tuple(FileEntry(e.path, e.ref.size, e.ref.sha256) for e in tree.files())
    expected = snapshot_digest(path)
    if digest_of(files) != expected:
        raise integrity_error(
            f"Snapshot {path} of {where} does not hold the files its name promises: expected "
            f"{expected}, found {digest_of(files)}"
        )
    return files


def snapshot_cas_tree(repo: CasArtifactRepository, path: str = "") -> Snapshot:
    """Freeze the files under ``path`` of a ``cas+`` repository as a snapshot in its own root.

    Only refs are written (one per file, from the hashes the source's refs hold); no blob is
    read, hashed or copied. An identical snapshot that exists already is reused.

    Raises:
        NotFound: Nothing is stored at ``path``.
        IntegrityError: A ref is damaged.
    """
    tree = repo.tree()
    if tree is None:
        raise NotFound(f"No content-addressed root at or above {repo.artifact_uri}")
    entries = repo.entries(path)
    if len(entries) == 1 and entries[0].path == path and path:  # a single file
        items = [(path.rpartition("/")[2], entries[0].ref)]
    else:
        cut = len(path) + 1 if path else 0
        items = [(e.path[cut:], e.ref) for e in entries]
    if not items:
        raise NotFound(f"No artifacts at {repo.artifact_uri} {path}".rstrip())
    files = sorted(FileEntry(rel, ref.size, ref.sha256) for rel, ref in items)
    digest = digest_of(files)
    target = snapshot_path(digest)
    store = tree.store
    _publish(store, target, [(rel, ref.encode()) for rel, ref in items])
    return Snapshot(store.uri, target, digest, tuple(files), copied=False)


def _complete(store: Store, target: str) -> bool:
    try:
        _check(Tree(store, target), target, store.uri)
        return True
    except Exception:  # noqa: BLE001 - any damage means "write it again"
        return False


def copy_into_root(source: ArtifactRepository, path: str, root_uri: str) -> Snapshot:
    """Copy the files under ``path`` of any repository into the ``cas+`` root ``root_uri`` once.

    Each file is downloaded to a temporary directory and stored as a blob (hashed on the way);
    the snapshot's refs are written when every blob is in place.

    Raises:
        NotFound: Nothing is stored at ``path``.
        InvalidInput: ``root_uri`` is not a ``cas+`` URI.
    """
    found = open_root(root_uri, create=True)
    if found is None:  # pragma: no cover - create=True always gives a root
        raise NotFound(f"No content-addressed root at {root_uri}")
    store, _ = found
    listed = walk_files(source, path)
    if not listed:
        raise NotFound(f"No artifacts at {source.artifact_uri} {path}".rstrip())
    single = len(listed) == 1 and listed[0][0] == path and bool(path)
    prefix = path + "/" if path else ""
    local_dir = getattr(source, "artifact_dir", None) if _is_local(source) else None

    with tempfile.TemporaryDirectory(prefix="cas-pin-") as tmp:

        def one(numbered: tuple[int, tuple[str, int | None]]) -> tuple[str, bytes, FileEntry]:
            number, (full, _) = numbered
            rel = full.rpartition("/")[2] if single else full[len(prefix):]
            if local_dir is not None:
                result = store.put_file(os.path.join(local_dir, *full.split("/")))
            else:
                local = os.path.join(tmp, str(number))
                source._download_file(full, local)
                try:
                    result = store.put_file(local)
                finally:
                    os.unlink(local)
            return rel, result.ref.encode(), FileEntry(rel, result.size, result.sha256)

        with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            stored = list(pool.map(one, enumerate(listed)))
    files = tuple(sorted(entry for _, _, entry in stored))
    digest = digest_of(files)
    target = snapshot_path(digest)
    _publish(store, target, [(rel, data) for rel, data, _ in stored])
    return Snapshot(store.uri, target, digest, files, copied=True)


def _is_local(repo: ArtifactRepository) -> bool:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    return isinstance(repo, LocalArtifactRepository)
