"""Shared set-up of the approval and enforcement tests: a policy, governed stores, actors."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from mlflow.entities.model_registry import ModelVersionTag

from mlflow_registry_ext.identity import RequestIdentity, bind_request
from mlflow_registry_ext.registry.store import GovernedRegistryStore

POLICY = """\
version: 1
groups:
  risk-reviewers: [alice, bob, carol]
  platform-admins: [root]
admin_override:
  allowed: ["group:platform-admins"]
models:
  - match: "fraud-*"
    protected_aliases: [production, champion]
    protected_stages: [Production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers", dave]
      expires_after: 7d
    require:
      tags: [owner]
      description: true
  - match: "credit-*"
    protected_aliases: [production]
    on_delete_alias: deny
    on_rename: allow
  - match: "*"
    protected_aliases: []
"""

#: :data:`POLICY` for a single-user set-up: reviews from MLFLOW_TRACKING_USERNAME count (for tests
#: of the CLI on the database and of processes that act through the environment).
UNAUTHENTICATED_POLICY = POLICY + "allow_unauthenticated_reviews: true\n"


@contextlib.contextmanager
def as_user(name: str):
    """Act as ``name``, the way the server binds an authenticated user."""
    with bind_request(RequestIdentity(actor=name)):
        yield


def write_policy(directory: Path, text: str = POLICY) -> Path:
    path = Path(directory) / "policy.yaml"
    path.write_text(text)
    return path


def governed_store(uri: str, monkeypatch, directory: Path, policy: str | None = POLICY) -> GovernedRegistryStore:
    """A governed store on database ``uri`` under ``policy`` (``None``: no policy at all)."""
    if policy is None:
        monkeypatch.delenv("MLFLOW_GOVERNANCE_POLICY", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_GOVERNANCE_POLICY", str(write_policy(directory, policy)))
    return GovernedRegistryStore(f"governed+{uri}")


def add_version(
    store: GovernedRegistryStore,
    model: str = "fraud-model",
    *,
    creator: str = "frank",
    tags: dict | None = None,
    description: str | None = "a described version",
    source: str = "s3://bucket/model",
) -> str:
    """Create the model if needed and a new version of it, as ``creator``; returns the version."""
    with as_user(creator):
        try:
            store.get_registered_model(model)
        except Exception:  # noqa: BLE001 - any failure here means "not there yet"
            store.create_registered_model(model)
        tags = {"owner": "risk"} if tags is None else tags
        mv = store.create_model_version(
            model, source, tags=[ModelVersionTag(k, v) for k, v in tags.items()], description=description
        )
    return str(mv.version)


def approved_request(store, model: str, version: str, alias: str = "production", *, reviewers=("alice", "bob"),
                     requester: str = "erin", action: str = "promote"):
    """A request for ``version`` under ``alias``, approved by ``reviewers``."""
    with as_user(requester):
        request = store.approvals.create(model, version, alias=alias, action=action)
    for reviewer in reviewers:
        with as_user(reviewer):
            request = store.approvals.approve(request.id)
    return request


def copy_database(template: Path, directory: Path) -> str:
    """A fresh SQLite URI holding a copy of an initialised ``template`` database."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    target = Path(directory) / "registry.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """An SQLite database with MLflow's and the governance tables, built once per session
    (MLflow's own migrations take seconds; each test copies the file instead)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    GovernedRegistryStore(f"governed+sqlite:///{path}")
    return path


@pytest.fixture
def store(sqlite_template, tmp_path, monkeypatch):
    """A governed store on a fresh SQLite database under :data:`POLICY`."""
    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path)
