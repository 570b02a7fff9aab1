"""Entry-point target of the ``cas+file`` and ``cas+s3`` artifact-repository schemes."""

from mlflow_registry_ext.artifacts.repository import CasArtifactRepository


def cas_repository(artifact_uri, tracking_uri=None, registry_uri=None):
    """Build the content-addressed repository for ``artifact_uri`` (MLflow calls this per scheme)."""
    return CasArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
