"""Which repository really holds the files of an artifact URI, and how failures are reported.

``runs:/`` and ``models:/`` URIs are indirections: MLflow resolves them to the repository of the
run or of the model version's storage location (in MLflow 3, a model logged with a name lives in
its logged model's artifacts, not the run's). Reading the manifest of a ``cas+`` root needs that
repository itself, not the wrapper.

Example:
    >>> repo, path = resolve("models:/fraud@champion")   # doctest: +SKIP
    >>> type(repo).__name__, path                        # doctest: +SKIP
    ('CasArtifactRepository', '')
"""

from __future__ import annotations

import contextlib
import urllib.parse

from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from mlflow_registry_ext.artifacts.paths import clean_path, join_paths
from mlflow_registry_ext.errors import (
    GovernanceError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from mlflow_registry_ext import settings

__all__ = ["resolve", "walk_files", "coded_errors", "coded_os_error"]

# Exported by `mlflow server --serve-artifacts` to its workers: where mlflow-artifacts: URIs live.
SERVER_DESTINATION_ENV_VAR = settings.MLFLOW.name("server_artifact_destination")
VERIFIED_PREFIX = "verified:"

_CODED = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "INVALID_PARAMETER_VALUE": InvalidInput,
    "BAD_REQUEST": InvalidInput,
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": PermissionDenied,
}


def coded_os_error(exc: OSError, action: str, where: str) -> GovernanceError:
    """The coded error for a filesystem failure while ``action`` on ``where``.

    Example:
        >>> coded_os_error(PermissionError(13, "Permission denied"), "write", "/data").error_code
        'PERMISSION_DENIED'
    """
    detail = exc.strerror or str(exc)
    target = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
    message = f"Cannot {action} {where}: {detail}{target}"
    if isinstance(exc, PermissionError):
        return PermissionDenied(message)
    if isinstance(exc, FileNotFoundError):
        return NotFound(message)
    if isinstance(exc, (NotADirectoryError, IsADirectoryError, FileExistsError)):
        return InvalidInput(message)
    return StorageUnavailable(message)


@contextlib.contextmanager
def coded_errors(action: str, uri: str):
    """Re-raise any failure while ``action`` on ``uri`` as one of the package's coded errors."""
    try:
        yield
    except GovernanceError:
        raise
    except MlflowException as exc:
        cls = _CODED.get(exc.error_code, StorageUnavailable)
        raise cls(f"Cannot {action} {uri}: {exc.message}") from exc
    except OSError as exc:
        raise coded_os_error(exc, action, uri) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageUnavailable(f"Cannot {action} {uri}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any client library failure (boto3, requests, ...)
        raise StorageUnavailable(f"Cannot {action} {uri}: {type(exc).__name__}: {exc}") from exc


def resolve(artifact_uri: str, *, tracking_uri: str | None = None) -> tuple[ArtifactRepository, str]:
    """The repository holding ``artifact_uri``'s files and the path of those files inside it.

    Args:
        artifact_uri: Any MLflow artifact URI: ``runs:/<id>/<path>``, ``models:/<name>/<version>``,
            ``models:/<name>@<alias>``, ``models:/<model id>``, ``cas+file:``, ``cas+s3:``,
            ``s3://``, ``file:``, ``mlflow-artifacts:``, ...

    Returns:
        ``(repository, path)``; ``path`` is ``""`` unless the URI names part of a model.

    Raises:
        NotFound: The run, model, version or alias does not exist.
    """
    if not isinstance(artifact_uri, str) or not artifact_uri.strip():
        raise InvalidInput(f"Expected an artifact URI, got {artifact_uri!r}")
    return _resolve(artifact_uri, depth=0, tracking_uri=tracking_uri)


def _resolve(uri: str, depth: int, tracking_uri: str | None = None) -> tuple[ArtifactRepository, str]:
    # The wrappers' own constructors are avoided: inside `mlflow server` they would build an
    # HTTP repository pointing at the server itself for mlflow-artifacts: locations.
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository
    from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

    if depth > 5:
        raise InvalidInput(f"Too many indirections resolving {uri}")
    if uri.startswith(VERIFIED_PREFIX):
        # A version served through a check: its files are those of the source it checks.
        from mlflow_registry_ext.artifacts.verified_repository import split_verified_uri

        return _resolve(split_verified_uri(uri)[0], depth + 1, tracking_uri)
    if ModelsArtifactRepository.is_models_uri(uri):
        model_uri, sub = ModelsArtifactRepository.split_models_uri(uri)
        repo, path = _resolve(ModelsArtifactRepository.get_underlying_uri(model_uri), depth + 1, tracking_uri)
        return repo, join_paths(path, clean_path(sub))
    if RunsArtifactRepository.is_runs_uri(uri):
        run_id, rel = RunsArtifactRepository.parse_runs_uri(uri)
        repo, path = _resolve(RunsArtifactRepository.get_underlying_uri(uri, tracking_uri), depth + 1, tracking_uri)
        if rel and not repo.list_artifacts(path or None):
            # MLflow 3 keeps a model logged with a name in the logged model's own artifacts.
            name, _, rest = rel.partition("/")
            model_id = _logged_model_id(run_id, name, tracking_uri)
            if model_id is not None:
                repo, path = _resolve(f"models:/{model_id}", depth + 1, tracking_uri)
                return repo, join_paths(path, clean_path(rest))
        return repo, path
    return get_artifact_repository(_served_location(uri)), ""


def _logged_model_id(run_id: str, name: str, tracking_uri: str | None = None) -> str | None:
    """The id of the model the run logged under ``name`` (MLflow 3), if any."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    experiment_id = client.get_run(run_id).info.experiment_id
    token = None
    while True:
        page = client.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"name = '{name}'", page_token=token
        )
        for model in page:
            if model.source_run_id == run_id:
                return model.model_id
        token = page.token
        if not token:
            return None


def _served_location(uri: str) -> str:
    """Inside ``mlflow server``, an ``mlflow-artifacts:`` URI names a place in its destination.

    Reading it there directly (rather than over HTTP from the server to itself) also reaches the
    manifest of a ``cas+`` destination.
    """
    from mlflow.utils.uri import append_to_uri_path

    destination = settings.MLFLOW.get("server_artifact_destination")
    parsed = urllib.parse.urlparse(uri)
    if not destination or parsed.scheme != "mlflow-artifacts":
        return uri
    path = clean_path(urllib.parse.unquote(parsed.path).lstrip("/"))
    return append_to_uri_path(destination, path) if path else destination


def walk_files(repo: ArtifactRepository, path: str) -> list[tuple[str, int | None]]:
    """Every file at or under ``path`` of a plain repository: ``(path in the repository, size)``."""
    if path:
        # MLflow lists nothing under a file, so a file is recognised in its parent's listing.
        parent = path.rpartition("/")[0] or None
        for info in repo.list_artifacts(parent):
            if info.path == path and not info.is_dir:
                return [(info.path, info.file_size)]
    files: list[tuple[str, int | None]] = []
    pending = [path or None]
    while pending:
        current = pending.pop()
        for info in repo.list_artifacts(current):
            if info.path in (".", current):  # some stores list a directory inside itself
                continue
            if info.is_dir:
                pending.append(info.path)
            else:
                files.append((info.path, info.file_size))
    return sorted(files)
