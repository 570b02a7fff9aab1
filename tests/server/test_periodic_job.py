"""The periodic-job mechanism (``mlflow_registry_ext.periodic``) the server's background jobs share:
one runner per lease across engines, failures logged without ending the loop, a prompt stop."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from mlflow_registry_ext.db.database import GovernanceDatabase
from mlflow_registry_ext.periodic import PeriodicJob
from mlflow_registry_ext.db.lease import Lease


@pytest.fixture
def two_dbs(sqlite_database):
    """Two governance databases on one file: two engines, as two server processes have."""
    first = GovernanceDatabase(sqlite_database.uri).ensure_schema()
    return first, GovernanceDatabase(sqlite_database.uri)


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


def test_two_jobs_sharing_a_lease_run_the_step_once_per_interval(two_dbs):
    calls: list[tuple[str, float]] = []
    lock = threading.Lock()

    def step(name):
        def run():
            with lock:
                calls.append((name, time.monotonic()))
        return run

    interval = 0.25
    jobs = [PeriodicJob(db, "test-shared", interval, step(name), first_delay=0) for name, db in zip("ab", two_dbs)]
    started = time.monotonic()
    for job in jobs:
        job.start()
    time.sleep(2.0)
    # The first job to stop gives the lease back, and the other may take it and run at once: only
    # the calls before the stop count.
    elapsed = time.monotonic() - started
    for job in jobs:
        job.stop()
    counted = [call for call in calls if call[1] - started <= elapsed]
    assert len({name for name, _ in counted}) == 1, counted  # only the lease holder ran it
    assert 4 <= len(counted) <= elapsed / interval + 1, counted
    gaps = [b - a for (_, a), (_, b) in zip(counted, counted[1:])]
    assert min(gaps) >= interval * 0.9, gaps


def test_the_first_run_is_one_interval_after_start_unless_told(two_dbs):
    ran = threading.Event()
    late = PeriodicJob(two_dbs[0], "test-late", 0.6, ran.set)
    late.start()
    assert not ran.wait(0.3)  # not before one interval
    assert ran.wait(5)
    late.stop()
    at_once = threading.Event()
    early = PeriodicJob(two_dbs[0], "test-early", 3600, at_once.set, first_delay=0)
    early.start()
    assert at_once.wait(5)
    early.stop()


def test_a_step_that_raises_is_logged_and_the_loop_goes_on(two_dbs, caplog):
    caplog.set_level(logging.ERROR, logger="mlflow_registry_ext.periodic")

    def fail():
        raise RuntimeError("boom")

    job = PeriodicJob(two_dbs[0], "test-failing", 0.05, fail, first_delay=0, what="The test job")
    job.start()
    try:
        assert _wait_for(lambda: job.runs >= 3)
        assert job.running
    finally:
        job.stop()
    failures = [r for r in caplog.records if r.getMessage().startswith("The test job failed: boom")]
    assert len(failures) >= 3 and failures[0].exc_info is not None


def test_a_row_of_failures_can_be_logged_once(two_dbs, caplog):
    caplog.set_level(logging.ERROR, logger="mlflow_registry_ext.periodic")
    outcomes = iter([RuntimeError("one"), RuntimeError("two"), None, RuntimeError("three")])

    def step():
        outcome = next(outcomes, None)
        if outcome is not None:
            raise outcome

    job = PeriodicJob(two_dbs[0], "test-quiet", 0.05, step, first_delay=0, log_repeats=False)
    job.start()
    try:
        assert _wait_for(lambda: job.runs >= 6)
    finally:
        job.stop()
    logged = [r.getMessage().split(";")[0] for r in caplog.records if r.name == "mlflow_registry_ext.periodic"]
    assert logged == ["Periodic job test-quiet failed: one", "Periodic job test-quiet failed: three"]


def test_a_number_the_step_returns_is_the_next_wait(two_dbs):
    times: list[float] = []

    def step():
        times.append(time.monotonic())
        return 0.05

    job = PeriodicJob(two_dbs[0], "test-own-due-time", 3600, step, first_delay=0)
    job.start()
    try:
        assert _wait_for(lambda: len(times) >= 3)
    finally:
        job.stop()


def test_stop_ends_the_thread_promptly_and_gives_the_lease_back(two_dbs):
    ran = threading.Event()
    job = PeriodicJob(two_dbs[0], "test-stop", 3600, ran.set, first_delay=0)
    job.start()
    assert ran.wait(5) and job.running
    started = time.monotonic()
    job.stop()
    assert not job.running and time.monotonic() - started < 2
    assert Lease(two_dbs[1], "test-stop").acquire()  # at once, not after the lease expired


def test_stop_during_the_first_wait_never_runs_the_step(two_dbs):
    calls = []
    job = PeriodicJob(two_dbs[0], "test-never", 3600, lambda: calls.append(1))
    job.start()
    started = time.monotonic()
    job.stop()
    assert not job.running and time.monotonic() - started < 2 and calls == []


def test_a_zero_interval_starts_nothing_and_a_job_can_run_without_a_lease(two_dbs):
    off = PeriodicJob(two_dbs[0], "test-off", 0, lambda: None)
    off.start()
    assert not off.running
    ran = [threading.Event(), threading.Event()]
    free = [PeriodicJob(None, "test-free", 3600, e.set, exclusive=False, first_delay=0) for e in ran]
    for job in free:
        job.start()
    try:
        assert all(e.wait(5) for e in ran)  # each runs: no lease to compete for
    finally:
        for job in free:
            job.stop()
