"""A tree: the artifact paths under one prefix of a root, each mapped to a blob (size, hash).

A run's artifacts are the tree at ``<experiment>/<run>/artifacts`` of the root; a logged model's
are at ``<experiment>/models/<model id>/artifacts``. Reading a tree needs only its refs, never the
blobs, so a model's digest comes from its manifest without downloading a byte.

Example:
    >>> from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
    >>> from mlflow_registry_ext.artifacts.root import open_root
    >>> uri = "cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts"
    >>> CasArtifactRepository(uri).log_artifacts(model_dir, "model")
    >>> blobs, prefix = open_root(uri, create=False)
    >>> tree = Tree(blobs, prefix)
    >>> [(e.path, e.ref.size) for e in tree.files("model")]
    [('model/MLmodel', 51), ('model/model.pkl', 1024)]
"""

from __future__ import annotations

import dataclasses

from mlflow.entities import FileInfo

from mlflow_registry_ext.artifacts.blobs import BlobRef
from mlflow_registry_ext.artifacts.paths import clean_path, join_paths
from mlflow_registry_ext.artifacts.store import Store

__all__ = ["Tree", "TreeEntry"]


@dataclasses.dataclass(frozen=True)
class TreeEntry:
    """One file of a tree.

    Attributes:
        path: The file's path relative to the tree.
        ref: The blob it holds.
    """

    path: str
    ref: BlobRef


class Tree:
    """The refs under ``prefix`` of ``store``; every ``path`` argument is relative to it."""

    def __init__(self, store: Store, prefix: str = ""):
        self.store = store
        self.prefix = clean_path(prefix, what="tree prefix")

    def __repr__(self) -> str:
        return f"Tree({self.store!r}, {self.prefix!r})"

    def _full(self, path: str | None) -> str:
        return join_paths(self.prefix, clean_path(path))

    def _relative(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def entry(self, path: str) -> BlobRef | None:
        """The blob stored at the file ``path``, or ``None`` if no file is there."""
        full = self._full(path)
        if not full:
            return None
        data = self.store.read_ref(full)
        return None if data is None else BlobRef.decode(data, where=self._relative(full))

    def kind(self, path: str | None) -> str | None:
        """``"file"``, ``"dir"`` or ``None`` (nothing at ``path``)."""
        full = self._full(path)
        if full and self.store.read_ref(full) is not None:
            return "file"
        if self.store.is_dir(full):
            return "dir"
        return None

    def list(self, path: str | None = None) -> list[FileInfo]:
        """MLflow's listing of the directory ``path``: direct children, sorted by path."""
        full = self._full(path)
        files, dirs = self.store.list_dir(full)
        rel = self._relative(full) if full else ""
        infos = [FileInfo(join_paths(rel, d), True, None) for d in dirs]
        full_files = [join_paths(full, f) for f in files]
        for name, data in zip(files, self.store.read_refs(full_files)):
            if data is None:  # removed between listing and reading
                continue
            ref = BlobRef.decode(data, where=join_paths(rel, name))
            infos.append(FileInfo(join_paths(rel, name), False, ref.size))
        return sorted(infos, key=lambda info: info.path)

    def files(self, path: str | None = None) -> list[TreeEntry]:
        """Every file at or under ``path``, sorted by path (relative to the tree)."""
        full = self._full(path)
        if full:
            data = self.store.read_ref(full)
            if data is not None:
                # A tree whose prefix names a file holds that one file, under its own name.
                rel = self._relative(full) if full != self.prefix else full.rpartition("/")[2]
                return [TreeEntry(rel, BlobRef.decode(data, where=rel))]
        entries = []
        for f, data in self.store.read_tree(full):
            rel = self._relative(f)
            entries.append(TreeEntry(rel, BlobRef.decode(data, where=rel)))
        return sorted(entries, key=lambda e: e.path)

    def empty_dirs(self, path: str | None = None) -> list[str]:
        """Empty directories under ``path`` (relative to the tree)."""
        return sorted(self._relative(d) for d in self.store.walk_empty_dirs(self._full(path)))

    def put(self, path: str, ref: BlobRef) -> None:
        """Point the file ``path`` at a blob (replacing what was there)."""
        full = self._full(path)
        self.store.write_ref(full, ref.encode())

    def make_dir(self, path: str) -> None:
        """Create an empty directory (where the store keeps directories)."""
        self.store.make_dirs(self._full(path))

    def delete(self, path: str | None = None) -> None:
        """Delete the file or directory ``path`` (the whole tree when ``None``)."""
        self.store.delete_refs(self._full(path))
