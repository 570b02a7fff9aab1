"""Security scan views: scan a version now, list recorded reports."""

from __future__ import annotations
from mlflow_registry_ext.server.views._serves import serves


@serves("scans_create")
def scans_create(ctx, access, model, version):
    from mlflow_registry_ext.security.service import scan_version

    store = ctx.governed_store()
    return scan_version(ctx.db, store.inner, model, version, policy=store.policy)


@serves("scans_list")
def scans_list(ctx, access, model, version):
    from mlflow_registry_ext.security.records import ScanStore

    return {"scans": ScanStore(ctx.db).list(model, version)}
