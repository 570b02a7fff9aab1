"""URIs as people write them (``postgresql://``, ``mysql://``) work with the drivers the extras
install; with no driver the refusal is one line naming what to install and which URI works."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from mlflow_registry_ext.db import drivers
from mlflow_registry_ext.errors import InvalidInput


def test_a_uri_without_driver_gets_the_installed_one(monkeypatch):
    installed = {"psycopg2", "pymysql"}
    monkeypatch.setattr(drivers, "_installed", lambda module: module in installed)
    assert drivers.with_installed_driver("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert drivers.with_installed_driver("mysql://u@h/db") == "mysql+pymysql://u@h/db"
    installed.add("psycopg")  # SQLAlchemy's default for postgresql:// wins when it is there
    assert drivers.with_installed_driver("postgresql://u@h/db") == "postgresql://u@h/db"
    for kept in ("mysql+mysqldb://u@h/db", "sqlite:///x.db", "postgresql+pg8000://u@h/db"):
        assert drivers.with_installed_driver(kept) == kept


def test_no_driver_names_the_extra_and_the_uri_form(monkeypatch):
    monkeypatch.setattr(drivers, "_installed", lambda module: False)
    with pytest.raises(InvalidInput) as caught:
        drivers.with_installed_driver("mysql://root@127.0.0.1/test")
    message = caught.value.message
    assert "\n" not in message and "mlflow-registry-ext[mysql]" in message and "mysql+pymysql://" in message


@pytest.mark.database
@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_governed_uri_without_driver_works_on_the_real_engine(kind, tmp_path):
    from tests.support.databases import TempDatabase

    db = TempDatabase(kind, tmp_path)
    try:
        scheme, rest = db.uri.split("://", 1)
        plain = f"{scheme.split('+')[0]}://{rest}"   # as people write it
        client = MlflowClient(tracking_uri=plain.replace(scheme.split("+")[0], scheme, 1),
                              registry_uri=f"governed+{plain}")
        client.create_registered_model("fraud-model")
        assert client.get_registered_model("fraud-model").name == "fraud-model"
    finally:
        db.drop()
