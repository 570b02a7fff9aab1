"""docs/artifacts.md documents every artifacts command, option, and environment variable."""

from __future__ import annotations

from pathlib import Path

import click

from mlflow_registry_ext.cli.artifacts import artifacts

DOC = (Path(__file__).resolve().parents[2] / "docs" / "artifacts.md").read_text()


def test_every_command_and_option_is_documented():
    for name, command in artifacts.commands.items():
        assert f"`artifacts {name} " in DOC, name
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert opt in DOC, f"{name} {opt}"


def test_every_environment_variable_the_code_reads_is_documented():
    from mlflow_registry_ext.artifacts import local_store, s3_store

    for var in (local_store.FSYNC_ENV_VAR, s3_store.PART_SIZE_ENV_VAR, "MLFLOW_S3_ENDPOINT_URL",
                "MLFLOW_S3_IGNORE_TLS", "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE"):
        assert f"`{var}`" in DOC, var
    for var in ("BENCH_ARTIFACTS_BIG_MIB", "BENCH_ARTIFACTS_FILES", "BENCH_ARTIFACTS_ROUNDS"):
        assert var in DOC, var
