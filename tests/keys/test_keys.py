"""Keys: generated with the right kinds and modes, never overwritten, loaded with clear errors."""

from __future__ import annotations

import base64
import hashlib
import json
import stat

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from mlflow_registry_ext import keys
from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.errors import InvalidInput


def test_generate_writes_both_keys_private_0600(tmp_path):
    made = keys.generate_keys(tmp_path / "k", log_name="test.example/log")
    assert stat.S_IMODE(made.signing_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(made.log_key.stat().st_mode) == 0o600
    signing = keys.load_signing_key(made.signing_key)
    assert isinstance(signing.curve, ec.SECP256R1)
    assert isinstance(keys.load_log_key(made.log_key), ed25519.Ed25519PrivateKey)
    assert keys.signing_key_id(keys.load_public_key(made.signing_public)) == made.signing_key_id
    with pytest.raises(InvalidInput, match="not overwritten"):
        keys.generate_keys(tmp_path / "k", log_name="test.example/log")


def test_note_key_id_follows_c2sp_signed_note(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expected = hashlib.sha256(b"log.example\n\x01" + raw).digest()[:4]
    assert keys.note_key_id("log.example", key) == expected
    name, key_hex, encoded = keys.note_verifier_key("log.example", key).split("+", 2)
    assert (name, key_hex) == ("log.example", expected.hex())
    assert base64.b64decode(encoded) == b"\x01" + raw


def test_loading_refuses_the_wrong_kind_of_key(tmp_path):
    made = keys.generate_keys(tmp_path, log_name="x/log")
    with pytest.raises(InvalidInput, match="ECDSA P-256"):
        keys.load_signing_key(made.log_key)
    with pytest.raises(InvalidInput, match="Ed25519"):
        keys.load_log_key(made.signing_key)
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(InvalidInput, match="no unencrypted PEM"):
        keys.load_signing_key(tmp_path / "junk.pem")
    with pytest.raises(InvalidInput, match="Cannot read key file"):
        keys.load_log_key(tmp_path / "missing.pem")


def test_unset_variables_mean_no_key(monkeypatch):
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv(keys.LOG_KEY_ENV, raising=False)
    assert keys.load_signing_key() is None
    assert keys.load_log_key() is None


def test_keygen_command_prints_ids_and_variables(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["--json", "keygen", str(tmp_path / "k"), "--origin", "t.example/log"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["log_origin"] == "t.example/log"
    assert out["environment"][keys.SIGNING_KEY_ENV].endswith("signing.pem")
    assert out["log_verifier_key"].startswith("t.example/log+" + out["log_key_id"] + "+")
    assert run_guarded(cli, ["keygen", str(tmp_path / "k")]) == 2
