"""The few small files of a model version a reviewer needs (MLmodel, environment files, the
input example, ``MODEL_CARD.md``), read through MLflow's artifact repository of the version."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

import yaml

__all__ = ["ModelFiles", "read_model_files", "CARD_FILE"]

#: The model card artifact, at the root of the model's files.
CARD_FILE = "MODEL_CARD.md"

_WANTED = ("MLmodel", "python_env.yaml", "conda.yaml", "requirements.txt", CARD_FILE)
# Larger files are not evidence a reviewer reads on a page; skipping them keeps the dossier fast.
_MAX_BYTES = 1 << 20


@dataclasses.dataclass
class ModelFiles:
    """The texts found (file name -> text) and why the files could not be read, if so."""

    uri: str | None
    texts: dict[str, str] = dataclasses.field(default_factory=dict)
    names: tuple[str, ...] = ()
    problem: str | None = None

    def yaml(self, name: str) -> Any:
        """A file parsed as YAML, or ``None`` when absent or not YAML."""
        text = self.texts.get(name)
        if text is None:
            return None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return None

    @property
    def mlmodel(self) -> dict:
        data = self.yaml("MLmodel")
        return data if isinstance(data, dict) else {}


def read_model_files(download_uri: str | None) -> ModelFiles:
    """Read the wanted files at the root of ``download_uri`` (never raises: a problem is kept)."""
    if not download_uri:
        return ModelFiles(None, problem="the version has no artifact location")
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        repo = get_artifact_repository(download_uri)
        listing = {f.path.rsplit("/", 1)[-1]: f for f in repo.list_artifacts() if not f.is_dir}
    # Any repository (file, S3, cas+) may raise anything for an unreachable store.
    except Exception as exc:  # noqa: BLE001
        return ModelFiles(download_uri, problem=f"cannot list the model's files at {download_uri}: {exc}")
    found = ModelFiles(download_uri, names=tuple(sorted(listing)))
    wanted = list(_WANTED)
    with tempfile.TemporaryDirectory() as tmp:
        _fetch(repo, listing, wanted, tmp, found)
        example = (found.mlmodel.get("saved_input_example_info") or {}).get("artifact_path")
        if example and example in listing:
            _fetch(repo, listing, [example], tmp, found)
    return found


def _fetch(repo, listing, names, tmp, found: ModelFiles) -> None:
    for name in names:
        entry = listing.get(name)
        if entry is None or (entry.file_size or 0) > _MAX_BYTES:
            continue
        try:
            local = repo.download_artifacts(entry.path, tmp)
            with open(local, encoding="utf-8") as handle:
                found.texts[name] = handle.read(_MAX_BYTES)
        except Exception as exc:  # noqa: BLE001  (as above: any repository error)
            found.problem = f"cannot read {name}: {exc}"
        finally:
            path = os.path.join(tmp, entry.path)
            if os.path.isfile(path):
                os.remove(path)
