"""A content-addressed root under an S3 prefix (``cas+s3://bucket/prefix``).

Writes are conditional puts: a blob is sent under its final key with ``If-None-Match: *``, so S3
refuses to overwrite an existing blob, and a multipart upload stays invisible until it completes,
so a crash never leaves part of a blob under its name (``artifacts gc`` aborts the leftovers).
S3 also checks each request's SHA-256 (``x-amz-checksum-sha256``) and refuses bytes that changed
on the way.

Where the network is the cost, the store learns a file's name before sending it: a local file is
hashed first (a local read at ~1 GB/s), so a blob the root already holds is never sent again. The
upload re-hashes what it sends and aborts if the file changed in between. Streams (proxied
uploads) are spooled to a local temporary file while being hashed, then sent the same way.

Re-using a blob writes a small ``touched/<hash>`` object, which restarts the collector's grace
period for it without rewriting the blob.

Example:
    >>> store = S3Store("bucket", "mlflow")     # doctest: +SKIP
    >>> store.put_file("weights.bin").created   # doctest: +SKIP
    True
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import hashlib
import os
import tempfile
import time
from typing import BinaryIO, Iterator

from mlflow_registry_ext.artifacts.blobs import BlobInfo, PutResult, is_sha256, integrity_error
from mlflow_registry_ext.artifacts.hashing import (
    CHUNK_SIZE,
    HashResult,
    hash_bytes,
    hash_file,
    read_full,
)
from mlflow_registry_ext.artifacts.paths import join_paths
from mlflow_registry_ext.artifacts.s3_client import error_code, s3_client, s3_errors
from mlflow_registry_ext.artifacts.store import MARKER_NAME, SMALL_FILE, Store, marker_bytes
from mlflow_registry_ext.errors import InvalidInput, NotFound
from mlflow_registry_ext import settings

__all__ = ["S3Store", "PART_SIZE_ENV_VAR"]

PART_SIZE_ENV_VAR = settings.CAS_S3_PART_SIZE.name
_MIN_PART = 5 * 1024 * 1024
_MAX_PARTS = 10_000
_PARALLEL_PARTS = 4
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _part_size(size: int) -> int:
    wanted = int(settings.CAS_S3_PART_SIZE.raw() or SMALL_FILE)
    return max(_MIN_PART, wanted, -(-size // _MAX_PARTS))


class S3Store(Store):
    """A root under ``s3://bucket/prefix``."""

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"cas+s3://{bucket}/{self.prefix}".rstrip("/")
        self._client = client or s3_client()
        self.endpoint_key = str(self._client.meta.endpoint_url)

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, {self.prefix!r})"

    # -- keys ------------------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return join_paths(self.prefix, *parts)

    def blob_key(self, sha256: str) -> str:
        """The key of the blob named ``sha256`` (for tests and tools)."""
        return self._key("blobs", "sha256", sha256[:2], sha256)

    def _tree_key(self, path: str) -> str:
        return self._key("trees", path)

    def _tree_dir(self, path: str) -> str:
        return self._key("trees", path) + "/"

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # -- small objects -----------------------------------------------------------------------------

    def _get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        with s3_errors("reading", self._where(key)):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise
            with contextlib.closing(response["Body"]) as body:
                return body.read()

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        with s3_errors("reading", self._where(key)):
            try:
                return self._client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                    return None
                raise

    def _put_new(self, key: str, data: bytes) -> bool:
        """Create ``key`` unless it exists; ``False`` if it already did."""
        from botocore.exceptions import ClientError

        with s3_errors("writing", self._where(key)):
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    IfNoneMatch="*",
                    ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
                )
            except ClientError as exc:
                if error_code(exc) in _PRECONDITION:
                    return False
                raise
        return True

    def _list(self, prefix: str, delimiter: str | None = None) -> Iterator[dict]:
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        paginator = self._client.get_paginator("list_objects_v2")
        with s3_errors("listing", self._where(prefix)):
            yield from paginator.paginate(**kwargs)

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            with s3_errors("deleting under", self._where(self.prefix)):
                self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )

    # -- marker ----------------------------------------------------------------------------------

    def read_marker(self) -> bytes | None:
        return self._get(self._key(MARKER_NAME))

    def create_marker(self) -> None:
        self._put_new(self._key(MARKER_NAME), marker_bytes())

    # -- refs ------------------------------------------------------------------------------------

    def read_ref(self, path: str) -> bytes | None:
        return self._get(self._tree_key(path)) if path else None

    def read_refs(self, paths: list[str]) -> list[bytes | None]:
        if len(paths) <= 1:
            return [self.read_ref(p) for p in paths]
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(self.read_ref, paths))

    def write_ref(self, path: str, data: bytes) -> None:
        key = self._tree_key(path)
        with s3_errors("writing", self._where(key)):
            self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
            )

    def write_tree(self, path: str, refs: list[tuple[str, bytes]]) -> bool:
        if self.is_dir(path):
            return False
        # S3 has no rename: the refs go up in parallel; a reader of a part-written snapshot is
        # refused by the digest in its name, and no manifest points at it before this returns.
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda item: self.write_ref(f"{path}/{item[0]}", item[1]), refs))
        return True

    def is_dir(self, path: str) -> bool:
        if not path:
            return True
        for page in self._list(self._tree_dir(path)):
            return page.get("KeyCount", 0) > 0
        return False

    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        base = self._tree_dir(path) if path else self._key("trees") + "/"
        files, dirs = [], []
        for page in self._list(base, delimiter="/"):
            dirs += [p["Prefix"][len(base) :].rstrip("/") for p in page.get("CommonPrefixes", [])]
            files += [o["Key"][len(base) :] for o in page.get("Contents", [])]
        return sorted(f for f in files if f), sorted(d for d in dirs if d)

    def walk_files(self, path: str) -> Iterator[str]:
        trees = self._key("trees") + "/"
        base = self._tree_dir(path) if path else trees
        for page in self._list(base):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(trees) :]

    def walk_empty_dirs(self, path: str) -> Iterator[str]:
        return iter(())

    def make_dirs(self, path: str) -> None:
        """S3 has no empty directories (as with MLflow's own S3 repository)."""

    def delete_refs(self, path: str) -> None:
        keys = []
        if path and self.read_ref(path) is not None:
            keys.append(self._tree_key(path))
        base = self._tree_dir(path) if path else self._key("trees") + "/"
        for page in self._list(base):
            keys += [o["Key"] for o in page.get("Contents", [])]
        self._delete_keys(keys)

    # -- blobs -----------------------------------------------------------------------------------

    def blob_info(self, sha256: str) -> BlobInfo | None:
        head = self._head(self.blob_key(sha256))
        if head is None:
            return None
        return BlobInfo(sha256, int(head["ContentLength"]), head["LastModified"].timestamp())

    def _touch(self, sha256: str) -> None:
        key = self._key("touched", sha256)
        with s3_errors("writing", self._where(key)):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=b"")

    def reuse(self, digest: HashResult) -> bool:
        info = self.blob_info(digest.sha256)
        if info is None:
            return False
        if info.size != digest.size:
            # Only tampering can give a blob the wrong length: move it aside and store it anew.
            key = self.blob_key(digest.sha256)
            aside = self._key("tmp", f"damaged.{digest.sha256}.{time.time_ns()}")
            with s3_errors("moving aside", self._where(key)):
                self._client.copy_object(
                    Bucket=self.bucket, Key=aside, CopySource={"Bucket": self.bucket, "Key": key}
                )
                self._client.delete_object(Bucket=self.bucket, Key=key)
            return False
        self._touch(digest.sha256)
        return True

    def put_bytes(self, data: bytes) -> PutResult:
        digest = hash_bytes(data)
        if self.reuse(digest):
            return PutResult(digest.sha256, digest.size, created=False)
        created = self._put_new(self.blob_key(digest.sha256), data)
        if not created:
            self._touch(digest.sha256)
        return PutResult(digest.sha256, digest.size, created=created)

    def put_large_file(self, local_path: str) -> PutResult:
        digest = hash_file(local_path)
        if self.reuse(digest):
            return PutResult(digest.sha256, digest.size, created=False)
        return self._upload_multipart(local_path, digest)

    def put_stream(self, stream: BinaryIO) -> PutResult:
        first = read_full(stream, SMALL_FILE + 1)
        if len(first) <= SMALL_FILE:
            return self.put_bytes(first)
        hasher = hashlib.sha256(first)
        size = len(first)
        with tempfile.NamedTemporaryFile(prefix="cas-upload-") as spool:
            spool.write(first)
            while chunk := read_full(stream, CHUNK_SIZE):
                hasher.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            spool.flush()
            digest = HashResult(hasher.hexdigest(), size)
            if self.reuse(digest):
                return PutResult(digest.sha256, digest.size, created=False)
            return self._upload_multipart(spool.name, digest)

    def _upload_multipart(self, local_path: str, digest: HashResult) -> PutResult:
        from botocore.exceptions import ClientError

        key = self.blob_key(digest.sha256)
        part_size = _part_size(digest.size)
        with s3_errors("uploading", self._where(key)):
            upload_id = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256"
            )["UploadId"]
        completed = False
        try:
            parts = self._send_parts(local_path, key, upload_id, part_size, digest)
            with s3_errors("uploading", self._where(key)):
                try:
                    self._client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                        IfNoneMatch="*",
                    )
                except ClientError as exc:
                    if error_code(exc) not in _PRECONDITION:
                        raise
                    self._touch(digest.sha256)
                    return PutResult(digest.sha256, digest.size, created=False)
            completed = True
        finally:
            if not completed:
                with contextlib.suppress(Exception):
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
        return PutResult(digest.sha256, digest.size, created=True)

    def _send_parts(self, local_path, key, upload_id, part_size, digest) -> list[dict]:
        whole = hashlib.sha256()
        size = 0
        pending: dict[concurrent.futures.Future, int] = {}
        parts = []

        def send(number: int, data: bytes) -> dict:
            checksum = _b64(hashlib.sha256(data).digest())
            with s3_errors("uploading", self._where(key)):
                response = self._client.upload_part(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ChecksumSHA256=checksum,
                )
            return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

        with concurrent.futures.ThreadPoolExecutor(max_workers=_PARALLEL_PARTS) as pool, open(
            local_path, "rb", buffering=0
        ) as src:
            number = 0
            while data := read_full(src, part_size):
                number += 1
                whole.update(data)
                size += len(data)
                pending[pool.submit(send, number, data)] = number
                if len(pending) >= _PARALLEL_PARTS:
                    done, _ = concurrent.futures.wait(
                        pending, return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    for future in done:
                        pending.pop(future)
                        parts.append(future.result())
            for future in concurrent.futures.as_completed(list(pending)):
                parts.append(future.result())
        if whole.hexdigest() != digest.sha256 or size != digest.size:
            raise InvalidInput(f"'{local_path}' changed while it was being stored; log it again")
        return sorted(parts, key=lambda p: p["PartNumber"])

    def open_blob(self, sha256: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        key = self.blob_key(sha256)
        with s3_errors("reading", self._where(key)):
            try:
                return self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise integrity_error(f"Blob sha256:{sha256} is missing from {self.uri}") from None
                raise

    def _touched(self) -> dict[str, float]:
        base = self._key("touched") + "/"
        found = {}
        for page in self._list(base):
            for obj in page.get("Contents", []):
                found[obj["Key"][len(base) :]] = obj["LastModified"].timestamp()
        return found

    def iter_blobs(self) -> Iterator[BlobInfo]:
        touched = self._touched()
        base = self._key("blobs", "sha256") + "/"
        for page in self._list(base):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if not is_sha256(name):
                    continue
                mtime = max(obj["LastModified"].timestamp(), touched.get(name, 0.0))
                yield BlobInfo(name, int(obj["Size"]), mtime)

    def delete_blob(self, sha256: str, *, not_touched_after: float) -> bool:
        info = self.blob_info(sha256)
        if info is None:
            return False
        touch = self._head(self._key("touched", sha256))
        mtime = max(info.mtime, touch["LastModified"].timestamp() if touch else 0.0)
        if mtime > not_touched_after:
            return False
        self._delete_keys([self.blob_key(sha256), self._key("touched", sha256)])
        return True

    def iter_stale_uploads(self, before: float) -> Iterator[tuple[str, int]]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        with s3_errors("listing uploads under", self._where(self.prefix)):
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=self._key("blobs") + "/"))
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < before:
                    yield f"upload:{upload['Key']}:{upload['UploadId']}", 0
        base = self._key("tmp") + "/"
        for page in self._list(base):
            for obj in page.get("Contents", []):
                if obj["LastModified"].timestamp() < before:
                    yield obj["Key"][len(base) :], int(obj["Size"])

    def remove_stale_upload(self, name: str) -> None:
        if name.startswith("upload:"):
            _, key, upload_id = name.split(":", 2)
            with contextlib.suppress(NotFound), s3_errors("aborting upload", self._where(key)):
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            return
        self._delete_keys([self._key("tmp", os.path.basename(name))])

