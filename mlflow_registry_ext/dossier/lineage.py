"""Where a version came from: its source run, its MLflow 3 logged model, and the code version."""

from __future__ import annotations

from typing import Any

from mlflow_registry_ext.dossier.parts import iso, missing, present

__all__ = ["model_id_of", "lineage_part", "code_part"]

_GIT_TAGS = {
    "git_commit": "mlflow.source.git.commit",
    "git_repo_url": "mlflow.source.git.repoURL",
    "git_branch": "mlflow.source.git.branch",
    "source_name": "mlflow.source.name",
    "source_type": "mlflow.source.type",
}


def model_id_of(mv: Any) -> str | None:
    """The logged model id of a version (MLflow 3): its ``model_id``, or read from ``models:/m-...``."""
    found = getattr(mv, "model_id", None)
    if found:
        return found
    source = mv.source or ""
    if source.startswith("models:/m-") and "/" not in source[len("models:/"):]:
        return source[len("models:/"):]
    return None


def _run(run: Any) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user": info.user_id or run.data.tags.get("mlflow.user"),
        "status": info.status,
        "start_time": iso(info.start_time),
        "end_time": iso(info.end_time),
        "params": dict(sorted(run.data.params.items())),
        "metrics": dict(sorted(run.data.metrics.items())),
        "tags": {k: v for k, v in sorted(run.data.tags.items()) if not k.startswith("mlflow.log-model")},
    }


def _logged_model(model: Any) -> dict[str, Any]:
    return {
        "model_id": model.model_id,
        "name": model.name,
        "source_run_id": model.source_run_id,
        "artifact_location": model.artifact_location,
        "created_at": iso(model.creation_timestamp),
        "params": dict(sorted((model.params or {}).items())),
        "tags": dict(sorted((model.tags or {}).items())),
        "metrics": [
            {"name": m.key, "value": m.value, "step": m.step, "dataset_name": m.dataset_name,
             "dataset_digest": m.dataset_digest}
            for m in (model.metrics or ())
        ],
    }


def lineage_part(run: Any | None, run_problem: str | None, logged: Any | None, logged_problem: str | None) -> dict:
    """The ``lineage`` part: the source run and the logged model, each or both missing."""
    run_data = _run(run) if run is not None else None
    model_data = _logged_model(logged) if logged is not None else None
    fields = {"run": run_data, "logged_model": model_data,
              "run_missing": run_problem if run is None else None,
              "logged_model_missing": logged_problem if logged is None else None}
    if run is None and logged is None:
        return missing(f"{run_problem}; {logged_problem}", **fields)
    return present(**fields)


def code_part(run: Any | None, logged: Any | None) -> dict:
    """The ``code`` part: git commit, repository, branch and entry point, from MLflow's tags."""
    tags: dict[str, str] = {}
    if logged is not None:
        tags.update(logged.tags or {})
    if run is not None:
        tags.update(run.data.tags)
    fields = {name: tags.get(key) for name, key in _GIT_TAGS.items()}
    if not fields["git_commit"]:
        return missing("the run has no mlflow.source.git.commit tag (not run from a git checkout)", **fields)
    return present(**fields)
