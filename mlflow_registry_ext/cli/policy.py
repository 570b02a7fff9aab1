"""`mlflow-registry-ext policy ...`."""

from __future__ import annotations

import click


@click.group()
def policy():
    """Policy commands."""
