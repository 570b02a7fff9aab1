"""Signed checkpoints held by witnesses catch what the chain cannot: truncation with a head
reset, deleting everything, a full rewrite; every tampering is named with its kind, verify exits
1 and never crashes, and registry writes go on. SQLite, PostgreSQL and MariaDB; witness file and
S3 (moto on loopback)."""

from __future__ import annotations

import json

import boto3
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from moto.server import ThreadedMotoServer

from mlflow_registry_ext.audit import ProofError, verify_consistency, verify_inclusion
from mlflow_registry_ext.audit import checkpoints
from mlflow_registry_ext.audit.chain import encode_entry, decode_body
from mlflow_registry_ext.audit.note import Verifier
from mlflow_registry_ext.audit.witnesses import witness_for_uri, witnesses_from_env
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.cli import cli as cli_group
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase

ORIGIN = "registry.test/governance"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def log_key(tmp_path, monkeypatch, s3_endpoint):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "log.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    monkeypatch.setenv("MLFLOW_GOVERNANCE_LOG_KEY", str(path))
    monkeypatch.setenv("MLFLOW_GOVERNANCE_LOG_ORIGIN", ORIGIN)
    for name, value in (("MLFLOW_S3_ENDPOINT_URL", s3_endpoint), ("AWS_ACCESS_KEY_ID", "test"),
                        ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = "witness-" + tmp_path.name.lower().replace("_", "-")[-40:]
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    file_uri = (tmp_path / "witness" / "checkpoints.txt").as_uri()
    monkeypatch.setenv("MLFLOW_GOVERNANCE_AUDIT_WITNESSES", f"{file_uri},s3://{bucket}/log")
    return key, file_uri, f"s3://{bucket}/log"


def _append(db, n, start=0):
    for i in range(n):
        with db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="test.event", model="m", after={"i": start + i})])


def _sql(db, *statements):
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def _rewrite(db, actor="mallory"):
    """Rewrite every entry with the package's own encoder: a valid chain of other content."""
    with db.engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT seq, body FROM gov_audit_log ORDER BY seq")).all()
        prev = "0" * 64
        for seq, body in rows:
            f = decode_body(body)
            f.pop("hash", None)
            f["prev_hash"], f["actor"] = prev, actor
            new_body, digest = encode_entry(**f)
            conn.execute(sa.text("UPDATE gov_audit_log SET body=:b, hash=:h, actor=:a WHERE seq=:s"),
                         {"b": new_body, "h": digest, "a": actor, "s": seq})
            prev = digest
        conn.execute(sa.text("UPDATE gov_audit_head SET hash=:h"), {"h": prev})


TAMPERINGS = {
    # name: (what an attacker with database access does, expected kind, expected first bad entry)
    "truncated_with_head_reset": (lambda db: (
        _sql(db, "DELETE FROM gov_audit_log WHERE seq > 6"),
        _sql(db, "UPDATE gov_audit_head SET seq = 6, hash = (SELECT hash FROM gov_audit_log WHERE seq = 6)"),
    ), "truncated", 7),
    "everything_deleted": (lambda db: _sql(
        db, "DELETE FROM gov_audit_log", f"UPDATE gov_audit_head SET seq = 0, hash = '{'0' * 64}'"),
        "truncated", 1),
    "rewritten": (_rewrite, "rewritten", 1),
    "edited": (lambda db: _sql(db, "UPDATE gov_audit_log SET actor = 'mallory' WHERE seq = 3"), "edited", 3),
    "deleted_in_the_middle": (lambda db: _sql(db, "DELETE FROM gov_audit_log WHERE seq = 4"), "deleted", 4),
    "head_row_deleted": (lambda db: _sql(db, "DELETE FROM gov_audit_head"), "deleted", 11),
}


@pytest.mark.database
@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
@pytest.mark.parametrize("held", ["file", "s3"])
def test_tampering_is_found_against_held_checkpoints_and_writes_go_on(database, log_key, tampering, held):
    key, file_uri, s3_uri = log_key
    db = GovernanceDatabase(database.uri).ensure_schema()
    _append(db, 10)
    record = checkpoints.create(db)
    assert (record.size, record.created) == (10, True)
    assert set(record.witnessed) == {file_uri, s3_uri}
    uri = file_uri if held == "file" else s3_uri
    verifier = Verifier.for_key(ORIGIN, key.public_key())
    notes = witness_for_uri(uri).notes()
    assert audit_log.verify_and_record(db, notes, verifier).ok

    act, kind, first_bad = TAMPERINGS[tampering]
    act(db)
    result = audit_log.verify_and_record(db, witness_for_uri(uri).notes(), verifier, full=True)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, kind, first_bad), result.reason
    # Still found after the failure was recorded (a lost head row is rebuilt by recording it,
    # so nothing is missing any more); the CLI exits 1.
    code = run_guarded(cli_group, ["--registry-uri", f"governed+{database.uri}", "--json", "audit", "verify",
                                   "--checkpoints", uri, "--full"])
    assert code == (0 if tampering == "head_row_deleted" else 1)
    # Registry writes keep working, and the failure was recorded as an entry of the log.
    _append(db, 1, start=100)
    with db.engine.connect() as conn:
        actions = [a for (a,) in conn.execute(sa.text("SELECT action FROM gov_audit_log ORDER BY seq"))]
    assert "audit.verification_failed" in actions and actions[-1] == "test.event"


@pytest.mark.database
def test_a_row_inserted_at_head_plus_one_is_found_recorded_and_writes_go_on(database, log_key):
    db = GovernanceDatabase(database.uri).ensure_schema()
    _append(db, 5)
    with db.engine.begin() as conn:
        body, digest = conn.execute(sa.text("SELECT body, hash FROM gov_audit_log WHERE seq = 5")).one()
        conn.execute(sa.text(
            "INSERT INTO gov_audit_log (seq, entry_id, timestamp_ms, actor, action, body, hash) "
            "VALUES (6, 'forged', 0, 'mallory', 'test.event', :b, :h)"),
            {"b": body.replace('"seq":5,', '"seq":6,'), "h": digest})
    result = audit_log.verify_and_record(db)
    assert (result.ok, result.kind, result.first_bad_seq) == (False, "inserted", 6)
    _append(db, 2, start=50)
    with db.engine.connect() as conn:
        tail = conn.execute(sa.text("SELECT seq, action FROM gov_audit_log ORDER BY seq DESC LIMIT 3")).all()
    assert [a for _, a in tail] == ["test.event", "test.event", "audit.verification_failed"]


def test_proofs_check_offline_and_incremental_verify(sqlite_database, log_key, tmp_path):
    key, file_uri, _ = log_key
    db = GovernanceDatabase(sqlite_database.uri).ensure_schema()
    _append(db, 1500)
    first = checkpoints.create(db)
    assert checkpoints.create(db).created is False  # only its own entry is new
    _append(db, 700, start=2000)
    second = checkpoints.create(db)
    assert (first.size, second.size) == (1500, 2201)
    vkey = Verifier.for_key(ORIGIN, key.public_key()).key_string
    for seq in (1, 700, 1024, 1025, 1500, 2201):
        bundle = checkpoints.inclusion(db, seq)
        assert verify_inclusion(json.dumps(bundle), vkey).size == 2201
    bad = checkpoints.inclusion(db, 9)
    bad["body"] = bad["body"].replace('"i":8', '"i":9')
    with pytest.raises(ProofError):
        verify_inclusion(bad, vkey)
    old, new = verify_consistency(checkpoints.consistency(db, 1500, 2201), vkey)
    assert (old.size, new.size) == (1500, 2201)
    # The audit.checkpoint entry carries the consistency proof a webhook subscriber checks.
    entry = audit_log.query(db.engine, audit_log.AuditQuery(action="audit.checkpoint"))[-1]
    assert entry.details["previous_size"] == 1500 and entry.details["consistency"]
    # The CLI on files, with no database.
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(json.dumps(checkpoints.inclusion(db, 5)))
    assert run_guarded(cli_group, ["audit", "check-proof", str(proof_file), "--verifier-key", vkey]) == 0
    proof_file.write_text(json.dumps(bad))
    assert run_guarded(cli_group, ["audit", "check-proof", str(proof_file), "--verifier-key", vkey]) == 1
    # Verified once in full, later runs start at the newest checkpoint verified.
    notes = witness_for_uri(file_uri).notes()
    verifier = Verifier.for_key(ORIGIN, key.public_key())
    assert audit_log.verify_and_record(db, notes, verifier, full=True).ok
    _append(db, 30, start=5000)
    result = audit_log.verify_and_record(db, notes, verifier)
    assert result.ok and result.checked <= 31
    # A note signed by another key is ignored, not trusted.
    other = Ed25519PrivateKey.generate()
    forged = checkpoints.sign_note(f"{ORIGIN}\n5000\n{'A' * 43}=\n", ORIGIN, other)
    assert audit_log.verify_and_record(db, notes + [forged], verifier, full=True).ok


def test_witness_uris_are_checked():
    assert [w.uri for w in witnesses_from_env("file:///tmp/a.txt, s3://b/p")] == ["file:///tmp/a.txt", "s3://b/p"]
    for bad in ["http://x/y", "s3://", "file://host/x"]:
        with pytest.raises(Exception):
            witnesses_from_env(bad)
