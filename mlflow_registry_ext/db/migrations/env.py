"""Alembic environment for the governance tables (own version table: gov_alembic_version)."""

from alembic import context

from mlflow_registry_ext.db.metadata import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
