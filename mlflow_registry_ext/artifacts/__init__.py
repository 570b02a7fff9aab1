"""Content-addressed, verified artifact storage for MLflow (``cas+file:`` and ``cas+s3:``).

Artifact files are stored once as blobs named by their SHA-256; each run's or logged model's
artifact tree maps paths to blobs (size, hash). Every download re-hashes the bytes. A model's
artifact digest is one SHA-256 over its sorted file list.

Example:
    >>> import mlflow
    >>> mlflow.create_experiment("fraud", artifact_location="cas+file:///data/mlflow")  # doctest: +SKIP
    >>> model_digest("models:/fraud@champion").digest                                  # doctest: +SKIP
    'sha256:...'
"""

from mlflow_registry_ext.artifacts.digest import FileEntry, ModelDigest, digest_of, model_digest
from mlflow_registry_ext.artifacts.gc import GcReport, collect_garbage, parse_duration
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository
from mlflow_registry_ext.artifacts.verify import FileProblem, VerifyReport, verify

__all__ = [
    "CasArtifactRepository",
    "FileEntry",
    "FileProblem",
    "GcReport",
    "ModelDigest",
    "VerifyReport",
    "collect_garbage",
    "digest_of",
    "model_digest",
    "parse_duration",
    "verify",
]
