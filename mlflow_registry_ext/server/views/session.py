"""``GET .../whoami``: who the server takes the caller to be (the reviewer page starts here)."""

from __future__ import annotations

from mlflow_registry_ext import identity
from mlflow_registry_ext.server.views._serves import serves


@serves("whoami")
def whoami(ctx, access):
    return {
        "user": identity.current_actor(),
        "authenticated": access.user is not None,
        "auth": access.mode,
        "admin": access.admin,
        "governed": ctx.governed,
        "can_decide": access.user is not None,
    }
