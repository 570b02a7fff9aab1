"""Which versions a rollback may return an alias to.

A rollback is reviewed by a smaller quorum than a promotion (by default one approval) because it
returns the alias to something that was already reviewed. So its target must really be that: a
version that an applied approval request put under the same alias, in the same workspace and
the same incarnation of the model (see :mod:`~mlflow_registry_ext.db.incarnation`), for the same version (not one
deleted and created again under the number), whose artifacts are still the ones approved.

Example:
    >>> from mlflow_registry_ext.approvals.version_state import read_version
    >>> from mlflow_registry_ext.db.incarnation import live_model_created_ms
    >>> state = read_version(store.inner, "fraud-model", "1")
    >>> live_ms = live_model_created_ms(store.inner, "fraud-model")
    >>> check_rollback_target(db, store.inner, "production", live_ms, state, digest_required=False)
    Traceback (most recent call last):
    mlflow_registry_ext.errors.InvalidInput: Version 1 of fraud-model was never approved for alias ...
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from mlflow_registry_ext.db.scope import in_workspace
from mlflow_registry_ext.entities import ApprovalRequest
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.approvals.records import request_from_row
from mlflow_registry_ext.approvals.tables import requests_table
from mlflow_registry_ext.db.incarnation import of_incarnation
from mlflow_registry_ext.approvals.version_state import VersionState, read_digest

__all__ = ["current_artifact_digest", "digest_still_matches", "last_approval_for", "check_rollback_target"]

_DIGEST_TAG = "governance.artifact_digest"


def current_artifact_digest(inner_store: Any, state: VersionState) -> str | None:
    """The artifact digest the version has now: the ``governance.artifact_digest`` recorded for
    it (the governed store writes it and nobody else may), read from its artifacts when none
    is recorded."""
    recorded = state.tags.get(_DIGEST_TAG)
    if recorded:
        return recorded
    return read_digest(inner_store, state.model, state.version).digest


def digest_still_matches(approved_digest: str | None, current_digest: str | None, *, required: bool) -> bool:
    """Whether the artifacts approved are the artifacts the version has now.

    ``required``: the rule binds approvals to the digest, so an approval that recorded none (or
    a version whose digest is unknown) does not match.
    """
    if approved_digest is None or current_digest is None:
        return not required and approved_digest is None
    return approved_digest == current_digest


def last_approval_for(
    conn, model: str, version: str, alias: str, live_model_ms: int | None, version_created_ms: int | None
) -> ApprovalRequest | None:
    """The newest applied promotion or rollback of ``version`` to ``alias`` in the caller's
    workspace and the live incarnation of ``model``."""
    t = requests_table
    conds = [
        in_workspace(t),
        t.c.model == model,
        t.c.version == str(version),
        t.c.target_kind == "alias",
        t.c.target == alias,
        t.c.status == "applied",
        t.c.action.in_(("promote", "rollback")),
        of_incarnation(t, live_model_ms),
    ]
    if version_created_ms is not None:
        conds.append(
            or_(
                t.c.version_created_ms == version_created_ms,
                and_(t.c.version_created_ms.is_(None), t.c.created_at_ms >= version_created_ms),
            )
        )
    row = conn.execute(
        select(t).where(*conds).order_by(t.c.applied_at_ms.desc(), t.c.id).limit(1)
    ).mappings().first()
    return request_from_row(row) if row else None


def check_rollback_target(
    db, inner_store: Any, alias: str, live_model_ms: int | None, state: VersionState, *, digest_required: bool
) -> ApprovalRequest:
    """The approval that makes ``state`` a valid rollback target of ``alias``.

    Raises:
        InvalidInput: It was never approved for the alias in this incarnation of the model, or
            its artifacts changed since.
    """
    with db.reading() as engine, engine.connect() as conn:
        approval = last_approval_for(conn, state.model, state.version, alias, live_model_ms, state.created_ms)
    if approval is None:
        raise InvalidInput(
            f"Version {state.version} of {state.model} was never approved for alias {alias!r} of "
            "this model (a deleted model of the same name does not count); a rollback only "
            "returns to an approved version: request a promotion instead"
        )
    current = current_artifact_digest(inner_store, state)
    if not digest_still_matches(approval.artifact_digest, current, required=digest_required):
        raise InvalidInput(
            f"The artifacts of version {state.version} of {state.model} are not the ones approved "
            f"for alias {alias!r} by request {approval.id} (approved {approval.artifact_digest}, "
            f"now {current}); a rollback cannot return to it: request a promotion instead"
        )
    return approval
