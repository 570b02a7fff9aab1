"""A server that is not there: every command that talks to one exits 4 with one line naming it."""

from __future__ import annotations

import click
import pytest

from mlflow_registry_ext.cli import cli
from mlflow_registry_ext.cli._context import run_guarded
from tests.support.servers import free_port

#: Commands that never talk to a server (they work on files or a database only).
#: (`policy show` reads the local policy file; it asks a server only for a version's checks;
#: `audit witness` asks one only for a consistency proof it is missing.)
OFFLINE = {"db upgrade", "policy validate", "policy show", "keygen", "webhooks worker", "artifacts gc",
           "evidence verify", "audit check-proof", "audit witness"}

#: Commands that need the registry database itself: given only a server, they say so (exit 2).
DATABASE_ONLY = {"artifacts pin": ["m"]}

ARGS = {
    "audit export": ["out.jsonl"], "audit prove": ["1"], "audit consistency": ["1", "2"], "audit history": ["m", "--alias", "a"],
    "policy show": ["m"],
    "approvals request": ["m", "1", "--alias", "a"], "approvals approve": ["ar_1"],
    "approvals reject": ["ar_1"], "approvals cancel": ["ar_1"],
    "approvals comment": ["ar_1", "--comment", "c"], "approvals show": ["ar_1"],
    "approvals status": ["m", "1"], "promote": ["m", "1", "--alias", "a"], "rollback": ["m", "--alias", "a", "--reason", "r"],
    "fairness check": ["m", "1", "--data", "data.csv", "--target", "y", "--prediction", "p",
                       "--sensitive", "s", "--no-chart"],
    "fairness list": ["m", "1"],
    "webhooks create": ["http://127.0.0.1:9/x", "--events", "*"], "webhooks update": ["wh_1", "--disable"],
    "webhooks rotate-secret": ["wh_1"], "webhooks delete": ["wh_1"], "webhooks test": ["wh_1"],
    "webhooks attempts": ["dl_1"], "webhooks redeliver": ["dl_1"],
    "webhooks replay": ["wh_1", "--since", "2026-01-01"],
    "artifacts digest": ["models:/m/1"], "artifacts verify": ["models:/m/1"],
    "dossier": ["m", "1"], "evidence export": ["m", "1", "-o", "x.zip"], "card": ["m", "1", "--format", "md"], "scan": ["m", "1"],
}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield " ".join(path)


ONLINE = sorted(set(_commands(cli)) - OFFLINE - set(DATABASE_ONLY))


@pytest.mark.parametrize("command", ONLINE)
def test_every_command_exits_4_naming_the_server(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    (tmp_path / "data.csv").write_text("y,p,s\n1,1,a\n0,1,b\n")
    uri = f"http://127.0.0.1:{free_port()}"
    code = run_guarded(cli, ["--tracking-uri", uri, *command.split(), *ARGS.get(command, [])])
    out, err = capsys.readouterr()
    assert code == 4, f"{command}: exit {code}\n{out}\n{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and uri in lines[0] and "Cannot reach the server" in lines[0], err
    assert "Traceback" not in err and "HTTPConnectionPool" not in err


@pytest.mark.parametrize("command", sorted(DATABASE_ONLY))
def test_database_commands_given_only_a_server_name_the_option(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    uri = f"http://127.0.0.1:{free_port()}"
    code = run_guarded(cli, ["--tracking-uri", uri, *command.split(), *DATABASE_ONLY[command]])
    _, err = capsys.readouterr()
    assert code == 2, err
    assert "--registry-uri" in err and len(err.strip().splitlines()) == 1
