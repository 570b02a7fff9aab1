"""Where checkpoints are kept outside the database: append-only files and S3 objects.

``MLFLOW_GOVERNANCE_AUDIT_WITNESSES`` is a comma-separated list of URIs:

- ``file:///var/lib/witness/checkpoints.txt``: every checkpoint note appended (``O_APPEND``,
  fsync'd) to one file, oldest first; nothing in it is ever rewritten.
- ``s3://bucket/prefix``: one object per checkpoint, ``prefix/<size, 20 digits>-<root, 16 hex>``;
  an object that exists is never overwritten (a bucket with object lock or versioning keeps
  even the operator from taking one back).

Every checkpoint is also the webhook event ``audit.checkpoint``; a receiver's JSON Lines stream
of those events reads back like a file of notes (:func:`read_notes`).

Example:
    >>> for witness in witnesses_from_env():    # doctest: +SKIP
    ...     witness.publish(note, size, root)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from mlflow_registry_ext.audit.note import split_notes
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext import settings

__all__ = [
    "WITNESSES_ENV",
    "FileWitness",
    "S3Witness",
    "Witness",
    "read_notes",
    "witness_for_uri",
    "witnesses_from_env",
]

WITNESSES_ENV = settings.AUDIT_WITNESSES.name


class Witness(Protocol):
    uri: str

    def publish(self, note: str, size: int, root: bytes) -> None: ...

    def notes(self) -> list[str]: ...


class FileWitness:
    """An append-only local file of checkpoint notes."""

    def __init__(self, path: str | os.PathLike, uri: str | None = None):
        self.path = Path(path)
        self.uri = uri or self.path.as_uri()

    def publish(self, note: str, size: int, root: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, note.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def notes(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(f"No checkpoint file at {self.path}") from None
        except OSError as exc:
            raise InvalidInput(f"Cannot read {self.path}: {exc.strerror or exc}") from exc
        return read_notes(text)


class S3Witness:
    """One S3 object per checkpoint under ``s3://bucket/prefix``."""

    def __init__(self, bucket: str, prefix: str, uri: str | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = uri or f"s3://{bucket}/{self.prefix}"

    def _key(self, size: int, root: bytes) -> str:
        name = f"{size:020d}-{root.hex()[:16]}.checkpoint"
        return f"{self.prefix}/{name}" if self.prefix else name

    def publish(self, note: str, size: int, root: bytes) -> None:
        from mlflow_registry_ext.artifacts.s3_client import error_code, s3_client, s3_errors

        client = s3_client()
        key = self._key(size, root)
        with s3_errors("writing", f"s3://{self.bucket}/{key}"):
            try:
                client.head_object(Bucket=self.bucket, Key=key)
                return
            except Exception as exc:  # botocore's ClientError: only "not there" goes on
                if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                    raise
            client.put_object(Bucket=self.bucket, Key=key, Body=note.encode("utf-8"),
                              ContentType="text/plain; charset=utf-8")

    def notes(self) -> list[str]:
        from mlflow_registry_ext.artifacts.s3_client import s3_client, s3_errors

        client = s3_client()
        out: list[str] = []
        prefix = f"{self.prefix}/" if self.prefix else ""
        with s3_errors("listing", self.uri):
            paginator = client.get_paginator("list_objects_v2")
            keys = [
                obj["Key"]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for obj in page.get("Contents", [])
                if obj["Key"].endswith(".checkpoint")
            ]
            for key in sorted(keys):
                body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                out.extend(read_notes(body.decode("utf-8", errors="replace")))
        return out


def read_notes(text: str) -> list[str]:
    """Checkpoint notes from a file of notes, or from a JSON Lines stream of ``audit.checkpoint``
    webhook events (one event body per line, as a receiver stores them)."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return split_notes(text)
    notes = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise InvalidInput(f"line {number} is not JSON: {exc}") from exc
        if not isinstance(event, dict):
            continue
        data = event.get("data") if isinstance(event.get("data"), dict) else event
        if event.get("type", "audit.checkpoint") == "audit.checkpoint" and isinstance(data.get("note"), str):
            notes.append(data["note"])
    return notes


def witness_for_uri(uri: str) -> FileWitness | S3Witness:
    """The witness a URI names (``file:///path``, a plain path, or ``s3://bucket/prefix``)."""
    uri = uri.strip()
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"Witness {uri!r}: a file URI names a local path (file:///...)")
        return FileWitness(unquote(parsed.path), uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise InvalidInput(f"Witness {uri!r} names no bucket (s3://bucket/prefix)")
        return S3Witness(parsed.netloc, parsed.path, uri)
    if parsed.scheme == "" and uri:
        return FileWitness(uri)
    raise InvalidInput(f"Witness {uri!r}: use file:///path or s3://bucket/prefix")


def witnesses_from_env(value: str | None = None) -> list[FileWitness | S3Witness]:
    """The witnesses of ``MLFLOW_GOVERNANCE_AUDIT_WITNESSES`` (or ``value``)."""
    raw = (settings.AUDIT_WITNESSES.get() or "") if value is None else value
    return [witness_for_uri(part) for part in raw.split(",") if part.strip()]
