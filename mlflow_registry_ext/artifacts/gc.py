"""Garbage collection of a content-addressed root: delete blobs no tree references.

Deleting artifacts (or a run) only removes tree entries; the blobs stay, because other runs may
share them. ``collect_garbage`` lists every blob first, then reads every tree entry, and deletes
the blobs nothing references, except those written or re-used within the grace period: an upload
in flight has stored its blob but not yet its tree entry, and a blob re-used by an upload is
touched for the same reason. Each blob's time is checked again right before it is deleted.
Leftovers of crashed uploads (``tmp/`` files, unfinished S3 multipart uploads) older than the
grace period go too.

Example:
    >>> from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
    >>> CasArtifactRepository("cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts").log_artifacts(model_dir, "model")
    >>> report = collect_garbage("cas+file://" + tmp_dir + "/cas", grace_seconds=3600)
    >>> report.blobs_deleted, report.bytes_freed     # nothing unreferenced and older than an hour
    (0, 0)
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from typing import Callable

from mlflow_registry_ext.artifacts.blobs import BlobRef
from mlflow_registry_ext.artifacts.root import require_root
from mlflow_registry_ext.errors import InvalidInput

__all__ = ["GcReport", "collect_garbage", "parse_duration", "DEFAULT_GRACE_SECONDS"]

DEFAULT_GRACE_SECONDS = 24 * 3600
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*\Z")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_REF_BATCH = 256


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``"90s"``, ``"30m"``, ``"24h"``, ``"7d"`` or a plain number of seconds.

    Example:
        >>> parse_duration("2h")
        7200.0
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise InvalidInput(f"A duration cannot be negative: {text}")
        return float(text)
    match = _DURATION.match(str(text).lower())
    if not match:
        raise InvalidInput(f"Not a duration: {text!r} (use e.g. 90s, 30m, 24h, 7d)")
    return float(match.group(1)) * _UNIT[match.group(2)]


@dataclasses.dataclass(frozen=True)
class GcReport:
    """What a collection found and freed (or, with ``dry_run``, would free).

    Attributes:
        root: The root collected.
        dry_run: Nothing was deleted; the counts say what would be.
        grace_seconds: Blobs and uploads younger than this were kept.
        tree_entries: Tree entries read.
        blobs_scanned: Blobs in the root.
        blobs_referenced: Blobs some tree entry references.
        blobs_deleted: Unreferenced blobs deleted.
        bytes_freed: Their bytes.
        blobs_in_grace: Unreferenced blobs kept because they are recent.
        bytes_in_grace: Their bytes.
        uploads_removed: Abandoned uploads removed.
        upload_bytes_freed: Their bytes (unknown for S3 multipart parts: counted as 0).
        blobs_missing: Blobs tree entries reference that are not in the root (``artifacts
            verify`` names the files that lost them).
    """

    root: str
    dry_run: bool
    grace_seconds: float
    tree_entries: int
    blobs_scanned: int
    blobs_referenced: int
    blobs_deleted: int
    bytes_freed: int
    blobs_in_grace: int
    bytes_in_grace: int
    uploads_removed: int
    upload_bytes_freed: int
    blobs_missing: int

    @property
    def total_bytes_freed(self) -> int:
        """Bytes freed by blobs and abandoned uploads together."""
        return self.bytes_freed + self.upload_bytes_freed

    def to_dict(self) -> dict:
        """A JSON-ready form (what ``artifacts gc --json`` prints)."""
        data = dataclasses.asdict(self)
        data["total_bytes_freed"] = self.total_bytes_freed
        return data


def _root_uri(root: str) -> str:
    if root.startswith("cas+"):
        return root
    if root.startswith(("file:", "s3:")):
        return "cas+" + root
    return "cas+file://" + os.path.abspath(root)


def collect_garbage(
    root: str,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> GcReport:
    """Delete the blobs of ``root`` that no tree references and that are older than the grace.

    Args:
        root: The root: ``cas+file:///path``, ``cas+s3://bucket/prefix`` or a local directory.
        grace_seconds: Keep unreferenced blobs and uploads younger than this (default one day);
            it must exceed the longest upload.
        dry_run: Only report what would be deleted.
        progress: Called as ``progress(done, total)`` while unreferenced blobs are deleted.
        clock: The time source (tests inject one).

    Returns:
        The report.

    Raises:
        NotFound: ``root`` is not a content-addressed root.
        IntegrityError: A tree entry is damaged; nothing is deleted while references are unknown.

    Example:
        >>> from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
        >>> CasArtifactRepository("cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts").log_artifacts(model_dir, "model")
        >>> collect_garbage(tmp_dir + "/cas", dry_run=True).bytes_freed
        0
    """
    grace_seconds = parse_duration(grace_seconds)
    store = require_root(_root_uri(root))
    cutoff = clock() - grace_seconds
    # Blobs first: a blob stored after this listing is not a candidate at all.
    blobs = list(store.iter_blobs())
    referenced: set[str] = set()
    entries = 0
    paths = list(store.walk_files(""))
    for start in range(0, len(paths), _REF_BATCH):
        batch = paths[start : start + _REF_BATCH]
        for path, data in zip(batch, store.read_refs(batch)):
            if data is None:
                continue
            referenced.add(BlobRef.decode(data, where=path).sha256)
            entries += 1
    unreferenced = [b for b in blobs if b.sha256 not in referenced]
    recent = [b for b in unreferenced if b.mtime > cutoff]
    doomed = [b for b in unreferenced if b.mtime <= cutoff]
    deleted, freed = 0, 0
    for done, blob in enumerate(doomed, start=1):
        if dry_run or store.delete_blob(blob.sha256, not_touched_after=cutoff):
            deleted += 1
            freed += blob.size
        if progress is not None:
            progress(done, len(doomed))
    uploads, upload_bytes = 0, 0
    for name, size in list(store.iter_stale_uploads(cutoff)):
        if not dry_run:
            store.remove_stale_upload(name)
        uploads += 1
        upload_bytes += size
    present = {b.sha256 for b in blobs}
    missing = sum(1 for sha in referenced - present if store.blob_info(sha) is None)
    return GcReport(
        root=store.uri,
        dry_run=dry_run,
        grace_seconds=grace_seconds,
        tree_entries=entries,
        blobs_scanned=len(blobs),
        blobs_referenced=len(referenced & present),
        blobs_deleted=deleted,
        bytes_freed=freed,
        blobs_in_grace=len(recent),
        bytes_in_grace=sum(b.size for b in recent),
        uploads_removed=uploads,
        upload_bytes_freed=upload_bytes,
        blobs_missing=missing,
    )
