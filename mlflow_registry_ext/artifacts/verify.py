"""Check every file of a run's or a model version's artifacts against the hash it was stored with.

On a ``cas+`` root each blob is read back and re-hashed against its tree entry: a changed byte, a
truncated or a vanished blob is reported by path. On any other store there are no recorded hashes,
so each file is downloaded (a ``cas+`` root behind ``mlflow server --serve-artifacts`` verifies it
on the way) and the report says which could not be read; with ``expected_digest`` the file list is
also compared with a digest recorded earlier (e.g. the version's ``governance.artifact_digest``).

Example:
    >>> report = verify("models:/fraud/3")      # doctest: +SKIP
    >>> report.ok, [p.path for p in report.problems]   # doctest: +SKIP
    (False, ['model.pkl'])
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import os
import tempfile

from mlflow_registry_ext.artifacts.blobs import is_sha256
from mlflow_registry_ext.artifacts.digest import FileEntry, digest_of, manifest_files
from mlflow_registry_ext.artifacts.hashing import CHUNK_SIZE, hash_file
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.resolve import coded_errors, resolve, walk_files
from mlflow_registry_ext.errors import IntegrityError, InvalidInput, NotFound

__all__ = ["FileProblem", "VerifyReport", "verify"]

_WORKERS = max(2, min(8, (os.cpu_count() or 2) * 2))


@dataclasses.dataclass(frozen=True)
class FileProblem:
    """One bad file.

    Attributes:
        path: The file's path relative to the verified URI.
        problem: ``corrupt`` (bytes differ from the recorded hash), ``missing`` (its blob is gone)
            or ``unreadable`` (the store failed to return it).
        expected_sha256: The recorded hash (``None`` where the store records none).
        expected_size: The recorded size.
        actual_sha256: The hash of the bytes read (``None`` if nothing could be read).
        actual_size: How many bytes were read.
        detail: A readable explanation.
    """

    path: str
    problem: str
    expected_sha256: str | None
    expected_size: int | None
    actual_sha256: str | None
    actual_size: int | None
    detail: str


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes:
        uri: The URI verified.
        method: ``manifest`` (blobs re-hashed against a ``cas+`` tree) or ``download``.
        checked: Number of files checked.
        bytes_checked: Bytes read and hashed.
        digest: The artifact digest of the recorded file list (``None`` if files were unreadable
            and the store records no hashes).
        expected_digest: The digest the caller expected, if any.
        problems: Every bad file, sorted by path.
    """

    uri: str
    method: str
    checked: int
    bytes_checked: int
    digest: str | None
    expected_digest: str | None
    problems: tuple[FileProblem, ...]

    @property
    def digest_matches(self) -> bool | None:
        """Whether ``digest`` equals ``expected_digest`` (``None`` when nothing was expected)."""
        if self.expected_digest is None:
            return None
        return self.digest == self.expected_digest

    @property
    def ok(self) -> bool:
        """No bad file, and the digest matches when one was expected."""
        return not self.problems and self.digest_matches is not False

    def to_dict(self) -> dict:
        """A JSON-ready form (what ``artifacts verify --json`` prints)."""
        return {
            "uri": self.uri,
            "ok": self.ok,
            "method": self.method,
            "checked": self.checked,
            "bytes_checked": self.bytes_checked,
            "digest": self.digest,
            "expected_digest": self.expected_digest,
            "digest_matches": self.digest_matches,
            "problems": [dataclasses.asdict(p) for p in self.problems],
        }


def _check_blob(repo: CasArtifactRepository, entry: FileEntry) -> tuple[FileProblem | None, int]:
    tree = repo.tree()
    try:
        src = tree.store.open_blob(entry.sha256)
    except IntegrityError:
        return FileProblem(
            entry.path, "missing", entry.sha256, entry.size, None, None,
            f"its blob sha256:{entry.sha256} is missing from {tree.store.uri}",
        ), 0
    hasher = hashlib.sha256()
    size = 0
    with contextlib.closing(src):
        while chunk := src.read(CHUNK_SIZE):
            hasher.update(chunk)
            size += len(chunk)
    actual = hasher.hexdigest()
    if actual == entry.sha256 and size == entry.size:
        return None, size
    return FileProblem(
        entry.path, "corrupt", entry.sha256, entry.size, actual, size,
        f"blob sha256:{entry.sha256} holds {size} bytes hashing to sha256:{actual}",
    ), size


def _verify_manifest(repo: CasArtifactRepository, path: str):
    files = manifest_files(repo, path)
    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        results = list(pool.map(lambda f: _check_blob(repo, f), files))
    problems = [p for p, _ in results if p is not None]
    return files, problems, sum(n for _, n in results), digest_of(files)


def _verify_download(repo, path: str):
    listed = walk_files(repo, path)
    single = len(listed) == 1 and listed[0][0] == path and bool(path)

    with tempfile.TemporaryDirectory(prefix="cas-verify-") as tmp:

        def one(numbered):
            number, (full, size) = numbered
            rel = full.rpartition("/")[2] if single else (full[len(path) + 1 :] if path else full)
            target = os.path.join(tmp, str(number))
            try:
                repo._download_file(full, target)
                result = hash_file(target)
            except Exception as exc:  # noqa: BLE001 - reported per file
                return rel, None, FileProblem(rel, "unreadable", None, size, None, None, _one_line(exc))
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            return rel, FileEntry(rel, result.size, result.sha256), None

        with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            results = list(pool.map(one, enumerate(listed)))
    files = [entry for _, entry, _ in results if entry is not None]
    problems = [problem for _, _, problem in results if problem is not None]
    digest = None if problems else digest_of(files)
    return listed, problems, sum(f.size for f in files), digest


def _one_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())


def verify(artifact_uri: str, expected_digest: str | None = None) -> VerifyReport:
    """Re-hash every file under ``artifact_uri`` and report each one that does not match.

    Args:
        artifact_uri: Any MLflow artifact URI (``runs:/``, ``models:/``, ``cas+file:``, ...).
        expected_digest: Also require the file list to have this artifact digest.

    Returns:
        The report; ``report.ok`` is false when any file is bad or the digest differs.

    Raises:
        NotFound: Nothing is stored at the URI.
        InvalidInput: The URI or the expected digest is malformed.

    Example:
        >>> from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
        >>> uri = "cas+file://" + tmp_dir + "/cas/1/" + "a" * 32 + "/artifacts"
        >>> CasArtifactRepository(uri).log_artifacts(model_dir, "model")
        >>> verify(uri).ok
        True
    """
    if expected_digest is not None:
        hex_part = expected_digest.strip().lower().removeprefix("sha256:")
        if not is_sha256(hex_part):
            raise InvalidInput(f"Not an artifact digest: {expected_digest!r} (want sha256:<64 hex>)")
        expected_digest = "sha256:" + hex_part
    with coded_errors("verify", artifact_uri):
        repo, path = resolve(artifact_uri)
        if isinstance(repo, CasArtifactRepository):
            files, problems, nbytes, digest = _verify_manifest(repo, path)
            method = "manifest"
        else:
            files, problems, nbytes, digest = _verify_download(repo, path)
            method = "download"
    if not files:
        raise NotFound(f"No artifacts at {artifact_uri}")
    return VerifyReport(
        uri=artifact_uri,
        method=method,
        checked=len(files),
        bytes_checked=nbytes,
        digest=digest,
        expected_digest=expected_digest,
        problems=tuple(sorted(problems, key=lambda p: p.path)),
    )
