"""A real governed server holding a model with real sklearn versions, for the dossier's
end-to-end and browser tests: v1 documented under ``production``, v2 a documented challenger,
v3 a regressing one, v4 and v5 half documented (started once per test session)."""

from __future__ import annotations

import contextlib

import pytest

from tests.support.governance_servers import auth_env, call, create_users, environment, rest_env, started, unique

POLICY = """
version: 1
groups:
  risk-reviewers: [alice, bob]
models:
  - match: "cancer-*"
    protected_aliases: [production, champion]
    approvals:
      required: 1
      reviewers: ["group:risk-reviewers"]
    require:
      metrics:
        auc: {min: 0.8, max_regression: 0.002}
      model_card: [intended_use, limitations, training_data, evaluation_data, ethical_considerations]
  - match: "*"
    protected_aliases: []
"""

API = "/api/2.0/mlflow/governance"


@contextlib.contextmanager
def as_client(server, user: str):
    """MLflow's fluent API pointed at ``server`` as ``user``."""
    import mlflow

    with environment(rest_env(user)):
        from mlflow_registry_ext.mlflow_uris import using_uris

        with using_uris(server.url, server.url):
            yield mlflow


def request_and_approve(server, model: str, version: str, alias: str = "production") -> str:
    status, body, _ = call(f"{server.url}{API}/approval-requests", "POST",
                           {"model": model, "version": version, "alias": alias}, user="erin")
    assert status == 200, body
    status, decided, _ = call(f"{server.url}{API}/approval-requests/{body['id']}/approve", "POST",
                              {"comment": "looked at the dossier"}, user="alice")
    assert status == 200, decided
    return body["id"]


def promote(server, model: str, version: str, request_id: str, alias: str = "production"):
    return call(f"{server.url}{API}/promote", "POST",
                {"model": model, "version": version, "alias": alias, "request_id": request_id}, user="erin")


@pytest.fixture(scope="session")
def dossier_server(tmp_path_factory):
    """``(server, model, info)``: info maps each version to its metrics."""
    from tests.support.governance_servers import require_auth_extra
    from tests.dossier.models import CARD_TAGS, log_version

    require_auth_extra()
    workdir = tmp_path_factory.mktemp("dossier-server")
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    env = auth_env(workdir)
    (workdir / "policy.yaml").write_text(POLICY)
    with started(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env) as server:
        create_users(server)
        server.env = env
        model = unique("cancer")
        half = {k: v for k, v in CARD_TAGS.items() if k.endswith(("intended_use", "limitations"))}
        with as_client(server, "erin") as mlflow:
            # READ is the default permission: erin logs into an experiment of her own.
            mlflow.set_experiment(model)
            v1, m1 = log_version(model, C=1.0, commit="a" * 40, card_tags=CARD_TAGS)
            request = request_and_approve(server, model, v1)
            status, body, _ = promote(server, model, v1, request)
            assert status == 200, body
            v2, m2 = log_version(model, C=0.5, commit="b" * 40, card_tags=CARD_TAGS)
            v3, m3 = log_version(model, C=0.0001, commit="c" * 40, card_tags=CARD_TAGS)
            v4, m4 = log_version(model, C=0.7, commit="d" * 40, card_tags=half)
            # Stays half documented (v4 gets documented by a test).
            v5, m5 = log_version(model, C=0.8, commit="e" * 40, card_tags=half)
        yield server, model, {v1: m1, v2: m2, v3: m3, v4: m4, v5: m5}
