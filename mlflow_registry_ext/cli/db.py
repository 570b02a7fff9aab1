"""``mlflow-registry-ext db ...``: the governance schema."""

from __future__ import annotations

import click

from mlflow_registry_ext.cli._context import CliContext, pass_cli


@click.group()
def db():
    """The governance tables (migrations ship with the package)."""


@db.command()
@pass_cli
def upgrade(cli: CliContext):
    """Create or upgrade the governance tables to the newest schema.

    The database is the one of --registry-uri (governed+... or a plain database URI), or
    MLFLOW_GOVERNANCE_DATABASE_URI when set. Servers and clients also do this on their own at
    start-up; this command lets you run it ahead of a deployment.
    """
    from mlflow_registry_ext.db.migrate import current_revision, upgrade as run_upgrade
    from mlflow_registry_ext.db.database import GovernanceDatabase

    database = GovernanceDatabase.for_registry_uri(cli.registry_uri)
    before = current_revision(database.engine)
    after = run_upgrade(database.engine)
    result = {"database": database.engine.url.render_as_string(hide_password=True),
              "from_revision": before, "to_revision": after}
    cli.emit(
        result,
        f"governance schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"),
    )
