"""Real ``mlflow server --app-name governance`` processes shared by the server and browser tests.

Starting a server takes 10-25 s, so each kind is started once per test session: ``open_server``
(no authentication) and ``auth_server`` (``MLFLOW_GOVERNANCE_AUTH=basic`` with the users below).
Tests use their own model names, so they do not see each other's data.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.databases import REQUIRE_ENV, services_required
from tests.support.servers import MlflowServer

POLICY = """
version: 1
groups:
  risk-reviewers: [alice, bob]
  on-call: [olivia]
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
      reviewers: ["group:risk-reviewers"]
      allow_self_approval: false
  - match: "oncall-*"
    protected_aliases: [production]
    approvals:
      required: 1
      reviewers: ["group:risk-reviewers"]
    on_delete_alias: allow
    rollback:
      required: 0
      allowed: ["group:on-call"]
  - match: "gov-ui-*"
    protected_aliases: [production, champion]
    approvals:
      required: 1
      reviewers: ["group:risk-reviewers"]
  - match: "*"
    protected_aliases: []
"""

ADMIN = ("admin", "Admin-Secret-pw-123")
PASSWORD = "Str0ng-pass-{}-42"
USERS = ("alice", "bob", "erin", "viewer", "olivia")


def password(user: str) -> str:
    return ADMIN[1] if user == ADMIN[0] else PASSWORD.format(user)


def unique(prefix: str) -> str:
    """A model name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def call(url: str, method: str = "GET", body=None, user: str | None = None, headers=None):
    """``(status, parsed JSON or text, headers)`` of one HTTP request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if user is not None:
        token = base64.b64encode(f"{user}:{password(user)}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), dict(exc.headers)
    try:
        return status, json.loads(raw), got
    except ValueError:
        return status, raw.decode(errors="replace"), got


def server_env(workdir: Path, **extra: str) -> dict[str, str]:
    policy = workdir / "policy.yaml"
    policy.write_text(POLICY)
    env = {
        "MLFLOW_GOVERNANCE_POLICY": str(policy),
        "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "MLFLOW_GOVERNANCE_WEBHOOK_ALLOW_PRIVATE": "true",
        "MLFLOW_TRACKING_USERNAME": "server-process",
    }
    env.update(extra)
    return env


def _auth_config(workdir: Path) -> Path:
    ini = workdir / "basic_auth.ini"
    ini.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'auth.db'}\n"
        f"admin_username = {ADMIN[0]}\n"
        f"admin_password = {ADMIN[1]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    return ini


def auth_env(workdir: Path) -> dict[str, str]:
    """A basic-auth server's environment (MLflow needs a static secret key for its CSRF checks)."""
    return server_env(
        workdir,
        MLFLOW_GOVERNANCE_AUTH="basic",
        MLFLOW_AUTH_CONFIG_PATH=str(_auth_config(workdir)),
        MLFLOW_FLASK_SERVER_SECRET_KEY=uuid.uuid4().hex,
    )


def require_auth_extra() -> None:
    """MLflow's basic auth needs Flask-WTF (``mlflow[auth]``); skip loudly without it."""
    try:
        import flask_wtf  # noqa: F401
    except ImportError as exc:
        message = f"MLflow's basic auth needs Flask-WTF (pip install 'mlflow[auth]'): {exc}"
        if services_required():
            pytest.fail(f"{message}; {REQUIRE_ENV} makes it mandatory")
        pytest.skip(f"SKIPPED LOUDLY: {message}")


def create_users(server: MlflowServer) -> None:
    for user in USERS:
        status, body, _ = call(
            f"{server.url}/api/2.0/mlflow/users/create", "POST",
            {"username": user, "password": password(user)}, user=ADMIN[0],
        )
        assert status == 200, body


@contextlib.contextmanager
def started(workdir: Path, **kwargs):
    server = MlflowServer(workdir, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def open_server(tmp_path_factory):
    """A governed server without authentication."""
    workdir = tmp_path_factory.mktemp("open-server")
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    env = server_env(workdir)
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as server:
        server.env = env
        yield server


@pytest.fixture(scope="session")
def auth_server(tmp_path_factory):
    """A governed server with MLFLOW_GOVERNANCE_AUTH=basic and the users alice, bob (reviewers),
    erin (a requester), viewer, olivia (on call: rolls back ``oncall-*`` models alone) and admin;
    the default permission is READ."""
    require_auth_extra()
    workdir = tmp_path_factory.mktemp("auth-server")
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    env = auth_env(workdir)
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as server:
        create_users(server)
        server.env = env
        yield server


def rest_env(user: str | None) -> dict[str, str]:
    """What MLflow's REST clients read for credentials."""
    if user is None:
        return {"MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": ""}
    return {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password(user)}


@contextlib.contextmanager
def environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value == "":
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
