"""``audit witness``: keeps the log's checkpoints append-only and refuses one that is not an
extension of the newest it holds (a fork, a truncation, a rewrite, an unproven jump), from a
file (exit 1) or a stream of signed ``audit.checkpoint`` webhooks (409)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlflow_registry_ext import keys
from mlflow_registry_ext.audit import checkpoints
from mlflow_registry_ext.audit.note import split_notes
from mlflow_registry_ext.audit.witness_http import make_server
from mlflow_registry_ext.audit.witness_state import InconsistentCheckpoint, WitnessState
from mlflow_registry_ext.cli import cli as cli_group
from mlflow_registry_ext.cli._context import run_guarded
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext.audit import log as audit_log
from mlflow_registry_ext.audit.log import AuditDraft
from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.events.signing import sign_headers
from tests.support.databases import TempDatabase

ORIGIN = "registry.test/witness"
SECRET = "whsec_" + "C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@pytest.fixture
def log_key(tmp_path, monkeypatch):
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "log.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    monkeypatch.setenv("MLFLOW_GOVERNANCE_LOG_KEY", str(path))
    monkeypatch.setenv("MLFLOW_GOVERNANCE_LOG_ORIGIN", ORIGIN)
    monkeypatch.delenv("MLFLOW_GOVERNANCE_AUDIT_WITNESSES", raising=False)
    return key


@pytest.fixture
def verifier_key(log_key) -> str:
    return keys.note_verifier_key(ORIGIN, log_key.public_key())


def _log(tmp_path, name="log"):
    folder = tmp_path / name
    folder.mkdir()
    return GovernanceDatabase(TempDatabase("sqlite", folder).uri).ensure_schema()


def _grow(db, n, tag="a", key=None):
    for i in range(n):
        with db.transaction() as conn:
            audit_log.append(conn, [AuditDraft(action="test.event", model="m", after={"i": i, "tag": tag})])
    return checkpoints.create(db, key=key, witnesses=[])


def _details(db, size):
    with db.reading() as engine:
        found = audit_log.query(engine, audit_log.AuditQuery(action="audit.checkpoint", limit=10000))
    (entry,) = [e for e in found if e.details["size"] == size]
    return entry.details


def test_extensions_are_accepted_and_stored_append_only(tmp_path, log_key):
    db = _log(tmp_path)
    state = WitnessState(tmp_path / "held.txt", checkpoints.log_verifier())
    first = _grow(db, 3)
    assert state.offer(first.note).stored
    assert state.offer(first.note).stored is False  # held already: nothing new written
    second = _grow(db, 4)
    d = _details(db, second.size)
    accepted = state.offer(second.note, d["consistency"], proof_from=d["previous_size"])
    assert (accepted.size, accepted.previous_size, accepted.stored) == (second.size, first.size, True)
    held = split_notes((tmp_path / "held.txt").read_text())
    assert held == [first.note, second.note]
    # The state file is itself a witness audit verify reads.
    code = run_guarded(cli_group, ["--registry-uri", f"governed+{db.uri}", "audit", "verify", "--checkpoints",
                                   str(tmp_path / "held.txt")])
    assert code == 0


def test_a_fork_a_truncation_a_rewrite_and_an_unproven_jump_are_refused(tmp_path, log_key):
    honest, other = _log(tmp_path, "honest"), _log(tmp_path, "other")
    state = WitnessState(tmp_path / "held.txt", checkpoints.log_verifier())
    held = _grow(honest, 6)
    state.offer(held.note)
    before = (tmp_path / "held.txt").read_text()

    fork = _grow(other, 6, tag="b")           # same size, same key, other history
    assert fork.size == held.size and fork.root != held.root
    with pytest.raises(InconsistentCheckpoint, match="forked"):
        state.offer(fork.note)

    smaller = _grow(_log(tmp_path, "short"), 2)
    with pytest.raises(InconsistentCheckpoint, match="truncated"):
        state.offer(smaller.note)

    rewritten = _grow(other, 5, tag="b")      # larger, but not an extension of what is held
    d = _details(other, rewritten.size)
    with pytest.raises(InconsistentCheckpoint, match="rewritten"):
        state.offer(rewritten.note, d["consistency"], proof_from=held.size)
    with pytest.raises(InconsistentCheckpoint, match="rewritten"):
        state.offer(rewritten.note, proof_source=lambda old, new: checkpoints.consistency(other, old, new)["proof"])

    honest_next = _grow(honest, 9)
    with pytest.raises(InconsistentCheckpoint, match="unproven"):
        state.offer(honest_next.note, ["AAAA"], proof_from=3)
    assert (tmp_path / "held.txt").read_text() == before, "a refused checkpoint was stored"
    # Asked of the log, the proof from the newest held checkpoint is checked and accepted.
    assert state.offer(honest_next.note,
                       proof_source=lambda old, new: checkpoints.consistency(honest, old, new)["proof"]).stored


def test_a_note_not_signed_by_the_log_key_is_not_a_checkpoint(tmp_path, log_key):
    db = _log(tmp_path)
    record = _grow(db, 2)
    stranger = Ed25519PrivateKey.generate()
    forged = _grow(_log(tmp_path, "forged"), 2, key=stranger)
    state = WitnessState(tmp_path / "held.txt", checkpoints.log_verifier())
    with pytest.raises(InvalidInput):
        state.offer(forged.note)
    assert state.offer(record.note).stored


def test_the_cli_exits_1_on_an_inconsistent_checkpoint(tmp_path, log_key, verifier_key, capsys):
    db, other = _log(tmp_path), _log(tmp_path, "other")
    first = _grow(db, 3)
    second = _grow(db, 3)
    state = str(tmp_path / "held.txt")
    note = tmp_path / "first.txt"
    note.write_text(first.note)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "audit.checkpoint", "data": _details(db, second.size)}))
    fork = tmp_path / "fork.txt"
    fork.write_text(_grow(other, 2, tag="b").note)
    base = ["audit", "witness", "--log-key", verifier_key, "--state", state, "--checkpoint"]
    assert run_guarded(cli_group, [*base, str(note)]) == 0
    assert run_guarded(cli_group, [*base, str(event)]) == 0
    assert f"checkpoint {second.size}" in capsys.readouterr().out
    assert run_guarded(cli_group, [*base, str(fork)]) == 1
    assert "refused" in capsys.readouterr().err
    bundle = tmp_path / "bundle.json"
    third = _grow(db, 2)
    bundle.write_text(json.dumps(checkpoints.consistency(db, second.size, third.size)))
    assert run_guarded(cli_group, [*base, str(bundle)]) == 0
    assert [n.splitlines()[1] for n in split_notes((tmp_path / "held.txt").read_text())] == [
        str(first.size), str(second.size), str(third.size)]
    assert run_guarded(cli_group, ["audit", "witness", "--log-key", verifier_key, "--state", state]) == 2


def _post(url, body: dict, secret=SECRET):
    raw = json.dumps(body)
    headers = sign_headers(scheme="standard", msg_id="evt_" + str(time.time_ns()), timestamp=int(time.time()),
                           body=raw, secrets=[secret])
    request = urllib.request.Request(url, data=raw.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_webhook_witness_answers_200_409_and_401(tmp_path, log_key):
    db, other = _log(tmp_path), _log(tmp_path, "other")
    first = _grow(db, 3)
    second = _grow(db, 4)
    state = WitnessState(tmp_path / "held.txt", checkpoints.log_verifier())
    server = make_server(state, SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        status, body = _post(url, {"type": "audit.checkpoint", "data": _details(db, first.size)})
        assert (status, body["accepted"], body["size"]) == (200, True, first.size)
        status, body = _post(url, {"type": "audit.checkpoint", "data": _details(db, second.size)})
        assert (status, body["previous_size"]) == (200, first.size)
        fork = _grow(other, second.size, tag="b")
        status, body = _post(url, {"type": "audit.checkpoint", "data": _details(other, fork.size)})
        assert status == 409 and body["error_code"] == "RESOURCE_CONFLICT" and "forked" in body["message"]
        status, body = _post(url, {"type": "audit.checkpoint", "data": _details(db, second.size)},
                             secret="whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==")
        assert status == 401
        status, body = _post(url, {"type": "model_version.created", "data": {}})
        assert status == 200 and body["ignored"] is True
        status, body = _post(url, {"type": "audit.checkpoint", "data": {"note": "not a note"}})
        assert status == 400
    finally:
        server.shutdown()
        server.server_close()
    assert [n.splitlines()[1] for n in split_notes((tmp_path / "held.txt").read_text())] == [
        str(first.size), str(second.size)]
