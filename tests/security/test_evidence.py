"""The evidence bundle of an approved version: exported with the CLI, verified offline in a fresh
process holding only the bundle and the key; any changed byte or dropped approval fails, named."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from mlflow_registry_ext.cli import main  # noqa: F401 - the CLI under test
from tests.approvals.fixtures import approved_request, as_user, copy_database, governed_store
from tests.security.models import skops_model
from tests.security.test_scan import POLICY

pytestmark = [pytest.mark.slow]


def _cli(*args, cwd, env=None):
    code = "import sys; from mlflow_registry_ext.cli import main; sys.exit(main())"
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def exported(sqlite_template, tmp_path_factory):
    from mlflow_registry_ext.keys import generate_keys
    from mlflow_registry_ext.registry.store import GovernedRegistryStore

    tmp = tmp_path_factory.mktemp("evidence")
    keys = tmp / "keys"
    generate_keys(keys, log_name="test.example/log")
    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("MLFLOW_GOVERNANCE_SCAN_ON_CREATE", raising=False)
        store = governed_store(copy_database(sqlite_template, tmp), mp, tmp, policy=POLICY.format(level="clean").replace("[production]", "[production, champion]"))
        with as_user("frank"):
            store.create_registered_model("fraud-model")
            version = str(store.create_model_version("fraud-model", str(skops_model(tmp / "model"))).version)
        first = approved_request(store, "fraud-model", version, reviewers=("alice",))
        with as_user("erin"):
            store.set_registered_model_alias("fraud-model", "production", version)
        second = approved_request(store, "fraud-model", version, alias="champion", reviewers=("alice",))
        out = tmp / "bundle.zip"
        env = {"MLFLOW_GOVERNANCE_SIGNING_KEY": str(keys / "signing.pem"),
               "MLFLOW_GOVERNANCE_LOG_KEY": str(keys / "log.pem"),
               "MLFLOW_GOVERNANCE_LOG_ORIGIN": "test.example/log",
               "MLFLOW_GOVERNANCE_POLICY": os.environ["MLFLOW_GOVERNANCE_POLICY"]}
        result = _cli("--registry-uri", store.store_uri, "audit", "checkpoint", cwd=tmp, env=env)
        assert result.returncode == 0, result.stderr
        result = _cli("--registry-uri", store.store_uri, "evidence", "export", "fraud-model", version, "-o", str(out),
                      cwd=tmp, env=env)
        assert result.returncode == 0, result.stderr
    finally:
        mp.undo()
    del GovernedRegistryStore
    return tmp, out, keys / "signing.pub.pem", (first.id, second.id)


def _verify(tmp_path, bundle_bytes: bytes, public_key, *extra):
    # A fresh folder holding only the bundle and the key: no server, no database.
    (tmp_path / "bundle.zip").write_bytes(bundle_bytes)
    (tmp_path / "key.pem").write_bytes(public_key.read_bytes())
    return _cli("evidence", "verify", "bundle.zip", "--public-key", "key.pem", *extra, cwd=tmp_path)


def _rewrite(data: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            content = change(name, src.read(name))
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def test_the_bundle_holds_every_part_and_verifies_offline(exported, tmp_path):
    tmp, bundle, key, (first, second) = exported
    data = bundle.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        index = json.loads(zf.read("index.json"))
        scan = json.loads(zf.read("security/scan.json"))
        bom = json.loads(zf.read("security/bom.cdx.json"))
    assert {f"approvals/{first}.json", f"approvals/{second}.json", "audit/entries.jsonl",
            "artifacts/manifest.json", "keys/signing.pub.pem", "manifest.json", "manifest.sig"} <= names
    assert scan["status"] == "clean" and bom["specVersion"] == "1.6"
    status = {p["name"]: p["status"] for p in index["parts"]}
    assert status["scan"] == status["approvals"] == status["audit"] == "present"
    assert status["dossier"] == status["model_card"] == "present"
    assert status["checkpoint"] == status["inclusion_proofs"] == "present"
    assert {"dossier.json", "model_card.md", "audit/checkpoint.txt", "audit/proofs.json"} <= names
    assert all(p["eu_ai_act"] and p["sr_11_7"] and p["nist_ai_rmf"] for p in index["parts"])
    result = _verify(tmp_path, data, key, "--model-dir", str(tmp / "model"))
    assert result.returncode == 0, result.stderr
    assert "Verified bundle.zip" in result.stdout


def test_flipping_one_byte_of_any_member_fails_naming_it(exported, tmp_path):
    _, bundle, key, _ = exported
    data = bundle.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    for n, member in enumerate(names):
        flipped = _rewrite(data, lambda name, c: (bytes([c[0] ^ 1]) + c[1:]) if name == member else c)
        result = _verify(tmp_path / str(n), flipped, key) if (tmp_path / str(n)).mkdir() is None else None
        assert result.returncode == 1, (member, result.stdout)
        assert member in result.stderr, (member, result.stderr)


def test_dropping_an_approval_fails_naming_it(exported, tmp_path):
    _, bundle, key, (first, _) = exported
    dropped = _rewrite(bundle.read_bytes(), lambda name, c: None if name == f"approvals/{first}.json" else c)
    result = _verify(tmp_path, dropped, key)
    assert result.returncode == 1
    assert f"approvals/{first}.json is missing from the bundle" in result.stderr


def test_another_key_and_changed_model_files_fail(exported, tmp_path):
    from mlflow_registry_ext.keys import generate_keys

    tmp, bundle, _, _ = exported
    generate_keys(tmp_path / "other", log_name="other/log")
    result = _verify(tmp_path, bundle.read_bytes(), tmp_path / "other" / "signing.pub.pem")
    assert result.returncode == 1 and "manifest.sig" in result.stderr
    copy = tmp_path / "model-copy"
    import shutil

    shutil.copytree(tmp / "model", copy)
    (copy / "MLmodel").write_text("changed")
    key = exported[2]
    result = _verify(tmp_path / "x" if (tmp_path / "x").mkdir() is None else None, bundle.read_bytes(), key,
                     "--model-dir", str(copy))
    assert result.returncode == 1 and "model file MLmodel differs" in result.stderr


def test_proofs_are_checked_against_the_pinned_log_key(exported, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from mlflow_registry_ext.keys import load_log_key, note_verifier_key

    tmp, bundle, key, _ = exported
    right = note_verifier_key("test.example/log", load_log_key(tmp / "keys" / "log.pem").public_key())
    ok = _verify(tmp_path, bundle.read_bytes(), key, "--log-key", right)
    assert ok.returncode == 0, ok.stderr
    wrong = note_verifier_key("test.example/log", ed25519.Ed25519PrivateKey.generate().public_key())
    result = _verify(tmp_path, bundle.read_bytes(), key, "--log-key", wrong)
    assert result.returncode == 1
    assert "audit/proofs.json" in result.stderr
