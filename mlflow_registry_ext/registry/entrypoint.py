"""Entry-point target of the ``governed+<engine>`` registry-store schemes."""

from mlflow_registry_ext.registry.store import GovernedRegistryStore


def governed_store(store_uri, tracking_uri=None):
    """Build the governed store for ``store_uri`` (MLflow calls this for each scheme)."""
    return GovernedRegistryStore(store_uri=store_uri, tracking_uri=tracking_uri)
