"""Signed checkpoints of the audit log over REST: make one, list them, and the proofs a client
checks offline with :func:`mlflow_registry_ext.audit.verify_inclusion` / ``verify_consistency``.

Checkpoints describe the deployment's one log (they reveal its size and root, nothing of any
entry); an inclusion proof carries its entry's body, so it is given only for an entry of the
caller's workspace that the caller may read.
"""

from __future__ import annotations

from mlflow_registry_ext.audit import checkpoints
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.server.views._serves import serves


@serves("audit_checkpoint_create")
def audit_checkpoint_create(ctx, access):
    return checkpoints.create(ctx.db)


@serves("audit_checkpoints_list")
def audit_checkpoints_list(ctx, access, limit, before_size):
    limit = limit or 100
    found = checkpoints.list_checkpoints(ctx.db, limit, before_size)
    cursor = found[-1].size if len(found) == limit else None
    return {"checkpoints": found, "next_before_size": cursor}


@serves("audit_proof")
def audit_proof(ctx, access, seq, size):
    return checkpoints.inclusion(ctx.db, seq, size, may_read=access.can_read)


@serves("audit_consistency")
def audit_consistency(ctx, access, old, new):
    if new is not None and old > new:
        raise InvalidInput(f"old ({old}) must not be larger than new ({new})")
    return checkpoints.consistency(ctx.db, old, new)
