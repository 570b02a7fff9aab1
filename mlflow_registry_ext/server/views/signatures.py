"""``GET .../signature`` (a version's model signature and approval attestation) and
``GET .../keys`` (the public keys consumers verify them with)."""

from __future__ import annotations

from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.signing.public_keys import public_keys
from mlflow_registry_ext.signing.signatures import find_signature
from mlflow_registry_ext.server.views._serves import serves


@serves("signature_get")
def signature_get(ctx, access, model, version):
    if not version.isascii() or not version.isdigit():
        raise InvalidInput(f"version must be a version number, got {version!r}")
    store = ctx.governed_store()
    return find_signature(store.inner, ctx.db, model, str(int(version)))


@serves("keys_get")
def keys_get(ctx, access):
    return public_keys()
