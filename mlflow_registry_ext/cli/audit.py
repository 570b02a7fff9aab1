"""`mlflow-registry-ext audit ...`."""

from __future__ import annotations

import click


@click.group()
def audit():
    """Audit commands."""
