"""What ``GET .../governance/health`` reports: is governance running as configured, and how far
behind is it.

* ``policy``: the policy's source and SHA-256 digest (``configured: false`` when none is set,
  so a server that enforces nothing says so);
* ``checkpoint``: the newest signed checkpoint (size, when, age in seconds) and whether a log key
  is configured; ``null`` when none was ever made;
* ``dispatcher``: undelivered webhook deliveries of the caller's workspace and the age of the
  oldest (the dispatcher's lag);
* ``reconcile``: the caller's workspace's last ``audit reconcile`` run, or ``null``.

Nothing in it is secret: no URL, no secret, no key material beyond the public verifier key.

Example:
    >>> health_report(db, policy)["checkpoint"]       # no log key, no checkpoint signed yet
    {'log_key_configured': False, 'last': None}
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, func, select

from mlflow_registry_ext.audit.checkpoint_tables import checkpoints, reconciles
from mlflow_registry_ext.db.scope import in_workspace
from mlflow_registry_ext.webhooks.entities import PENDING, SENDING
from mlflow_registry_ext.db.webhook_tables import deliveries
from mlflow_registry_ext import settings
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["health_report"]


def _age(now_ms: int, then_ms: int | None) -> float | None:
    return None if then_ms is None else round(max(0, now_ms - then_ms) / 1000.0, 3)


def _policy(policy) -> dict[str, Any]:
    if policy is None or not getattr(policy, "digest", ""):
        return {"configured": False, "source": None, "digest": None}
    return {"configured": True, "source": policy.source, "digest": f"sha256:{policy.digest}"}


def _checkpoint(conn, now_ms: int) -> dict[str, Any]:
    row = conn.execute(select(checkpoints.c.size, checkpoints.c.created_ms, checkpoints.c.origin)
                       .order_by(desc(checkpoints.c.size)).limit(1)).first()
    return {
        "log_key_configured": bool((settings.LOG_KEY.get() or "").strip()),
        "last": None if row is None else {
            "size": row.size, "origin": row.origin, "created_ms": row.created_ms,
            "age_seconds": _age(now_ms, row.created_ms),
        },
    }


def _dispatcher(conn, now_ms: int) -> dict[str, Any]:
    count, oldest = conn.execute(
        select(func.count(), func.min(deliveries.c.created_ms))
        .where(deliveries.c.status.in_((PENDING, SENDING)), in_workspace(deliveries))
    ).one()
    return {"undelivered": int(count or 0), "oldest_created_ms": oldest, "lag_seconds": _age(now_ms, oldest) or 0.0}


def _reconcile(conn, now_ms: int) -> dict[str, Any] | None:
    row = conn.execute(select(reconciles.c.ran_ms, reconciles.c.differences, reconciles.c.entry_seq)
                       .where(in_workspace(reconciles)).order_by(desc(reconciles.c.ran_ms), desc(reconciles.c.id))
                       .limit(1)).first()
    if row is None:
        return None
    return {"ran_ms": row.ran_ms, "age_seconds": _age(now_ms, row.ran_ms), "differences": row.differences,
            "entry_seq": row.entry_seq}


def health_report(db, policy, now_ms: int | None = None) -> dict[str, Any]:
    """The health of governance on ``db`` with ``policy`` (see the module docstring)."""
    now_ms = now_ms if now_ms is not None else utc_now_ms()
    with db.reading() as engine, engine.connect() as conn:
        report = {
            "status": "ok",
            "time_ms": now_ms,
            "policy": _policy(policy),
            "checkpoint": _checkpoint(conn, now_ms),
            "dispatcher": _dispatcher(conn, now_ms),
            "reconcile": _reconcile(conn, now_ms),
        }
    return report
