"""Blob records: what a tree entry points to, what a store holds, and what an upload did.

A blob is the bytes of one artifact file, stored once under its SHA-256. A tree entry (a *ref*)
names a blob by hash and size; the ref is a small JSON text, ``{"sha256": "<64 hex>", "size": N}``.

Example:
    >>> ref = BlobRef("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0)
    >>> BlobRef.decode(ref.encode(), where="x") == ref
    True
"""

from __future__ import annotations

import dataclasses
import json
import re

from mlflow_registry_ext.errors import IntegrityError

__all__ = ["BlobRef", "BlobInfo", "PutResult", "integrity_error", "is_sha256", "short"]

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
# A ref exactly as BlobRef.encode() writes it.
_ENCODED = re.compile(rb'\{"sha256": "([0-9a-f]{64})", "size": (0|[1-9][0-9]{0,18})\}\n')


def integrity_error(message: str) -> IntegrityError:
    """An ``IntegrityError`` for a corrupt or lost artifact, answered over HTTP with 409.

    MLflow's HTTP client retries 5xx answers with back-off for minutes; stored bytes that do not
    match their hash will not heal, so ``mlflow server`` must answer with a status the client
    does not retry (``RESOURCE_CONFLICT``: the bytes conflict with their recorded hash). The CLI
    still exits 1 (a check failed).
    """
    exc = IntegrityError(message)
    exc.error_code = "RESOURCE_CONFLICT"
    return exc


def is_sha256(value: str) -> bool:
    """Whether ``value`` is a lowercase hex SHA-256."""
    return isinstance(value, str) and _HEX64.match(value) is not None


def short(sha256: str) -> str:
    """The first 12 hex digits, for messages."""
    return sha256[:12]


@dataclasses.dataclass(frozen=True)
class BlobRef:
    """A tree entry: the hash and size of the file stored at a path.

    Attributes:
        sha256: Lowercase hex SHA-256 of the file's bytes (the blob's name).
        size: Length of the file in bytes.
    """

    sha256: str
    size: int

    def encode(self) -> bytes:
        """The ref as stored: one line of JSON."""
        # The same bytes as json.dumps({"sha256": ..., "size": ...}) + "\n", without the encoder.
        return b'{"sha256": "%s", "size": %d}\n' % (self.sha256.encode("ascii"), self.size)

    @classmethod
    def decode(cls, data: bytes, *, where: str) -> "BlobRef":
        """Parse a stored ref; ``where`` names it in the error if it is damaged.

        Raises:
            IntegrityError: The ref is not the JSON this module writes.
        """
        found = _ENCODED.fullmatch(data) if isinstance(data, bytes) else None
        if found is not None:  # what encode() writes: no JSON parser needed
            return cls(found.group(1).decode("ascii"), int(found.group(2)))
        try:
            obj = json.loads(data)
            sha256, size = obj["sha256"], obj["size"]
        except (ValueError, TypeError, KeyError) as exc:
            raise integrity_error(f"The tree entry for '{where}' is damaged ({exc})") from None
        if not is_sha256(sha256) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise integrity_error(f"The tree entry for '{where}' is damaged: {obj!r}")
        return cls(sha256, size)


@dataclasses.dataclass(frozen=True)
class BlobInfo:
    """A blob as the store sees it (for garbage collection).

    Attributes:
        sha256: The blob's name.
        size: Stored length in bytes.
        mtime: When it was last written or re-used (seconds since the epoch); a blob re-used by
            a new upload is touched so the collector's grace period covers it again.
    """

    sha256: str
    size: int
    mtime: float


@dataclasses.dataclass(frozen=True)
class PutResult:
    """What storing one file did.

    Attributes:
        sha256: The blob's name.
        size: Its length.
        created: ``False`` when an identical blob already existed and nothing new was stored.
    """

    sha256: str
    size: int
    created: bool

    @property
    def ref(self) -> BlobRef:
        """The tree entry that points at this blob."""
        return BlobRef(self.sha256, self.size)
