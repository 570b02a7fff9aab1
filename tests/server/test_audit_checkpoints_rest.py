"""Audit checkpoints on a real ``mlflow server --app-name governance`` (two workers, workspaces
on): automatic checkpoints every N entries signed once, the REST proofs an auditor checks
offline, the CLI against the server printing what it prints on the database, ``GET /health``,
bad input answered 400, and an ``audit witness --serve`` fed by the server's own webhooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mlflow_registry_ext import keys
from mlflow_registry_ext.audit import verify_consistency, verify_inclusion
from mlflow_registry_ext.audit.note import split_notes
from tests.support.governance_servers import ADMIN, call, environment, server_env, unique
from tests.support.servers import MlflowServer, free_port, wait_http_ok

pytestmark = [pytest.mark.server]

GOV = "/api/2.0/mlflow/governance"
ORIGIN = "registry.test/checkpoints"
EVERY = 5
CLI = (sys.executable, "-c", "from mlflow_registry_ext.cli import main; main()")


class WorkspaceServer(MlflowServer):
    def command(self) -> list[str]:
        return super().command() + ["--enable-workspaces"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("checkpoint-server")
    key = Ed25519PrivateKey.generate()
    key_path = workdir / "log.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    witness = workdir / "witness.txt"
    env = server_env(
        workdir,
        MLFLOW_GOVERNANCE_LOG_KEY=str(key_path),
        MLFLOW_GOVERNANCE_LOG_ORIGIN=ORIGIN,
        MLFLOW_GOVERNANCE_AUDIT_WITNESSES=witness.as_uri(),
        MLFLOW_GOVERNANCE_CHECKPOINT_EVERY=str(EVERY),
        MLFLOW_GOVERNANCE_CHECKPOINT_INTERVAL="0",
    )
    registry = f"governed+sqlite:///{workdir / 'registry.db'}"
    srv = WorkspaceServer(workdir, registry_uri=registry, backend_uri=registry.removeprefix("governed+"),
                          env=env, workers=2)
    srv.start()
    try:
        status, body, _ = call(f"{srv.url}/api/3.0/mlflow/workspaces", "POST", {"name": "ws2"})
        assert status in (200, 201), body
        srv.env, srv.witness, srv.key_path = env, witness, key_path
        srv.verifier_key = keys.note_verifier_key(ORIGIN, key.public_key())
        srv.db_uri = registry
        yield srv
    finally:
        srv.stop()


def _create_models(server, n: int, workspace: str | None = None) -> list[str]:
    headers = {"X-MLFLOW-WORKSPACE": workspace} if workspace else None
    names = []
    for _ in range(n):
        name = unique("ckpt")
        status, body, _ = call(f"{server.url}/api/2.0/mlflow/registered-models/create", "POST", {"name": name},
                               headers=headers)
        assert status == 200, body
        names.append(name)
    return names


def _latest(server):
    status, body, _ = call(f"{server.url}{GOV}/audit/checkpoints?limit=1")
    assert status == 200, body
    return body["checkpoints"][0] if body["checkpoints"] else None


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _oldest(server) -> int:
    status, body, _ = call(f"{server.url}{GOV}/audit/checkpoints?limit=10000")
    return min(c["size"] for c in body["checkpoints"])


def _first(server) -> int:
    """The default workspace's oldest entry (under pytest-xdist, ws2's may be entry 1)."""
    status, body, _ = call(f"{server.url}{GOV}/audit?after_seq=0&limit=10000")
    assert status == 200, body
    return min(e["seq"] for e in body["entries"])


def _head(server) -> int:
    status, body, _ = call(f"{server.url}{GOV}/audit?after_seq=0&limit=10000")
    assert status == 200, body
    return max((e["seq"] for e in body["entries"]), default=0)


def _cli(server, *args, rest=True):
    """The CLI in this process, through the server or on its database (the server's log key)."""
    import contextlib
    import io

    from mlflow_registry_ext.cli import cli
    from mlflow_registry_ext.cli._context import run_guarded

    uri = ["--tracking-uri", server.url] if rest else ["--registry-uri", server.db_uri]
    out, err = io.StringIO(), io.StringIO()
    with environment({k: server.env[k] for k in ("MLFLOW_GOVERNANCE_LOG_KEY", "MLFLOW_GOVERNANCE_LOG_ORIGIN")}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_guarded(cli, [*uri, *args])
    return code, out.getvalue(), err.getvalue()


def test_the_server_signs_a_checkpoint_every_n_entries_once_across_workers(server):
    before = _latest(server)
    start = before["size"] if before else 0
    _create_models(server, EVERY + 1)
    made = _wait_for(lambda: (c := _latest(server)) and c["size"] > start and c)
    # The checkpoint's own entry comes right after it: the next one needs EVERY new entries.
    assert made["size"] >= start + EVERY
    notes = split_notes(server.witness.read_text())
    sizes = [n.splitlines()[1] for n in notes]
    assert len(sizes) == len(set(sizes)), "a checkpoint reached the witness twice"
    assert str(made["size"]) in sizes
    status, body, _ = call(f"{server.url}{GOV}/audit?action=audit.checkpoint&limit=1000")
    signed = [e["details"]["size"] for e in body["entries"]]
    assert len(signed) == len(set(signed))


def test_no_checkpoint_is_signed_before_n_new_entries(server):
    _create_models(server, EVERY + 1)
    first = _wait_for(lambda: _latest(server))
    head = _head(server)
    if head - first["size"] - 1 >= EVERY:   # the previous test's tail made one due; let it land
        first = _wait_for(lambda: (c := _latest(server)) and c["size"] > first["size"] and c)
        head = _head(server)
    missing = EVERY - (head - first["size"] - 1)
    if missing > 1:
        _create_models(server, missing - 1)
        time.sleep(2.5)   # two polls of the checkpointer
        assert _latest(server)["size"] == first["size"]
    _create_models(server, 1)
    assert _wait_for(lambda: _latest(server)["size"] > first["size"])


def test_inclusion_and_consistency_proofs_check_offline(server):
    _create_models(server, 2)
    status, made, _ = call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})
    assert status == 200, made
    assert made["size"] >= 2 and made["note"].startswith(ORIGIN + "\n")
    status, proof, _ = call(f"{server.url}{GOV}/audit/proof?seq=2")
    assert status == 200, proof
    cp = verify_inclusion(proof, server.verifier_key)
    assert cp.size == proof["size"] >= made["size"]
    oldest = _oldest(server)
    status, consistency, _ = call(f"{server.url}{GOV}/audit/consistency?old={oldest}&new={cp.size}")
    assert status == 200, consistency
    old, new = verify_consistency(consistency, server.verifier_key)
    assert (old.size, new.size) == (oldest, cp.size)
    status, again, _ = call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})
    assert status == 200 and again["created"] is False and again["size"] == made["size"]


def test_checkpoints_list_newest_first_in_pages(server):
    for _ in range(2):
        _create_models(server, 1)
        assert call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})[0] == 200
    status, page, _ = call(f"{server.url}{GOV}/audit/checkpoints?limit=1")
    assert status == 200 and len(page["checkpoints"]) == 1
    cursor = page["next_before_size"]
    assert cursor == page["checkpoints"][0]["size"]
    status, rest, _ = call(f"{server.url}{GOV}/audit/checkpoints?limit=100&before_size={cursor}")
    sizes = [c["size"] for c in rest["checkpoints"]]
    assert sizes and sizes == sorted(sizes, reverse=True) and max(sizes) < cursor


@pytest.mark.parametrize("query, code", [
    ("proof?seq=abc", 400), ("proof?seq=0", 400), ("proof", 400), ("proof?seq=1&size=999999", 404),
    ("proof?seq=99999999", 404), ("proof?seq=99999999999999999999999", 400),
    ("consistency?old=9&new=3", 400), ("consistency?old=-1", 400), ("consistency?old=99999999", 404),
    ("checkpoints?limit=0", 400), ("checkpoints?before_size=x", 400),
])
def test_bad_input_is_a_4xx_in_mlflow_json(server, query, code):
    status, body, _ = call(f"{server.url}{GOV}/audit/{query}")
    assert status == code, body
    assert set(body) >= {"error_code", "message"}


def test_one_workspace_gets_no_proof_of_another_workspaces_entry(server):
    _create_models(server, 1, workspace="ws2")
    status, entries, _ = call(f"{server.url}{GOV}/audit?limit=10000", headers={"X-MLFLOW-WORKSPACE": "ws2"})
    seq = entries["entries"][-1]["seq"]
    call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})
    status, body, _ = call(f"{server.url}{GOV}/audit/proof?seq={seq}")
    assert status == 404, body
    status, body, _ = call(f"{server.url}{GOV}/audit/proof?seq={seq}", headers={"X-MLFLOW-WORKSPACE": "ws2"})
    assert status == 200, body
    assert verify_inclusion(body, server.verifier_key).size >= seq


def test_health_reports_policy_checkpoint_dispatcher_and_reconcile(server):
    _create_models(server, 1)
    call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})
    status, body, _ = call(f"{server.url}{GOV}/health")
    assert status == 200, body
    assert body["policy"]["configured"] is True and body["policy"]["digest"].startswith("sha256:")
    assert body["checkpoint"]["log_key_configured"] is True
    assert body["checkpoint"]["last"]["age_seconds"] >= 0
    assert body["dispatcher"]["lag_seconds"] >= 0 and "undelivered" in body["dispatcher"]
    assert body["reconcile"] is None
    text = json.dumps(body)
    assert "whsec_" not in text and "PRIVATE KEY" not in text


def test_the_cli_against_the_server_prints_what_it_prints_on_the_database(server):
    _create_models(server, 1)
    code, made, err = _cli(server, "--json", "audit", "checkpoint")
    assert code == 0, err
    size = json.loads(made)["size"]
    for args in (("audit", "prove", str(_first(server)), "--size", str(size)), ("audit", "consistency", str(_oldest(server)), str(size))):
        rest = _cli(server, *args)
        direct = _cli(server, *args, rest=False)
        assert rest[0] == direct[0] == 0, (rest, direct)
        assert json.loads(rest[1]) == json.loads(direct[1])
    rest = _cli(server, "audit", "verify", "--checkpoints", server.witness.as_uri())
    direct = _cli(server, "audit", "verify", "--checkpoints", server.witness.as_uri(), rest=False)
    assert rest[0] == direct[0] == 0, (rest, direct)
    assert "held checkpoint" in rest[1] and rest[1].split(":")[0] == direct[1].split(":")[0]


def test_a_witness_serving_webhooks_keeps_every_checkpoint_the_server_signs(server, tmp_path):
    port = free_port()
    state = tmp_path / "held.txt"
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [*CLI, "--tracking-uri", server.url, "audit", "witness",
         "--log-key", server.verifier_key, "--state", str(state), "--serve", f"127.0.0.1:{port}",
         "--secret", secret],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _create_models(server, 1)
        call(f"{server.url}{GOV}/audit/checkpoint", "POST", {})
        wait_http_ok(f"http://127.0.0.1:{port}/", 30, proc)
        status, hook, _ = call(f"{server.url}{GOV}/webhooks", "POST", {
            "url": f"http://127.0.0.1:{port}/", "events": ["audit.checkpoint"], "secret": secret})
        assert status == 200, hook
        # The first delivery is trusted on first use; the next ones must each extend it.
        for _ in range(2):
            start = _latest(server)["size"]
            _create_models(server, EVERY)
            _wait_for(lambda: _latest(server)["size"] > start)
        newest = _latest(server)["size"]
        _wait_for(lambda: state.exists() and str(newest) in [n.splitlines()[1] for n in split_notes(state.read_text())],
                  timeout=60)
        held = [int(n.splitlines()[1]) for n in split_notes(state.read_text())]
        assert held == sorted(held) and len(held) >= 2
        status, deliveries, _ = call(f"{server.url}{GOV}/deliveries?webhook_id={hook['webhook']['id']}")
        assert all(d["last_status_code"] in (None, 200) for d in deliveries["deliveries"]), deliveries
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_the_python_client_over_rest_is_the_direct_one(server):
    from mlflow_registry_ext.client import GovernanceClient

    _create_models(server, 1)
    rest = GovernanceClient(tracking_uri=server.url)
    made = rest.create_checkpoint()
    with environment({k: server.env[k] for k in ("MLFLOW_GOVERNANCE_LOG_KEY", "MLFLOW_GOVERNANCE_LOG_ORIGIN")}):
        direct = GovernanceClient(registry_uri=server.db_uri)
        assert rest.list_checkpoints(limit=3) == direct.list_checkpoints(limit=3)
        first = _first(server)
        assert rest.prove_entry(first, made.size) == direct.prove_entry(first, made.size)
        assert rest.health()["checkpoint"]["last"]["size"] == direct.health()["checkpoint"]["last"]["size"]


def test_verify_through_the_server_finds_a_truncation_against_held_checkpoints(server, tmp_path):
    from mlflow_registry_ext.audit.note import Checkpoint, format_checkpoint, sign_note

    private = keys.load_log_key(server.key_path)
    beyond = _head(server) + 1000
    held = tmp_path / "held.txt"
    held.write_text(server.witness.read_text()
                    + sign_note(format_checkpoint(Checkpoint(ORIGIN, beyond, bytes(32))), ORIGIN, private))
    code, out, err = _cli(server, "audit", "verify", "--checkpoints", str(held))
    assert code == 1, (out, err)
    assert "(truncated)" in out and "deleted" in out
    status, body, _ = call(f"{server.url}{GOV}/audit/verify", "POST", {"checkpoints": ["not a note"]})
    assert status == 200 and body["ok"] is True   # notes not signed by the log are ignored
    status, body, _ = call(f"{server.url}{GOV}/audit/verify", "POST", {"checkpoints": [], "verifier_key": "x"})
    assert status == 400, body


def test_making_a_checkpoint_needs_an_admin_when_the_server_has_auth(auth_server):
    status, body, _ = call(f"{auth_server.url}{GOV}/audit/checkpoint", "POST", {}, user="viewer")
    assert status == 403, body
    status, body, _ = call(f"{auth_server.url}{GOV}/audit/checkpoint", "POST", {}, user=ADMIN[0])
    # No log key on that server: refused as bad configuration, never a 500.
    assert status == 400 and "MLFLOW_GOVERNANCE_LOG_KEY" in body["message"], body
    status, body, _ = call(f"{auth_server.url}{GOV}/health", user="viewer")
    assert status == 200 and body["checkpoint"]["last"] is None and body["checkpoint"]["log_key_configured"] is False
