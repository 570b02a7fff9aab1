"""The SQLAlchemy ``MetaData`` every governance table is declared on.

Table names carry the ``gov_`` prefix: MLflow already owns ``webhooks``, ``webhook_events`` and
``alembic_version`` in the same database. Constraint names follow one convention so migrations
are reproducible on SQLite, PostgreSQL and MySQL.
"""

from __future__ import annotations

from sqlalchemy import MetaData

TABLE_PREFIX = "gov_"
VERSION_TABLE = "gov_alembic_version"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
