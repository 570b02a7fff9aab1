"""Reproduction 1 on a real server: artifacts replaced after promotion change nothing served."""

from __future__ import annotations

import contextlib
import os
import time

import mlflow
import mlflow.server
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.support.governance_servers import (
    auth_env,
    create_users,
    environment,
    require_auth_extra,
    rest_env,
    started,
)
from tests.support.servers import MlflowServer

POLICY = """
version: 1
groups:
  risk-reviewers: [alice, bob]
models:
  - match: "risk-*"
    protected_aliases: [production]
    approvals:
      required: 2
      reviewers: ["group:risk-reviewers"]
    require:
      artifact_digest: true
"""


def _proxying(destination: str):
    class _ProxyingServer(MlflowServer):
        def command(self) -> list[str]:
            cmd = super().command()
            at = cmd.index("--default-artifact-root")
            cmd[at + 1] = "mlflow-artifacts:/"
            return cmd + ["--serve-artifacts", "--artifacts-destination", destination.format(workdir=self.workdir)]

    return _ProxyingServer


@contextlib.contextmanager
def _promoted_then_replaced(tmp_path, destination: str, **env_extra):
    """A version reviewed by two people and promoted; then the run's weights are overwritten."""
    require_auth_extra()
    env = {**auth_env(tmp_path), **env_extra}
    (tmp_path / "policy.yaml").write_text(POLICY)
    registry = f"governed+sqlite:///{tmp_path / 'registry.db'}"
    import tests.support.governance_servers as support

    saved = support.MlflowServer
    support.MlflowServer = _proxying(destination)
    try:
        context = started(tmp_path, registry_uri=registry, backend_uri=registry.removeprefix("governed+"), env=env)
        server = context.__enter__()
    finally:
        support.MlflowServer = saved
    try:
        create_users(server)
        model_dir = tmp_path / "src" / "model"
        model_dir.mkdir(parents=True)
        (model_dir / "MLmodel").write_text("artifact_path: model\n")
        (model_dir / "weights.bin").write_bytes(b"reviewed weights")
        with environment(rest_env("erin")):
            client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
            exp = client.create_experiment("risk-art-exp")
            run_id = client.create_run(exp).info.run_id
            client.log_artifacts(run_id, str(model_dir), "model")
            client.create_registered_model("risk-art")
            mv = client.create_model_version("risk-art", f"runs:/{run_id}/model", run_id=run_id)
            gov = mlflow.server.get_app_client("governance", tracking_uri=server.url)
            request = gov.request_approval("risk-art", mv.version, alias="production")
        for reviewer in ("alice", "bob"):
            with environment(rest_env(reviewer)):
                mlflow.server.get_app_client("governance", tracking_uri=server.url).approve(request.id)
        with environment(rest_env("erin")):
            gov.promote("risk-art", mv.version, alias="production")
            evil = tmp_path / "evil" / "weights.bin"
            evil.parent.mkdir()
            evil.write_bytes(b"never reviewed")
            client.log_artifact(run_id, str(evil), "model")
            mlflow.set_tracking_uri(server.url)
            mlflow.set_registry_uri(server.url)
            yield server, client, mv
    finally:
        context.__exit__(None, None, None)


@pytest.mark.server
@pytest.mark.slow
def test_replacing_the_run_files_after_promotion_serves_the_reviewed_bytes(tmp_path):
    with _promoted_then_replaced(tmp_path, "cas+file://{workdir}/cas") as (server, client, mv):
        local = mlflow.artifacts.download_artifacts("models:/risk-art@production", dst_path=str(tmp_path / "out"))
        assert open(os.path.join(local, "weights.bin"), "rb").read() == b"reviewed weights"
        uri = client.get_model_version_download_uri("risk-art", mv.version)
        assert uri.startswith("mlflow-artifacts:/_pinned/sha256/")


@pytest.mark.server
@pytest.mark.slow
def test_on_a_plain_store_replaced_files_fail_every_download_and_the_change_is_recorded(tmp_path):
    with _promoted_then_replaced(
        tmp_path, "file://{workdir}/plain", MLFLOW_GOVERNANCE_ARTIFACT_CHECK_INTERVAL="0.5"
    ) as (server, client, mv):
        uri = client.get_model_version_download_uri("risk-art", mv.version)
        assert uri.startswith("verified:") and "#sha256:" in uri
        pinned = uri.rpartition("#")[2]
        for model_uri in ("models:/risk-art@production", f"models:/risk-art/{mv.version}"):
            out = tmp_path / model_uri.replace(":", "_").replace("/", "_").replace("@", "_")
            out.mkdir()
            with pytest.raises(MlflowException) as err:
                mlflow.artifacts.download_artifacts(model_uri, dst_path=str(out))
            assert err.value.error_code == "RESOURCE_CONFLICT"
            assert pinned in err.value.message and "found sha256:" in err.value.message
            assert list(out.iterdir()) == []
        # The server notices on its own: audit entry, event, tag; nothing it serves changes.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tags = client.get_model_version("risk-art", mv.version).tags
            if tags.get("governance.artifacts") == "changed":
                break
            time.sleep(0.5)
        assert tags.get("governance.artifacts") == "changed"
        gov = mlflow.server.get_app_client("governance", tracking_uri=server.url)
        entries = [e for e in gov.list_audit(model="risk-art") if e.action == "model_version.artifacts_changed"]
        assert len(entries) == 1 and entries[0].details["pinned_digest"] == pinned
        assert client.get_model_version_download_uri("risk-art", mv.version) == uri
