"""`mlflow-registry-ext fairness ...`."""

from __future__ import annotations

import click


@click.group()
def fairness():
    """Fairness commands."""
