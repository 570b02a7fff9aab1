"""Manifests of pinned model versions: the exact files (path, size, SHA-256) a version holds.

A manifest is written once, when the version is pinned, and never changed: its digest is the
version's artifact digest, the one reviewers approve (and the one signatures cover). Rows are
keyed by the model's incarnation (workspace, name, creation time), so a re-created model of the
same name never inherits the manifests of a deleted one. Changes later found in a version's
source are recorded beside it, once per digest found.

Example:
    >>> m = ManifestStore(db).get("fraud", "3", model_created_ms=1733000000000)   # doctest: +SKIP
    >>> m.digest, [f.path for f in m.files]                                        # doctest: +SKIP
    ('sha256:5d41...', ['MLmodel', 'model.pkl'])
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import and_, insert, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlflow_registry_ext.artifacts.blobs import integrity_error
from mlflow_registry_ext.artifacts.digest import FileEntry, digest_of
from mlflow_registry_ext.entities import fields_from
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.registry.manifest_tables import changes_table, manifests_table
from mlflow_registry_ext.workspace import current_workspace
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["Manifest", "ManifestStore", "PIN_METHODS"]

#: How a version was pinned: a new tree over the same blobs of a ``cas+`` root; a copy into the
#: pin root; or no copy at all, every download verified against the manifest.
PIN_METHODS = ("cas-tree", "copied", "verified")


@dataclasses.dataclass(frozen=True)
class Manifest:
    """The pinned files of one model version.

    Attributes:
        model: Registered model name.
        version: Version number, as text.
        model_created_ms: The registered model's creation time (its incarnation).
        digest: ``sha256:<hex>`` over ``files``: the version's artifact digest.
        files: ``(path, size, sha256)`` per file, sorted by path.
        source: Where the files were read from (the version's location before pinning).
        location: What the version's ``storage_location`` now points at.
        method: One of :data:`PIN_METHODS`.
        pinned_at_ms: When it was pinned.
        pinned_by: Who pinned it.
    """

    model: str
    version: str
    model_created_ms: int
    digest: str
    files: tuple[FileEntry, ...]
    source: str
    location: str | None
    method: str
    pinned_at_ms: int
    pinned_by: str | None = None

    @property
    def total_size(self) -> int:
        """Bytes over all files."""
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        return {
            "model": self.model,
            "version": self.version,
            "digest": self.digest,
            "file_count": len(self.files),
            "total_size": self.total_size,
            "source": self.source,
            "location": self.location,
            "method": self.method,
            "pinned_at_ms": self.pinned_at_ms,
            "pinned_by": self.pinned_by,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
        }


def _encode(files: tuple[FileEntry, ...]) -> str:
    return json.dumps([list(f) for f in files], separators=(",", ":"), ensure_ascii=False)


def _row_to_manifest(row) -> Manifest:
    files = tuple(sorted(FileEntry(p, int(s), h) for p, s, h in json.loads(row.files)))
    # The row must prove itself: its file list must hash to the digest stored beside it.
    if digest_of(files) != row.digest:
        raise integrity_error(
            f"The manifest of {row.model} version {row.version} is damaged: its files hash to "
            f"{digest_of(files)}, not to the recorded {row.digest}"
        )
    return fields_from(Manifest, row, files=files, location=row.snapshot)


class ManifestStore:
    """Reads and writes manifests and detected changes in the governance database."""

    def __init__(self, db: GovernanceDatabase):
        self.db = db

    def _key(self, table, model: str, version: str, model_created_ms: int):
        return and_(
            table.c.workspace == current_workspace(),
            table.c.model == model,
            table.c.model_created_ms == int(model_created_ms),
            table.c.version == str(version),
        )

    def get(self, model: str, version: str | int, *, model_created_ms: int) -> Manifest | None:
        """The manifest of a version of this incarnation of ``model``, or ``None``.

        Raises:
            IntegrityError: The stored row does not hash to its own digest.
        """
        query = select(manifests_table).where(
            self._key(manifests_table, model, str(version), model_created_ms)
        )
        with self.db.reading() as engine, engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row_to_manifest(row)

    def record(self, manifest: Manifest, *, version_created_ms: int | None = None) -> Manifest:
        """Insert a manifest; if the version has one already, that one is kept and returned."""
        values = dict(
            workspace=current_workspace(),
            model=manifest.model,
            model_created_ms=int(manifest.model_created_ms),
            version=str(manifest.version),
            version_created_ms=version_created_ms,
            digest=manifest.digest,
            files=_encode(manifest.files),
            file_count=len(manifest.files),
            total_size=manifest.total_size,
            source=manifest.source,
            snapshot=manifest.location,
            method=manifest.method,
            pinned_at_ms=manifest.pinned_at_ms,
            pinned_by=manifest.pinned_by,
        )
        try:
            with self.db.transaction() as conn:
                conn.execute(insert(manifests_table).values(**values))
        except SqlIntegrityError:
            existing = self.get(manifest.model, manifest.version, model_created_ms=manifest.model_created_ms)
            if existing is not None:
                return existing
            raise
        return manifest

    def all(self) -> list[Manifest]:
        """Every manifest of the current workspace (for the change check)."""
        query = select(manifests_table).where(manifests_table.c.workspace == current_workspace())
        with self.db.reading() as engine, engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_row_to_manifest(r) for r in rows]

    def workspaces(self) -> list[str]:
        """The workspaces that hold manifests (the server's change check visits each)."""
        query = select(manifests_table.c.workspace).distinct().order_by(manifests_table.c.workspace)
        with self.db.reading() as engine, engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]

    def record_change(self, manifest: Manifest, found_digest: str) -> bool:
        """Note that the source now holds ``found_digest``; ``False`` if that was noted before."""
        values = dict(
            workspace=current_workspace(),
            model=manifest.model,
            model_created_ms=int(manifest.model_created_ms),
            version=manifest.version,
            found_digest=found_digest,
            detected_at_ms=utc_now_ms(),
        )
        try:
            with self.db.transaction() as conn:
                conn.execute(insert(changes_table).values(**values))
        except SqlIntegrityError:
            return False
        return True

    def changes(self, model: str, version: str | int, *, model_created_ms: int) -> list[str]:
        """The digests found in the version's source after pinning, oldest first."""
        query = (
            select(changes_table.c.found_digest)
            .where(self._key(changes_table, model, str(version), model_created_ms))
            .order_by(changes_table.c.detected_at_ms)
        )
        with self.db.reading() as engine, engine.connect() as conn:
            return [r[0] for r in conn.execute(query)]
