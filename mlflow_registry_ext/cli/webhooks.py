"""`mlflow-registry-ext webhooks ...`."""

from __future__ import annotations

import click


@click.group()
def webhooks():
    """Webhooks commands."""
