"""docs/fairness.md documents every fairness command, option, metric and evaluator setting."""

from __future__ import annotations

from pathlib import Path

import click

from mlflow_registry_ext.cli.fairness import fairness
from mlflow_registry_ext.policy import FAIRNESS_METRICS

DOC = (Path(__file__).parents[2] / "docs" / "fairness.md").read_text()


def test_every_command_and_option_is_documented():
    for name, command in fairness.commands.items():
        assert f"fairness {name}" in DOC, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert any(f"`{opt}" in DOC for opt in param.opts), (name, param.opts)


def test_every_metric_is_documented():
    for metric in FAIRNESS_METRICS:
        assert f"`{metric}`" in DOC, metric


def test_every_evaluator_setting_is_documented():
    import inspect

    from mlflow_registry_ext.fairness import evaluation

    source = inspect.getsource(evaluation)
    keys = {part.split('"')[1] for part in source.split("config.get(")[1:]}
    keys |= {"sensitive_features"}
    for key in keys:
        assert f"`{key}`" in DOC, key
