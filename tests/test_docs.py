"""Every CLI command has help and is documented; the README keeps its two set-up commands."""

from __future__ import annotations

import re
from pathlib import Path

import click

from mlflow_registry_ext.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield path, command
            yield from _commands(command, path)
        else:
            yield path, command


def _documentation() -> str:
    texts = [(ROOT / "README.md").read_text()]
    texts += [p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(texts)


def test_every_command_has_help():
    missing = [" ".join(path) for path, cmd in _commands(cli) if not (cmd.help or "").strip()]
    assert not missing


def test_every_command_is_documented():
    docs = _documentation()
    undocumented = [
        " ".join(path)
        for path, cmd in _commands(cli)
        if not isinstance(cmd, click.Group) and f"`{' '.join(path)}" not in docs
        and not re.search(rf"mlflow-registry-ext[^\n`]*\b{re.escape(' '.join(path))}\b", docs)
    ]
    assert not undocumented, f"document these commands in README.md or docs/: {undocumented}"


def test_readme_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    commands = [line for block in blocks for line in block.strip().splitlines()]
    assert commands == [
        "pip install -e . && python examples/promotion.py",
        'pip install -e ".[dev]" && python -m pytest',
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert '\npip install -e ".[dev]" && python -m pytest\n' in ci


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, page.name


# -- shell blocks meant to be pasted run as written -----------------------------------------------
# A fenced ```bash block right after a `<!-- docs-test: run -->` line is run by bash, as written,
# in an empty folder with a free PORT (the blocks default it), and must exit 0.

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402

import pytest  # noqa: E402

_RUN_MARK = re.compile(r"<!-- docs-test: run -->\n```bash\n(.*?)\n```", re.S)


def _runnable_blocks():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, match in enumerate(_RUN_MARK.finditer(path.read_text()), 1):
            yield pytest.param(match.group(1), id=f"{path.name}#{number}")


def test_the_readme_has_a_runnable_review():
    blocks = [p.values[0] for p in _runnable_blocks()]
    assert any("approvals approve" in b and "promote" in b and "rollback" in b for b in blocks)


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("block", list(_runnable_blocks()))
def test_marked_shell_blocks_run_as_written(block, tmp_path):
    from tests.support.servers import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PORT=str(free_port()), MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", NO_PROXY="127.0.0.1,localhost")
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)  # the server the block started, if still there
        except ProcessLookupError:
            pass
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    assert "refused: erin asked" in text or "approvals approve" not in block
