"""Artifact paths: the relative POSIX names files get inside a content-addressed root.

Every path that reaches a store passes through :func:`clean_path`, so a name can never climb out
of the root (``..``), start at the filesystem root, or smuggle in a NUL or a newline.

Example:
    >>> clean_path("model//MLmodel")
    'model/MLmodel'
    >>> join_paths("1/abc/artifacts", "model", "MLmodel")
    '1/abc/artifacts/model/MLmodel'
"""

from __future__ import annotations

from mlflow_registry_ext.errors import InvalidInput

__all__ = [
    "clean_path",
    "join_paths",
    "parent_and_name",
    "OUTSIDE_ROOT",
    "SNAPSHOT_PREFIX",
    "is_snapshot_path",
    "snapshot_digest",
]

#: MLflow's message when a resolved path leaves the artifact directory (``validate_path_within_directory``).
OUTSIDE_ROOT = "Invalid path: resolved path is outside the artifact directory"


def clean_path(path: str | None, *, what: str = "artifact path") -> str:
    """``path`` as a canonical relative POSIX path (``""`` for the root).

    Redundant separators and ``.`` segments are dropped; ``..``, absolute paths, backslashes and
    control characters are refused.

    Args:
        path: A path as a caller wrote it, or ``None`` for the root.
        what: How the error message names the value.

    Returns:
        The path with single ``/`` separators and no leading or trailing ``/``.

    Raises:
        InvalidInput: The path could name something outside the root, or is not a plain name.

    Example:
        >>> clean_path("./a/b/")
        'a/b'
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidInput(f"{_lead(what, path)}expected a string, got {type(path).__name__}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise InvalidInput(f"{_lead(what, path)}control characters are not allowed")
    if "\\" in path:
        raise InvalidInput(f"{_lead(what, path)}use '/' to separate directories, not '\\'")
    if path.startswith("/"):
        raise InvalidInput(f"{_lead(what, path)}it must be relative, not absolute")
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise InvalidInput(f"{_lead(what, path)}'..' is not allowed")
        parts.append(part)
    return "/".join(parts)


def _lead(what: str, path) -> str:
    # MLflow's own wording first ("Invalid artifact path: '...'." from its artifact repository,
    # "Invalid path" from validate_path_is_safe), so code matching MLflow's messages still does.
    shown = path if isinstance(path, str) else type(path).__name__
    if what == "artifact path":
        return f"Invalid artifact path: {shown!r}. "
    return f"Invalid path: {what} {shown!r}: "


def join_paths(*paths: str | None) -> str:
    """Join already clean relative paths, skipping empty ones.

    Example:
        >>> join_paths("", "a", None, "b/c")
        'a/b/c'
    """
    return "/".join(p for p in paths if p)


def parent_and_name(path: str) -> tuple[str, str]:
    """Split a clean path into its directory (``""`` at the root) and its last segment.

    Example:
        >>> parent_and_name("a/b/c")
        ('a/b', 'c')
    """
    head, _, tail = path.rpartition("/")
    return head, tail


#: Where the immutable snapshots of pinned model versions live in a root (see ``snapshot.py``);
#: MLflow's own layout (``<experiment id>/...``) never uses it.
SNAPSHOT_PREFIX = "_pinned"


def is_snapshot_path(path: str) -> bool:
    """Whether a tree path (from the root) lies in the snapshot area, which only pinning writes.

    Example:
        >>> is_snapshot_path("_pinned/sha256/ab"), is_snapshot_path("1/abc/artifacts")
        (True, False)
    """
    return path == SNAPSHOT_PREFIX or path.startswith(SNAPSHOT_PREFIX + "/")


def snapshot_digest(path: str) -> str | None:
    """The digest a path names when it is exactly a snapshot's tree path, else ``None``.

    Example:
        >>> snapshot_digest("_pinned/sha256/ab")
        'sha256:ab'
    """
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == SNAPSHOT_PREFIX and parts[1] == "sha256" and parts[2]:
        return "sha256:" + parts[2]
    return None
