"""Helpers shared by the artifact tests: files to log, run URIs, and ways to damage a root."""

from __future__ import annotations

import os
import stat
import uuid

from mlflow_registry_ext.artifacts.local_store import LocalStore
from mlflow_registry_ext.artifacts.root import open_root
from mlflow_registry_ext.artifacts.store import Store


def run_uri(root_uri: str, experiment: str = "1") -> str:
    """The artifact URI MLflow gives a new run under ``root_uri``."""
    return f"{root_uri}/{experiment}/{uuid.uuid4().hex}/artifacts"


def write(path, data: bytes | str) -> str:
    """Write a file (creating directories) and return its path as a string."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def store_of(uri: str) -> Store:
    """The store of the root enclosing ``uri`` (which must exist)."""
    found = open_root(uri, create=False)
    assert found is not None, f"no root at or above {uri}"
    return found[0]


def blob_names(store: Store) -> set[str]:
    """The hashes of every blob in the root."""
    return {b.sha256 for b in store.iter_blobs()}


def overwrite_blob(store: Store, sha256: str, data: bytes) -> None:
    """Replace a blob's bytes behind the store's back (what an attacker or a bad disk does)."""
    if isinstance(store, LocalStore):
        path = store.blob_path(sha256)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        with open(path, "wb") as f:
            f.write(data)
        return
    store._client.put_object(Bucket=store.bucket, Key=store.blob_key(sha256), Body=data)


def remove_blob(store: Store, sha256: str) -> None:
    """Make a blob vanish behind the store's back."""
    if isinstance(store, LocalStore):
        os.unlink(store.blob_path(sha256))
        return
    store._client.delete_object(Bucket=store.bucket, Key=store.blob_key(sha256))
