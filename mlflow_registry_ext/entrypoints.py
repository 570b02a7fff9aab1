"""Targets of the store and artifact-repository entry points MLflow discovers.

MLflow loads these while ``mlflow`` itself is being imported, so this module (a direct child of
a package whose ``__init__`` imports nothing) imports none of our code until it is called: a
process that imports one of our modules first, as the CLI does, would otherwise hand MLflow a
half-initialised module and lose the schemes.
"""


def governed_store(store_uri, tracking_uri=None):
    """The ``governed+<engine>`` registry store for ``store_uri``."""
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    return GovernedRegistryStore(store_uri=store_uri, tracking_uri=tracking_uri)


def cas_repository(artifact_uri, tracking_uri=None, registry_uri=None):
    """The ``cas+file`` / ``cas+s3`` content-addressed artifact repository for ``artifact_uri``."""
    from mlflow_registry_ext.artifacts.repository import CasArtifactRepository

    return CasArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)


def verified_repository(artifact_uri, tracking_uri=None, registry_uri=None):
    """The ``verified:`` repository: a version's files, served only while they match its manifest."""
    from mlflow_registry_ext.artifacts.verified_repository import VerifiedArtifactRepository

    return VerifiedArtifactRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
