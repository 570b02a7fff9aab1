"""`mlflow-registry-ext artifacts ...`."""

from __future__ import annotations

import click


@click.group()
def artifacts():
    """Artifacts commands."""
