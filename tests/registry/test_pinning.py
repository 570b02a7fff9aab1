"""Frozen versions: a new version's files are pinned, and what it serves never changes after."""

from __future__ import annotations

import os
import uuid

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext.artifacts import CasArtifactRepository, collect_garbage
from tests.approvals.fixtures import (  # noqa: F401 - sqlite_template is a fixture
    add_version,
    approved_request,
    as_user,
    copy_database,
    governed_store,
    sqlite_template,
)

POLICY = """\
version: 1
models:
  - match: "fraud-*"
    protected_aliases: [production]
    approvals:
      required: 1
    require:
      artifact_digest: true
"""


@pytest.fixture
def gated(sqlite_template, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_PIN_ROOT", raising=False)
    # models:/ downloads build a client on the default tracking store: never ./mlflow.db.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'tracking.db'}")
    return governed_store(copy_database(sqlite_template, tmp_path), monkeypatch, tmp_path, policy=POLICY)


def _model_dir(path, content="reviewed weights"):
    path.mkdir(parents=True, exist_ok=True)
    (path / "MLmodel").write_text("artifact_path: model\n")
    (path / "weights.bin").write_text(content)
    return path


def _cas_run(tmp_path, content="reviewed weights") -> tuple[str, CasArtifactRepository]:
    uri = f"cas+file://{tmp_path}/root/1/{uuid.uuid4().hex}/artifacts"
    repo = CasArtifactRepository(uri)
    repo.log_artifacts(str(_model_dir(tmp_path / "src", content)), "model")
    return uri, repo


def _downloaded(uri: str, tmp_path) -> str:
    out = tmp_path / uuid.uuid4().hex
    out.mkdir()
    # A tracking store of its own: MLflow's default would write ./mlflow.db.
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(out),
                                                tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}")
    return open(os.path.join(local, "weights.bin")).read()


def _blob_count(root) -> int:
    return sum(len(files) for _, _, files in os.walk(root / "blobs"))


def test_a_version_on_a_cas_root_is_pinned_without_copying_and_serves_the_reviewed_bytes(gated, tmp_path):
    run_uri, run_repo = _cas_run(tmp_path)
    blobs = _blob_count(tmp_path / "root")
    version = add_version(gated, source=f"{run_uri}/model")
    manifest = gated.pinner.manifest("fraud-model", version)
    assert manifest.method == "cas-tree" and [f.path for f in manifest.files] == ["MLmodel", "weights.bin"]
    assert _blob_count(tmp_path / "root") == blobs  # no byte copied
    location = gated.get_model_version_download_uri("fraud-model", version)
    assert location == f"cas+file://{tmp_path}/root/_pinned/sha256/{manifest.digest[7:]}"
    tags = gated.get_model_version("fraud-model", version).tags
    assert tags["governance.artifact_digest"] == manifest.digest

    # The run's files are replaced after registration (reproduction 1, in-process).
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "weights.bin").write_text("never reviewed")
    run_repo.log_artifact(str(tmp_path / "evil" / "weights.bin"), "model")
    mlflow.set_registry_uri(gated.store_uri)
    assert _downloaded(f"models:/fraud-model/{version}", tmp_path) == "reviewed weights"
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    with as_user("erin"):
        gated.set_registered_model_alias("fraud-model", "production", version)
    assert _downloaded("models:/fraud-model@production", tmp_path) == "reviewed weights"

    # gc keeps what the snapshot references, even once the run's tree is gone.
    run_repo.delete_artifacts()
    collect_garbage(f"cas+file://{tmp_path}/root", grace_seconds=0)
    assert _downloaded(location, tmp_path) == "reviewed weights"


def test_the_snapshot_cannot_be_written_or_deleted_through_the_repository(gated, tmp_path):
    run_uri, _ = _cas_run(tmp_path)
    version = add_version(gated, source=f"{run_uri}/model")
    location = gated.get_model_version_download_uri("fraud-model", version)
    snapshot = CasArtifactRepository(location)
    (tmp_path / "weights.bin").write_text("never reviewed")
    for attempt in (
        lambda: snapshot.log_artifact(str(tmp_path / "weights.bin")),
        lambda: snapshot.delete_artifacts(),
        lambda: CasArtifactRepository(f"cas+file://{tmp_path}/root").log_artifact(
            str(tmp_path / "weights.bin"), location.split("/root/")[1]
        ),
    ):
        with pytest.raises(MlflowException) as err:
            attempt()
        assert err.value.error_code == "PERMISSION_DENIED"
    assert _downloaded(location, tmp_path) == "reviewed weights"


def test_a_tampered_snapshot_fails_loudly_with_409(gated, tmp_path):
    run_uri, _ = _cas_run(tmp_path)
    version = add_version(gated, source=f"{run_uri}/model")
    location = gated.get_model_version_download_uri("fraud-model", version)
    snap_dir = tmp_path / "root" / "trees" / location.split("/root/")[1]
    other = (tmp_path / "root" / "trees" / run_uri.split("/root/")[1] / "model" / "MLmodel").read_bytes()
    (snap_dir / "weights.bin").chmod(0o644)
    (snap_dir / "weights.bin").write_bytes(other)  # someone with disk access points it elsewhere
    with pytest.raises(MlflowException) as err:
        CasArtifactRepository(location).download_artifacts("", str(tmp_path))
    assert err.value.get_http_status_code() == 409
    manifest = gated.pinner.manifest("fraud-model", version)
    assert manifest.digest in err.value.message and "found sha256:" in err.value.message


def test_a_plain_source_is_copied_once_into_the_pin_root(gated, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_GOVERNANCE_PIN_ROOT", f"cas+file://{tmp_path}/pins")
    source = _model_dir(tmp_path / "plain" / "model")
    version = add_version(gated, source=str(source))
    manifest = gated.pinner.manifest("fraud-model", version)
    assert manifest.method == "copied" and manifest.source == str(source)
    (source / "weights.bin").write_text("never reviewed")
    mlflow.set_registry_uri(gated.store_uri)
    assert _downloaded(f"models:/fraud-model/{version}", tmp_path) == "reviewed weights"


def test_without_a_pin_root_the_manifest_still_binds_promotion(gated, tmp_path):
    source = _model_dir(tmp_path / "plain" / "model")
    version = add_version(gated, source=str(source))
    manifest = gated.pinner.manifest("fraud-model", version)
    assert manifest.method == "verified" and manifest.location is None
    approved_request(gated, "fraud-model", version, reviewers=("alice",))
    (source / "weights.bin").write_text("never reviewed")
    with as_user("erin"), pytest.raises(MlflowException) as err:
        gated.set_registered_model_alias("fraud-model", "production", version)
    assert "artifact digest mismatch" in err.value.message


def test_an_unpinned_version_cannot_be_promoted_and_the_refusal_says_how_to_pin(gated, tmp_path):
    version = add_version(gated, source=str(tmp_path / "not-yet"))  # unreadable: stays unpinned
    assert gated.pinner.manifest("fraud-model", version) is None
    with as_user("erin"), pytest.raises(MlflowException) as err:
        gated.set_registered_model_alias("fraud-model", "production", version)
    assert err.value.error_code == "PERMISSION_DENIED"
    assert f"mlflow-registry-ext artifacts pin fraud-model {version}" in err.value.message
    _model_dir(tmp_path / "not-yet")
    assert gated.pinner.pin("fraud-model", version).method == "verified"
    assert gated.pinner.manifest("fraud-model", version) is not None


def test_a_copied_version_is_pinned_too(gated, tmp_path):
    run_uri, _ = _cas_run(tmp_path)
    version = add_version(gated, source=f"{run_uri}/model")
    src = gated.get_model_version("fraud-model", version)
    copied = gated.copy_model_version(src, "fraud-copy")
    first = gated.pinner.manifest("fraud-model", version)
    second = gated.pinner.manifest("fraud-copy", copied.version)
    assert second is not None and second.digest == first.digest and second.location == first.location


def test_a_change_of_the_source_after_pinning_is_recorded_once_and_serves_nothing_new(gated, tmp_path):
    from mlflow_registry_ext.events import event_from_audit_entry
    from mlflow_registry_ext.audit.log import AuditQuery, query

    run_uri, run_repo = _cas_run(tmp_path)
    version = add_version(gated, source=f"{run_uri}/model")
    assert gated.pinner.check("fraud-model", version) is None
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "weights.bin").write_text("never reviewed")
    run_repo.log_artifact(str(tmp_path / "evil" / "weights.bin"), "model")
    found = gated.pinner.check("fraud-model", version)
    manifest = gated.pinner.manifest("fraud-model", version)
    assert found.startswith("sha256:") and found != manifest.digest
    assert gated.pinner.check("fraud-model", version) == found  # recorded once
    entries = [e for e in query(gated.governance_db.engine, AuditQuery(model="fraud-model"))
               if e.action == "model_version.artifacts_changed"]
    assert len(entries) == 1
    event = event_from_audit_entry(entries[0]).to_dict()
    assert event["data"]["pinned_digest"] == manifest.digest and event["data"]["found_digest"] == found
    assert gated.get_model_version("fraud-model", version).tags["governance.artifacts"] == "changed"
    mlflow.set_registry_uri(gated.store_uri)
    assert _downloaded(f"models:/fraud-model/{version}", tmp_path) == "reviewed weights"


def _download_into(uri: str, tmp_path):
    out = tmp_path / uuid.uuid4().hex
    out.mkdir()
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(out),
                                                tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}")
    return out, local


def test_without_a_pin_root_a_download_is_verified_and_a_changed_source_fails_loudly(gated, tmp_path):
    source = _model_dir(tmp_path / "plain" / "model")
    version = add_version(gated, source=str(source))
    manifest = gated.pinner.manifest("fraud-model", version)
    assert manifest.method == "verified"
    served = gated.get_model_version_download_uri("fraud-model", version)
    assert served == f"verified:{source}#{manifest.digest}"
    mlflow.set_registry_uri(gated.store_uri)
    assert _downloaded(f"models:/fraud-model/{version}", tmp_path) == "reviewed weights"
    _, one = _download_into(f"models:/fraud-model/{version}/MLmodel", tmp_path)
    assert open(one).read() == "artifact_path: model\n"

    (source / "weights.bin").write_text("never reviewed")
    for uri in (f"models:/fraud-model/{version}", f"models:/fraud-model/{version}/MLmodel"):
        out = tmp_path / uuid.uuid4().hex
        out.mkdir()
        with pytest.raises(MlflowException) as err:
            mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(out),
                                                tracking_uri=f"sqlite:///{tmp_path / 'tracking.db'}")
        assert err.value.error_code == "RESOURCE_CONFLICT" and err.value.get_http_status_code() == 409
        assert manifest.digest in err.value.message and "found sha256:" in err.value.message
        assert list(out.iterdir()) == []  # nothing half-written at the destination
    with pytest.raises(MlflowException) as err:
        mlflow.pyfunc.load_model(f"models:/fraud-model/{version}")
    assert err.value.error_code == "RESOURCE_CONFLICT"
    from mlflow_registry_ext.artifacts.verify import verify

    report = verify(f"models:/fraud-model/{version}", expected_digest=manifest.digest)
    assert not report.ok and report.digest_matches is False  # the check names what changed


def test_a_file_added_to_the_source_fails_a_verified_download_too(gated, tmp_path):
    source = _model_dir(tmp_path / "plain" / "model")
    version = add_version(gated, source=str(source))
    (source / "extra.py").write_text("import os")
    mlflow.set_registry_uri(gated.store_uri)
    with pytest.raises(MlflowException) as err:
        _downloaded(f"models:/fraud-model/{version}", tmp_path)
    assert err.value.error_code == "RESOURCE_CONFLICT"


def test_a_rewritten_storage_location_row_still_serves_the_snapshot(gated, tmp_path):
    from mlflow_registry_ext.registry.pinning import _write_session

    run_uri, _ = _cas_run(tmp_path)
    version = add_version(gated, source=f"{run_uri}/model")
    snapshot = gated.pinner.manifest("fraud-model", version).location
    evil = _model_dir(tmp_path / "evil" / "model", content="never reviewed")
    with _write_session(gated._inner) as session:  # a database writer goes around the store
        gated._inner._get_sql_model_version(session, "fraud-model", version).storage_location = str(evil)
    assert gated.get_model_version_download_uri("fraud-model", version) == snapshot
    mlflow.set_registry_uri(gated.store_uri)
    assert _downloaded(f"models:/fraud-model/{version}", tmp_path) == "reviewed weights"


def test_the_verified_repository_is_read_only_and_checks_its_uri(tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from mlflow_registry_ext.artifacts.verified_repository import split_verified_uri, verified_uri

    source = _model_dir(tmp_path / "m")
    repo = get_artifact_repository(verified_uri(str(source), "sha256:" + "0" * 64))
    with pytest.raises(MlflowException) as err:
        repo.log_artifact(str(source / "MLmodel"))
    assert err.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException) as err:  # the digest is wrong: nothing is listed or served
        repo.list_artifacts()
    assert err.value.error_code == "RESOURCE_CONFLICT"
    for bad in ("verified:/x", "verified:/x#sha256:12", "verified:#sha256:" + "0" * 64, "file:/x#sha256:" + "0" * 64):
        with pytest.raises(MlflowException) as err:
            split_verified_uri(bad)
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
