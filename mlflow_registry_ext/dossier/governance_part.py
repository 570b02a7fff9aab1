"""The ``fairness`` and ``governance`` parts: what the governance database holds on a version."""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.dossier.parts import iso, missing, present

__all__ = ["fairness_part", "governance_part"]


def fairness_part(db: Any, model: str, version: str) -> dict:
    """The newest fairness check of each metric, feature and dataset."""
    from mlflow_registry_ext.fairness.records import FairnessStore

    checks = [c.to_dict() for c in FairnessStore(db).latest(model, version)]
    for check in checks:
        check["recorded_at"] = iso(check.get("created_at_ms"))
    if not checks:
        return missing("no fairness check is recorded for this version", checks=[], passed=None)
    verdicts = [c.get("passed") for c in checks if c.get("passed") is not None]
    return present(checks=checks, passed=all(verdicts) if verdicts else None)


def _request(request) -> dict:
    data = request.to_dict()
    data["created_at"] = iso(request.created_at_ms)
    for decision in data.get("decisions") or ():
        decision["decided_at"] = iso(decision.get("decided_at_ms"))
    return data


def governance_part(governed: Any | None, db: Any, rule: Any | None, model: str, version: str,
                    aliases: tuple[str, ...]) -> dict:
    """Status, requests with their decisions, and the history of the protected aliases."""
    from mlflow_registry_ext.audit import log as audit_log

    history: dict[str, list] = {}
    with db.reading() as engine:
        for alias in aliases:
            items = [i.to_dict() for i in audit_log.alias_history(engine, model, alias)]
            for item in items:
                item["since"] = iso(item["since_ms"])
            history[alias] = items
    fields: dict[str, Any] = {
        "rule": rule.describe() if rule else None,
        "protected_aliases": list(rule.protected_aliases) if rule else [],
        "protected_stages": list(rule.protected_stages) if rule else [],
        "alias_history": history,
    }
    if governed is None or not hasattr(governed, "approvals"):
        return missing("the registry is not governed (no governed+ store URI)", version_status=None, requests=[], **fields)
    status = governed.status_tags.compute(model, version).to_dict()
    requests = [_request(r) for r in governed.approvals.list(model=model, version=version, limit=200)]
    return present(version_status=status, requests=requests, **fields)
