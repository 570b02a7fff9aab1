"""MLflow discovers cas+file and cas+s3; the artifacts package exports a small, pinned API."""

from __future__ import annotations

import importlib.metadata
import inspect

from mlflow.store.artifact.artifact_repository_registry import (
    get_artifact_repository,
    get_registered_artifact_repositories,
)

import mlflow_registry_ext.artifacts as artifacts
from mlflow_registry_ext.entrypoints import cas_repository
from mlflow_registry_ext.artifacts.repository import CasArtifactRepository


def test_the_schemes_are_registered_through_entry_points():
    names = {
        ep.name
        for ep in importlib.metadata.distribution("mlflow-registry-ext").entry_points
        if ep.group == "mlflow.artifact_repository"
    }
    assert {"cas+file", "cas+s3"} <= names
    registered = get_registered_artifact_repositories()
    assert registered["cas+file"] is cas_repository and registered["cas+s3"] is cas_repository


def test_the_factory_takes_what_mlflow_passes(tmp_path):
    params = inspect.signature(cas_repository).parameters
    assert list(params) == ["artifact_uri", "tracking_uri", "registry_uri"]
    repo = get_artifact_repository(
        f"cas+file://{tmp_path}/r", tracking_uri="sqlite:///t.db", registry_uri="sqlite:///r.db"
    )
    assert isinstance(repo, CasArtifactRepository)
    assert (repo.tracking_uri, repo.registry_uri) == ("sqlite:///t.db", "sqlite:///r.db")


def test_the_public_names_are_pinned():
    assert artifacts.__all__ == [
        "CasArtifactRepository",
        "FileEntry",
        "FileProblem",
        "GcReport",
        "ModelDigest",
        "VerifyReport",
        "collect_garbage",
        "digest_of",
        "model_digest",
        "parse_duration",
        "verify",
    ]
    for name in artifacts.__all__:
        assert getattr(artifacts, name) is not None


def test_model_digest_is_a_frozen_record():
    import dataclasses

    from mlflow_registry_ext.artifacts import ModelDigest

    assert dataclasses.fields(ModelDigest)[1].name == "digest"
    assert ModelDigest.__dataclass_params__.frozen
