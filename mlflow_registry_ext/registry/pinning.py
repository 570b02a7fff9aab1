"""Pinning: freeze a model version's files and point MLflow's ``storage_location`` at them.

After pinning, ``models:/M/V``, ``models:/M@alias``, ``mlflow.pyfunc.load_model`` and
``mlflow.artifacts.download_artifacts`` (through the artifact proxy or directly) read the
snapshot, which later writes to the run cannot change:

- source on a ``cas+`` root: a snapshot in the same root, refs only (no byte copied);
- source elsewhere, with a pin root (``MLFLOW_GOVERNANCE_PIN_ROOT``, or the server's
  ``--artifacts-destination`` when it is a ``cas+`` URI): the files are copied there once;
- no pin root: nothing is copied; the manifest is recorded (method ``verified``) and the version
  keeps its location, served as ``verified:<source>#<digest>``
  (:mod:`mlflow_registry_ext.artifacts.verified_repository`): every download is checked against
  the manifest and fails with ``IntegrityError`` rather than return other bytes.

Example:
    >>> Pinner(store.inner, store.governance_db).pin("fraud", "3").digest   # doctest: +SKIP
    'sha256:5d41...'
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext import identity
from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.resolve import coded_errors, resolve
from mlflow_registry_ext.artifacts.root import open_root
from mlflow_registry_ext.artifacts.snapshot import Snapshot, copy_into_root, snapshot_cas_tree
from mlflow_registry_ext.artifacts.verified_repository import verified_uri
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.draft import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.events.payloads import ArtifactsChangedPayload
from mlflow_registry_ext.registry.manifests import Manifest, ManifestStore
from mlflow_registry_ext import settings
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["Pinner", "PIN_ROOT_ENV_VAR", "ARTIFACTS_TAG", "pin_root"]

PIN_ROOT_ENV_VAR = settings.PIN_ROOT.name
#: Read-only tag showing that a pinned version's source changed after pinning.
ARTIFACTS_TAG = "governance.artifacts"


def pin_root() -> str | None:
    """The ``cas+`` root files from other stores are copied into, if one is configured."""
    configured = settings.PIN_ROOT.get() or ""
    if configured:
        if not configured.startswith("cas+"):
            raise InvalidInput(f"{PIN_ROOT_ENV_VAR} must be a cas+ URI, got {configured!r}")
        return configured
    destination = settings.MLFLOW.get("server_artifact_destination") or ""
    return destination if destination.startswith("cas+") else None


def _public_uri(snapshot: Snapshot) -> str:
    """How clients reach a snapshot: through the artifact proxy when it lies in the server's
    destination (clients of a proxying server may have no access to the store itself)."""
    destination = settings.MLFLOW.get("server_artifact_destination") or ""
    if destination.startswith("cas+"):
        found = open_root(destination, create=False)
        if found is not None and found[1] == "" and found[0].uri == snapshot.root_uri:
            return f"mlflow-artifacts:/{snapshot.path}"
    return snapshot.uri


class Pinner:
    """Pins versions of the wrapped MLflow store into manifests and snapshots."""

    def __init__(self, inner_store: Any, db: GovernanceDatabase):
        self.inner = inner_store
        self.db = db
        self.manifests = ManifestStore(db)

    def manifest(self, name: str, version: str | int) -> Manifest | None:
        """The manifest of a version, ``None`` when it is not pinned."""
        created = self.inner.get_registered_model(name).creation_timestamp
        return self.manifests.get(name, str(version), model_created_ms=created)

    def served_uri(self, name: str, version: str | int) -> str:
        """Where MLflow downloads a version from: its snapshot when it has one (even if its
        ``storage_location`` row was changed since), a ``verified:`` URI over its source when it
        was pinned without a copy, else MLflow's own download URI."""
        uri = self.inner.get_model_version_download_uri(name, str(version))
        manifest = self.manifest(name, version)
        if manifest is None:
            return uri
        if manifest.location is not None:
            return manifest.location
        return verified_uri(manifest.source, manifest.digest)

    def pin(self, name: str, version: str | int) -> Manifest:
        """Pin a version (a pinned one is returned as is).

        Raises:
            NotFound: The version or its files do not exist.
            StorageUnavailable: Its files cannot be read.
        """
        version = str(version)
        created = self.inner.get_registered_model(name).creation_timestamp
        existing = self.manifests.get(name, version, model_created_ms=created)
        source = self.inner.get_model_version_download_uri(name, version)
        if existing is not None:
            if existing.location is not None and source != existing.location:
                self._point_at(name, version, existing.location)  # a crash between the two writes
            return existing
        mv = self.inner.get_model_version(name, version)
        with coded_errors("pin", source):
            repo, path = resolve(source, tracking_uri=getattr(self.inner, "tracking_uri", None))
            root = pin_root()
            if isinstance(repo, CasArtifactRepository):
                snap, method = snapshot_cas_tree(repo, path), "cas-tree"
            elif root is not None:
                snap, method = copy_into_root(repo, path, root), "copied"
            else:
                snap, method = None, "verified"
        if snap is not None:
            digest, files, location = snap.digest, snap.files, _public_uri(snap)
        else:
            found = model_digest(source, tracking_uri=getattr(self.inner, "tracking_uri", None))
            digest, files, location = found.digest, found.files, None
        manifest = self.manifests.record(
            Manifest(
                model=name,
                version=version,
                model_created_ms=created,
                digest=digest,
                files=tuple(files),
                source=source,
                location=location,
                method=method,
                pinned_at_ms=utc_now_ms(),
                pinned_by=identity.current_actor(),
            ),
            version_created_ms=mv.creation_timestamp,
        )
        if manifest.location is not None:
            self._point_at(name, version, manifest.location)
        return manifest

    def check(self, name: str, version: str | int) -> str | None:
        """Compare a pinned version's source with its manifest; the digest found if it changed.

        A change found for the first time is recorded (``model_version.artifacts_changed`` audit
        entry and webhook event, tag ``governance.artifacts=changed``); what the version serves
        does not change. A source that cannot be read any more counts as changed.
        """
        from mlflow.entities.model_registry import ModelVersionTag

        manifest = self.manifest(name, version)
        if manifest is None or manifest.source == manifest.location:
            return None
        try:
            found = model_digest(manifest.source, tracking_uri=getattr(self.inner, "tracking_uri", None)).digest
        except Exception as exc:  # noqa: BLE001 - a vanished or unreadable source is a change too
            found = f"unreadable: {getattr(exc, 'message', None) or exc}"[:128]
        if found == manifest.digest:
            return None
        if self.manifests.record_change(manifest, found):
            details = {
                "pinned_digest": manifest.digest,
                "found_digest": found,
                "source": manifest.source,
                "serving": manifest.location or manifest.source,
                "method": manifest.method,
            }
            with self.db.transaction() as conn:
                audit_log.append(conn, [AuditDraft(
                    action="model_version.artifacts_changed", model=name, version=str(version),
                    details=details,
                    payload=ArtifactsChangedPayload(
                        name=name, version=str(version), pinned_digest=manifest.digest, found_digest=found,
                        source=manifest.source, serving=manifest.location or manifest.source,
                    ),
                )])
            self.inner.set_model_version_tag(name, str(version), ModelVersionTag(ARTIFACTS_TAG, "changed"))
        return found

    def _point_at(self, name: str, version: str, location: str) -> None:
        # MLflow offers no API to change a version's storage location; its own SQL rows do.
        with _write_session(self.inner) as session:
            row = self.inner._get_sql_model_version(session, name, version)
            row.storage_location = location


def _write_session(inner):
    """A read-write session of MLflow's SQL store: newer MLflow opens read-only sessions unless
    asked (``read_only=False``); MLflow 3.10 takes no argument and always writes."""
    import inspect

    maker = inner.ManagedSessionMaker
    try:
        takes_flag = "read_only" in inspect.signature(getattr(maker, "__wrapped__", maker)).parameters
    except (TypeError, ValueError):
        takes_flag = False
    return maker(read_only=False) if takes_flag else maker()
