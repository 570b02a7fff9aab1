"""``build_dossier``: the one library call behind the REST view, the client and the CLI.

Example:
    >>> from mlflow import MlflowClient
    >>> client = MlflowClient(tracking_uri=tracking_uri)
    >>> dossier = build_dossier(client, store, db, policy, "fraud-model", "2", alias="production")
    >>> dossier["fairness"]["status"], dossier["model_card"]["status"]
    ('present', 'missing')
    >>> dossier["missing"][:3]        # parts with nothing to show: no run, no logged metrics
    ['comparison', 'metrics', 'lineage']
"""

from __future__ import annotations

import time
from typing import Any

from mlflow_registry_ext.dossier import DOSSIER_VERSION
from mlflow_registry_ext.dossier.artifact_signature import artifact_signature_part
from mlflow_registry_ext.dossier.comparison import compare
from mlflow_registry_ext.dossier.datasets import datasets_part
from mlflow_registry_ext.dossier.environment import environment_part, input_example_part, signature_part
from mlflow_registry_ext.dossier.governance_part import fairness_part, governance_part
from mlflow_registry_ext.dossier.lineage import code_part, lineage_part
from mlflow_registry_ext.dossier.model_card import model_card_part
from mlflow_registry_ext.dossier.model_files import CARD_FILE, read_model_files
from mlflow_registry_ext.dossier.parts import iso, missing, present
from mlflow_registry_ext.dossier.sources import current_version, read_records
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["build_dossier", "metric_directions", "comparison_target"]


def metric_directions(rule: Any | None) -> dict[str, str]:
    """The direction each metric of ``require.metrics`` sets (others use the default by name)."""
    if rule is None:
        return {}
    return {m.name: m.direction for m in rule.require.metrics if m.direction}


def comparison_target(rule: Any | None, registry: Any, model: str, version: str,
                      alias: str | None) -> tuple[str | None, str | None]:
    """``(alias, version it points to)`` to compare with: the given alias, else the first
    protected alias of the rule that points to another version."""
    if alias:
        return alias, current_version(registry, model, "alias", alias)
    for name in (rule.protected_aliases if rule else ()):
        held = current_version(registry, model, "alias", name)
        if held is not None and held != version:
            return name, held
    return None, None


def _comparison(client, registry, rule, model, version, alias, candidate) -> dict:
    target, held = comparison_target(rule, registry, model, version, alias)
    base = {"alias": target, "current_version": held, "rows": []}
    if target is None:
        return missing("no alias given and no protected alias points to another version", **base)
    if held is None:
        return missing(f"alias {target!r} points to no version yet", **base)
    if held == version:
        return missing(f"alias {target!r} already points to this version", **base)
    current = read_records(client, registry, model, held)
    rows = compare(candidate, current.metrics, metric_directions(rule))
    if not rows:
        return missing("the candidate has no metrics", **base)
    return present(**{**base, "rows": rows})


def _artifacts(model: str, version: str) -> dict:
    from mlflow_registry_ext.artifacts.digest import model_digest

    try:
        digest = model_digest(f"models:/{model}/{version}")
    # As for the gate: any repository error means "the digest is unknown", and says why.
    except Exception as exc:  # noqa: BLE001
        return missing(f"cannot compute the artifact digest: {getattr(exc, 'message', exc)}",
                       digest=None, file_count=None, total_size=None)
    return present(digest=digest.digest, file_count=len(digest.files), total_size=digest.total_size)


def _version(mv) -> dict:
    return {
        "name": mv.name, "version": str(mv.version), "creator": mv.user_id or None,
        "created_at": iso(mv.creation_timestamp), "last_updated_at": iso(mv.last_updated_timestamp),
        "description": mv.description or None, "stage": mv.current_stage, "aliases": list(mv.aliases or ()),
        "source": mv.source, "run_id": mv.run_id or None, "status": mv.status,
        "tags": dict(sorted((mv.tags or {}).items())),
    }


def build_dossier(
    client: Any, registry: Any, db: Any, policy: Any, model: str, version: str | int,
    alias: str | None = None, *, governed: Any | None = None,
) -> dict:
    """Everything a reviewer needs about ``model`` version ``version``, as a JSON-ready dict.

    Args:
        client: An ``MlflowClient`` on the tracking store (runs, logged models).
        registry: A registry store to read versions and aliases from.
        db: The governance database.
        policy: The policy (for the rule's protected aliases, metric directions, card fields).
        model: Registered model name.
        version: The candidate version.
        alias: Compare with the version this alias points to now (default: the first protected
            alias of the rule that points to another version).
        governed: The governed registry store, for status and requests (``None``: not governed).

    Raises:
        InvalidInput: ``version`` is not a version number.
        MlflowException: The version does not exist (MLflow's own ``RESOURCE_DOES_NOT_EXIST``).
    """
    version = str(version)
    if not version.isascii() or not version.isdigit():
        raise InvalidInput(f"version must be a version number, got {version!r}")
    version = str(int(version))
    started = time.perf_counter()
    rule = policy.rule_for(model) if policy is not None else None
    records = read_records(client, registry, model, version)
    files = read_model_files(registry.get_model_version_download_uri(model, version))
    candidate = records.metrics
    aliases = tuple(dict.fromkeys([*(rule.protected_aliases if rule else ()), *([alias] if alias else [])]))
    required_card = tuple(rule.require.model_card) if rule else ()
    dossier = {
        "dossier_version": DOSSIER_VERSION,
        "model": model,
        "version": version,
        "alias": alias,
        "generated_at": iso(utc_now_ms()),
        "model_version": _version(records.mv),
        "comparison": _comparison(client, registry, rule, model, version, alias, candidate),
        "metrics": present(items=[m.to_dict() for m in candidate]) if candidate
        else missing("neither the logged model nor the run holds metrics", items=[]),
        "lineage": lineage_part(records.run, records.run_problem, records.logged, records.logged_problem),
        "datasets": datasets_part(records.run),
        "code": code_part(records.run, records.logged),
        "environment": environment_part(files),
        "signature": signature_part(files),
        "input_example": input_example_part(files),
        "model_card": model_card_part(records.mv.tags or {}, files.texts.get(CARD_FILE), required_card),
        "fairness": fairness_part(db, model, version),
        "artifacts": _artifacts(model, version),
        "artifact_signature": artifact_signature_part(registry, db, model, version),
        "governance": governance_part(governed, db, rule, model, version, aliases),
    }
    dossier["missing"] = [name for name, part in dossier.items()
                          if isinstance(part, dict) and part.get("status") in ("missing", "partial")]
    dossier["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return dossier
