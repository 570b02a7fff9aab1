"""Every environment variable is declared once in settings.py, read there, and documented from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlflow_registry_ext import settings
from mlflow_registry_ext.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlflow_registry_ext"
# Modules that set variables (MLflow's URIs for a scoped call, the policy for `policy test`).
_WRITERS = {"mlflow_uris.py", "cli/policy.py"}


def test_the_readme_table_is_printed_from_the_declarations():
    readme = (ROOT / "README.md").read_text()
    assert settings.markdown_table() in readme, (
        "README.md's table of environment variables differs from settings.py: paste the output of "
        "`python -m mlflow_registry_ext.settings`"
    )


def test_every_variable_the_package_names_is_declared():
    declared = {s.name for s in settings.SETTINGS}
    named: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for name in re.findall(r"\b(MLFLOW_(?:GOVERNANCE|CAS)_[A-Z0-9_]+)\b", path.read_text()):
            named.setdefault(name, str(path.relative_to(ROOT)))
    # Some modules name a family in prose ("MLFLOW_GOVERNANCE_CHECKPOINT_EVERY / ..._INTERVAL").
    missing = {n: where for n, where in named.items() if n not in declared and not n.endswith("_")}
    assert not missing, f"variables named but not declared in settings.py: {missing}"


def test_only_settings_reads_the_environment():
    readers = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "settings.py" or relative in _WRITERS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if ">>>" not in code and re.search(r"os\.environ|os\.getenv|getenv\(", code):
                readers.append(f"{relative}:{number}: {line.strip()}")
    assert not readers, "read these through mlflow_registry_ext.settings:\n" + "\n".join(readers)


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), (" YES ", True), ("on", True),
                                           ("0", False), ("false", False), ("", False), (None, False)])
def test_one_reading_of_yes_and_no(raw, expected):
    environ = {} if raw is None else {settings.CAS_FSYNC.name: raw}
    assert settings.CAS_FSYNC.get(environ) is expected


def test_numbers_are_checked_and_named_in_the_error():
    assert settings.CHECKPOINT_EVERY.get({}) == 100
    assert settings.CHECKPOINT_EVERY.get({settings.CHECKPOINT_EVERY.name: " 7 "}) == 7
    assert settings.RECONCILE_INTERVAL.get({settings.RECONCILE_INTERVAL.name: "0"}) == 0
    for bad in ("-1", "nan", "inf", "soon"):
        with pytest.raises(InvalidInput, match="MLFLOW_GOVERNANCE_RECONCILE_INTERVAL must be a number >= 0 "
                                               r"\(0 turns reconciling off\)"):
            settings.RECONCILE_INTERVAL.get({settings.RECONCILE_INTERVAL.name: bad})
    with pytest.raises(InvalidInput, match="whole number"):
        settings.CHECKPOINT_EVERY.get({settings.CHECKPOINT_EVERY.name: "2.5"})


def test_text_lists_and_raw_values():
    assert settings.POLICY.get({settings.POLICY.name: "  "}) is None
    assert settings.POLICY.get({settings.POLICY.name: " p.yaml "}) == "p.yaml"
    assert settings.TRUSTED_PROXIES.get({settings.TRUSTED_PROXIES.name: "10.0.0.1, ,::1"}) == ["10.0.0.1", "::1"]
    assert settings.LOG_KEY.get({settings.LOG_KEY.name: " k.pem"}) == " k.pem"


def test_a_changed_environment_takes_effect_at_once(monkeypatch):
    monkeypatch.setenv(settings.WEBHOOK_ALLOW_PRIVATE.name, "true")
    assert settings.WEBHOOK_ALLOW_PRIVATE.get() is True
    monkeypatch.setenv(settings.WEBHOOK_ALLOW_PRIVATE.name, "false")
    assert settings.WEBHOOK_ALLOW_PRIVATE.get() is False
