"""Throw-away databases on the engines the governance store supports.

PostgreSQL and MariaDB run on 127.0.0.1 on this kind of machine. Without them the tests that need
them skip, loudly; with ``MLFLOW_REGISTRY_EXT_REQUIRE_SERVICES=1`` (set by ``.ci/run``) they
fail instead, so CI can never pass without exercising every engine.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

REQUIRE_ENV = "MLFLOW_REGISTRY_EXT_REQUIRE_SERVICES"
POSTGRES_ADMIN = os.environ.get(
    "MLFLOW_REGISTRY_EXT_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
MYSQL_ADMIN = os.environ.get(
    "MLFLOW_REGISTRY_EXT_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
ENGINES = ("sqlite", "postgresql", "mysql")


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").lower() in ("1", "true", "yes")


def _unavailable(what: str, exc: Exception):
    message = f"{what} is not reachable ({exc.__class__.__name__}: {exc})"
    if services_required():
        pytest.fail(f"{message}; {REQUIRE_ENV} makes it mandatory")
    pytest.skip(f"SKIPPED LOUDLY: {message}")


class TempDatabase:
    """A fresh database; ``uri`` is its SQLAlchemy URI; ``drop()`` removes it."""

    def __init__(self, kind: str, tmp_path):
        self.kind = kind
        self.name = f"mre_{uuid.uuid4().hex[:12]}"
        if kind == "sqlite":
            self.uri = f"sqlite:///{tmp_path / (self.name + '.db')}"
            return
        admin_uri = POSTGRES_ADMIN if kind == "postgresql" else MYSQL_ADMIN
        try:
            admin = sa.create_engine(admin_uri, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
        except Exception as exc:  # noqa: BLE001 - any failure means the service is unusable
            _unavailable(kind, exc)
        finally:
            if "admin" in locals():
                admin.dispose()
        url = sa.engine.make_url(admin_uri).set(database=self.name)
        self.uri = url.render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.kind == "sqlite":
            return
        from mlflow_registry_ext.db import engine as engines

        for key in [k for k in engines._engines if self.name in k]:
            engines._engines.pop(key).dispose()
        try:
            from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

            for key in [k for k in SqlAlchemyStore._engine_map if self.name in k]:
                SqlAlchemyStore._engine_map.pop(key).dispose()
        except ImportError:
            pass
        admin_uri = POSTGRES_ADMIN if self.kind == "postgresql" else MYSQL_ADMIN
        admin = sa.create_engine(admin_uri, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {self.name}"))
        admin.dispose()
