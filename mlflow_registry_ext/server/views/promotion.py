"""A version's governance status, promotion, rollback and the promotion dry run."""

from __future__ import annotations

from mlflow_registry_ext.errors import NotFound
from mlflow_registry_ext.server.views._serves import serves


def _promotion():
    from mlflow_registry_ext.registry import promotion

    return promotion


@serves("status_get")
def status_get(ctx, access, model, version):
    return ctx.governed_store().status_tags.compute(model, version)


@serves("status_refresh")
def status_refresh(ctx, access, model, version):
    status = ctx.governed_store().status_tags.refresh(model, version)
    if status is None:
        raise NotFound(f"Model version {model} {version} does not exist")
    return status


@serves("promote")
def promote(ctx, access, model, version, alias, stage, request_id, override_reason, archive_existing_versions):
    return _promotion().promote(
        ctx.governed_store(), model, version, alias=alias, stage=stage, request_id=request_id,
        override_reason=override_reason, archive_existing_versions=bool(archive_existing_versions),
    )


@serves("rollback")
def rollback(ctx, access, model, alias, reason, request_id, override_reason):
    return _promotion().rollback(ctx.governed_store(), model, alias, reason=reason, request_id=request_id,
                                 override_reason=override_reason)


@serves("promotion_check")
def promotion_check(ctx, access, model, version, alias, stage, action):
    return _promotion().check_promotion(ctx.governed_store(), model, version, alias=alias, stage=stage,
                                     action=action or "promote")
