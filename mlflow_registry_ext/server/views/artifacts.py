"""A model version's artifact digest and verification, computed by the server from its stores.

Only model versions are accepted (not arbitrary URIs), so a caller cannot make the server read
paths of its choosing.
"""

from __future__ import annotations

from mlflow_registry_ext.artifacts.digest import model_digest
from mlflow_registry_ext.artifacts.verify import verify
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server.views._serves import serves


def _uri(ctx, model: str, version: str) -> str:
    if not version.isascii() or not version.isdigit():
        raise InvalidInput(f"version must be a version number, got {version!r}")
    ctx.registry_store()
    return f"models:/{model}/{int(version)}"


@serves("artifacts_digest")
def artifacts_digest(ctx, access, model, version):
    return model_digest(_uri(ctx, model, version))


@serves("artifacts_verify")
def artifacts_verify(ctx, access, model, version, expected_digest):
    return verify(_uri(ctx, model, version), expected_digest=expected_digest)
