"""The server's periodic reconcile: due times, the lease, the interval variable."""

from __future__ import annotations

import time

import pytest
from mlflow.exceptions import MlflowException

from mlflow_registry_ext import settings
from mlflow_registry_ext.audit.periodic import PeriodicReconciler
from mlflow_registry_ext.db.engine import get_engine
from mlflow_registry_ext.registry.store import GovernedRegistryStore
from mlflow_registry_ext.db.lease import Lease


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)


def test_one_of_several_processes_runs_once_per_interval(sqlite_database):
    store = GovernedRegistryStore(f"governed+{sqlite_database.uri}")
    store.create_registered_model("m")
    db, engine = store.governance_db, get_engine(sqlite_database.uri, for_reads=True)
    clock = Clock(time.time())
    make = lambda owner: PeriodicReconciler(  # noqa: E731
        db, engine, 60, clock=clock, lease=Lease(db, "server-reconcile", owner=owner, ttl_seconds=30, clock=clock.ms))
    first, second = make("a"), make("b")
    assert first.run_once() is None and second.run_once() is None  # not due before one interval
    clock.now += 61
    [result] = first.run_once()
    assert result.ok and result.workspace == "default"
    assert second.run_once() is None  # the lease is held, and a run was just recorded
    clock.now += 31
    assert second.run_once() is None  # lease free, but the last run is recent
    clock.now += 30
    assert second.run_once() is not None and first.run_once() is None


def test_the_interval_variable(monkeypatch):
    monkeypatch.delenv("MLFLOW_GOVERNANCE_RECONCILE_INTERVAL", raising=False)
    assert settings.RECONCILE_INTERVAL.get() == settings.RECONCILE_INTERVAL.value == 3600
    monkeypatch.setenv("MLFLOW_GOVERNANCE_RECONCILE_INTERVAL", "0")
    assert settings.RECONCILE_INTERVAL.get() == 0
    for bad in ("soon", "-5", "nan"):
        monkeypatch.setenv("MLFLOW_GOVERNANCE_RECONCILE_INTERVAL", bad)
        with pytest.raises(MlflowException) as err:
            settings.RECONCILE_INTERVAL.get()
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
