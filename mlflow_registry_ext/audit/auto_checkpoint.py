"""Checkpoints the server makes by itself: every N entries or T seconds, once per deployment.

``MLFLOW_GOVERNANCE_CHECKPOINT_EVERY`` (default 100) entries since the last checkpoint, or
``MLFLOW_GOVERNANCE_CHECKPOINT_INTERVAL`` (default 300) seconds since it when at least one entry
was added; 0 turns either off. Nothing runs without a log key (``MLFLOW_GOVERNANCE_LOG_KEY``).
Each server process runs a :class:`BackgroundCheckpointer`; only the holder of the
``server-checkpointer`` lease (the dispatcher's lease mechanism) signs, so however many workers
and replicas run, one signs. Correctness never rests on the lease: a checkpoint's size is its
primary key, and two processes signing the same size keep the first.

Each checkpoint goes to the witnesses and becomes the ``audit.checkpoint`` event
(:func:`mlflow_registry_ext.audit.checkpoints.create`).

Example:
    >>> schedule = Schedule.from_env()
    >>> schedule.due(new_entries=120, age_seconds=5.0)
    True
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Mapping

from sqlalchemy import desc, select

from mlflow_registry_ext.audit.checkpoint_tables import checkpoints
from mlflow_registry_ext.db.tables import audit_head, audit_log
from mlflow_registry_ext.periodic import PeriodicJob
from mlflow_registry_ext import settings
from mlflow_registry_ext.times import utc_now_ms

__all__ = ["EVERY_ENV", "INTERVAL_ENV", "LEASE_NAME", "Schedule", "backlog", "run_once", "BackgroundCheckpointer"]

_log = logging.getLogger(__name__)

EVERY_ENV = settings.CHECKPOINT_EVERY.name
INTERVAL_ENV = settings.CHECKPOINT_INTERVAL.name
#: The lease the server's checkpointer threads compete for.
LEASE_NAME = "server-checkpointer"


@dataclasses.dataclass(frozen=True)
class Schedule:
    """When a checkpoint is due.

    Attributes:
        every: Entries since the last checkpoint that make one due (0: never by count).
        interval_seconds: Seconds since the last checkpoint after which any new entry makes one
            due (0: never by time).
    """

    every: int = settings.CHECKPOINT_EVERY.value
    interval_seconds: float = settings.CHECKPOINT_INTERVAL.value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Schedule:
        """The schedule of ``MLFLOW_GOVERNANCE_CHECKPOINT_EVERY`` / ``..._INTERVAL``.

        Raises:
            InvalidInput: A value is not a number >= 0.
        """
        return cls(int(settings.CHECKPOINT_EVERY.get(environ)), float(settings.CHECKPOINT_INTERVAL.get(environ)))

    @property
    def enabled(self) -> bool:
        return bool(self.every or self.interval_seconds)

    def due(self, new_entries: int, age_seconds: float | None) -> bool:
        """Whether ``new_entries`` added since a checkpoint ``age_seconds`` old make one due."""
        if new_entries <= 0:
            return False
        if self.every and new_entries >= self.every:
            return True
        return bool(self.interval_seconds and age_seconds is not None and age_seconds >= self.interval_seconds)


def backlog(conn, now_ms: int) -> tuple[int, float | None]:
    """``(entries added since the last checkpoint, seconds since it)``; three indexed reads.

    A checkpoint's own ``audit.checkpoint`` entry (the one right after it) does not count. With
    no checkpoint yet the age is that of the first entry.
    """
    head = conn.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar() or 0
    last = conn.execute(select(checkpoints.c.size, checkpoints.c.created_ms)
                        .order_by(desc(checkpoints.c.size)).limit(1)).first()
    if last is None:
        first_ms = conn.execute(select(audit_log.c.timestamp_ms).where(audit_log.c.seq == 1)).scalar()
        return head, None if first_ms is None else (now_ms - first_ms) / 1000.0
    return max(0, head - last.size - 1), (now_ms - last.created_ms) / 1000.0


def run_once(db, schedule: Schedule, key, *, now_ms: int | None = None, witnesses=None):
    """Make a checkpoint if one is due; the new ``CheckpointRecord`` or None."""
    from mlflow_registry_ext.audit import checkpoints as made

    now_ms = now_ms if now_ms is not None else utc_now_ms()
    with db.reading() as engine, engine.connect() as conn:
        new_entries, age = backlog(conn, now_ms)
    if not schedule.due(new_entries, age):
        return None
    record = made.create(db, key=key, witnesses=witnesses, now_ms=now_ms)
    return record if record.created else None


class BackgroundCheckpointer(PeriodicJob):
    """Runs :func:`run_once` every ``poll_seconds`` while holding ``lease``: a
    :class:`~mlflow_registry_ext.periodic.PeriodicJob` whose first look is at start.

    Args:
        db: The governance database.
        schedule: When checkpoints are due.
        key: The Ed25519 log key.
        lease: A :class:`mlflow_registry_ext.db.lease.Lease` (None: always run).
        poll_seconds: How often to look (a look is three indexed reads).
        clock: Milliseconds since the epoch.
        witnesses: Where checkpoints go (default: ``MLFLOW_GOVERNANCE_AUDIT_WITNESSES``).
    """

    def __init__(self, db, schedule: Schedule, key, lease=None, *, poll_seconds: float = 1.0,
                 clock: Callable[[], int] | None = None, witnesses=None):
        # A log that no longer extends its last checkpoint is refused (audit verify names what
        # happened): said once, not every second, and looked at again every 30 s.
        super().__init__(db, LEASE_NAME, poll_seconds, self._step, lease=lease, exclusive=lease is not None,
                         first_delay=0.0, retry_seconds=max(poll_seconds, 30.0),
                         what="Automatic audit checkpoint", log_repeats=False)
        self.db = db
        self.schedule = schedule
        self.key = key
        self.poll_seconds = poll_seconds
        self._clock = clock or (lambda: utc_now_ms())
        self.witnesses = witnesses

    def _step(self) -> None:
        record = run_once(self.db, self.schedule, self.key, now_ms=self._clock(), witnesses=self.witnesses)
        if record is not None:
            _log.info("Audit checkpoint %d signed", record.size)
