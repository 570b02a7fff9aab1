"""Model signatures made from known hashes are the stock ``model_signing`` format."""

from __future__ import annotations

import json
import subprocess

import pytest

from mlflow_registry_ext.artifacts.digest import FileEntry, model_digest
from mlflow_registry_ext.artifacts.model_signature import sign_files, signed_files, signed_resources, verify_files
from mlflow_registry_ext.errors import IntegrityError, InvalidInput
from tests.signing.helpers import flip_byte, make_keys, make_model_dir, serialized_model


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path / "keys")


def _stock_verify(model_dir, sig, public):
    import model_signing

    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=str(public)).verify(
        str(model_dir), str(sig)
    )


def test_signature_from_known_hashes_verifies_with_the_stock_api_and_cli(tmp_path, keys):
    model = make_model_dir(tmp_path / "model")
    sig = tmp_path / "model.sig"
    sig.write_text(sign_files("fraud", model_digest(str(model)).files, keys.signing_key))
    _stock_verify(model, sig, keys.signing_public)
    run = subprocess.run(
        ["model_signing", "verify", "key", str(model), "--signature", str(sig),
         "--public_key", str(keys.signing_public)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "Verification succeeded" in run.stdout, run.stdout + run.stderr


def test_one_flipped_byte_fails_the_stock_verifier_and_ours(tmp_path, keys):
    model = make_model_dir(tmp_path / "model")
    bundle = sign_files("fraud", model_digest(str(model)).files, keys.signing_key)
    sig = tmp_path / "model.sig"
    sig.write_text(bundle)
    flip_byte(model / "data" / "weights.bin", offset=100)
    with pytest.raises(ValueError, match="data/weights.bin"):
        _stock_verify(model, sig, keys.signing_public)
    with pytest.raises(IntegrityError, match="data/weights.bin"):
        verify_files(bundle, model_digest(str(model)).files, keys.signing_public)


def test_a_real_sklearn_model_registered_with_mlflow(tmp_path, keys):
    """What ``download_artifacts("models:/NAME/VERSION")`` writes (with MLflow's own
    ``registered_model_meta`` where it writes one) is exactly what is signed."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("signing", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), name="model",
                                 registered_model_name="sk-model", pip_requirements=["scikit-learn"])
    files = model_digest("models:/sk-model/1").files
    local = mlflow.artifacts.download_artifacts("models:/sk-model/1", dst_path=str(tmp_path / "dl"))
    sig = tmp_path / "model.sig"
    sig.write_text(sign_files("sk-model", files, keys.signing_key, registered_as=("sk-model", "1")))
    _stock_verify(local, sig, keys.signing_public)
    flip_byte(serialized_model(tmp_path / "dl"))
    with pytest.raises(ValueError, match="Signature mismatch"):
        _stock_verify(local, sig, keys.signing_public)


def test_a_signature_made_before_an_mlflow_upgrade_still_verifies(tmp_path, keys, monkeypatch):
    """MLflow before 3.18 wrote ``registered_model_meta`` into downloads and signatures cover it;
    after the upgrade they still verify, and the file is still checked as it was written."""
    from mlflow.store.artifact import models_artifact_repo

    files = model_digest(str(make_model_dir(tmp_path / "model"))).files
    monkeypatch.setattr(models_artifact_repo, "REGISTERED_MODEL_META_FILE_NAME", "registered_model_meta",
                        raising=False)
    before = sign_files("fraud", files, keys.signing_key, registered_as=("fraud", "1"))
    assert "registered_model_meta" in signed_resources(before, keys.signing_public)
    monkeypatch.delattr(models_artifact_repo, "REGISTERED_MODEL_META_FILE_NAME")
    after = sign_files("fraud", files, keys.signing_key, registered_as=("fraud", "1"))
    assert set(signed_resources(after, keys.signing_public)) == {f.path for f in files}
    for bundle in (before, after):
        assert verify_files(bundle, files, keys.signing_public, registered_as=("fraud", "1")) >= len(files)
    with pytest.raises(IntegrityError, match="registered_model_meta"):
        verify_files(before, files, keys.signing_public, registered_as=("fraud", "2"))


def test_git_paths_are_left_out_the_way_the_stock_verifier_skips_them(tmp_path, keys):
    model = make_model_dir(tmp_path / "model")
    (model / ".gitignore").write_text("*.tmp\n")
    files = model_digest(str(model)).files
    assert ".gitignore" not in {f.path for f in signed_files(files)}
    sig = tmp_path / "model.sig"
    sig.write_text(sign_files("fraud", files, keys.signing_key))
    _stock_verify(model, sig, keys.signing_public)


def test_another_key_and_a_tampered_bundle_are_refused(tmp_path, keys):
    model = make_model_dir(tmp_path / "model")
    files = model_digest(str(model)).files
    bundle = sign_files("fraud", files, keys.signing_key)
    other = make_keys(tmp_path / "other")
    with pytest.raises(IntegrityError, match="does not verify"):
        verify_files(bundle, files, other.signing_public)
    data = json.loads(bundle)
    data["dsseEnvelope"]["signatures"][0]["sig"] = data["dsseEnvelope"]["signatures"][0]["sig"][::-1]
    with pytest.raises(IntegrityError):
        verify_files(json.dumps(data), files, keys.signing_public)
    with pytest.raises(IntegrityError, match="not a signature bundle"):
        verify_files("{}", files, keys.signing_public)
    extra = list(files) + [FileEntry("new.bin", 1, "0" * 64)]
    with pytest.raises(IntegrityError, match="does not cover new.bin"):
        verify_files(bundle, extra, keys.signing_public)


def test_nothing_to_sign_and_a_non_ec_key_are_refused(tmp_path, keys):
    with pytest.raises(InvalidInput, match="no file"):
        sign_files("fraud", [FileEntry(".gitignore", 1, "0" * 64)], keys.signing_key)
    with pytest.raises(InvalidInput, match="Cannot sign"):
        sign_files("fraud", [FileEntry("a", 1, "0" * 64)], keys.log_key)
