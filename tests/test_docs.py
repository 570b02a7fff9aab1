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
