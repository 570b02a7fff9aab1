"""The file list of a model version that signatures and attestations are made over.

One function, so the source of the list can change in one place (a pinned manifest, once
versions carry one) while everything that signs or verifies stays the same.
"""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.artifacts.digest import ModelDigest, model_digest

__all__ = ["version_files"]


def version_files(inner_store: Any, model: str, version: str) -> ModelDigest:
    """The digest and file list (path, size, SHA-256) of a version's artifacts.

    Raises:
        NotFound: The version has no artifacts.
        StorageUnavailable: Its artifacts cannot be read.
    """
    uri = inner_store.get_model_version_download_uri(model, str(version))
    return model_digest(uri)
