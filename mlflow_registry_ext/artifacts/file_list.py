"""The file list a model's artifact digest is computed over, and the digest itself.

The digest is ``"sha256:" + hex(SHA-256(text))`` where ``text`` is the UTF-8 JSON array of
``[path, size, sha256]`` triples sorted by path, with no whitespace (see
:mod:`mlflow_registry_ext.artifacts.digest` for where file lists come from).
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterable, NamedTuple

__all__ = ["DIGEST_PREFIX", "FileEntry", "digest_of"]

DIGEST_PREFIX = "sha256:"


class FileEntry(NamedTuple):
    """One file of a digest: its path (relative to the digested URI), size and SHA-256 (hex)."""

    path: str
    size: int
    sha256: str


def digest_of(files: Iterable[tuple[str, int, str]]) -> str:
    """The digest of a file list, whatever its order.

    Example:
        >>> a = digest_of([("a", 1, "0" * 64), ("b", 2, "1" * 64)])
        >>> a == digest_of([("b", 2, "1" * 64), ("a", 1, "0" * 64)])
        True
    """
    rows = sorted([str(p), int(s), str(h)] for p, s, h in files)
    text = json.dumps(rows, separators=(",", ":"), ensure_ascii=False)
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()
