"""``GET .../dossier``: the reviewer's evidence about a model version."""

from __future__ import annotations

from mlflow_registry_ext.dossier.build import build_dossier
from mlflow_registry_ext.server.views._serves import serves


@serves("dossier_get")
def dossier_get(ctx, access, model, version, alias):
    store = ctx.registry_store()
    inner = getattr(store, "inner", store)
    governed = store if hasattr(store, "approvals") else None
    return build_dossier(ctx.mlflow_client(), inner, ctx.db, ctx.policy, model, version, alias, governed=governed)
