"""`mlflow-registry-ext db ...`."""

from __future__ import annotations

import click


@click.group()
def db():
    """Db commands."""
