"""When to try a failed delivery again. Pure.

The Standard Webhooks schedule: after a failed attempt wait 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
14 h, 20 h, then 24 h (each stretched or shrunk by up to 10 % of jitter, so a receiver coming
back is not hit by every delivery at the same instant). That is ten attempts over about three
days; after the tenth failure the delivery is dead-lettered. A ``Retry-After`` answer (seconds
or an HTTP date) is honoured: the next attempt is never sooner than the receiver asked, and never
sooner than the schedule. ``MLFLOW_GOVERNANCE_WEBHOOK_RETRY_SCHEDULE`` (comma-separated seconds,
e.g. ``1,5,30``) replaces the schedule, for receivers that should be retried sooner (and tests).

Example:
    >>> policy = RetryPolicy(jitter=0)
    >>> policy.delay_ms(attempts_made=1), policy.delay_ms(attempts_made=10)
    (5000, None)
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
from typing import Sequence
from mlflow_registry_ext import settings

__all__ = ["SCHEDULE_SECONDS", "SCHEDULE_ENV", "RetryPolicy", "parse_retry_after"]

SCHEDULE_ENV = settings.WEBHOOK_RETRY_SCHEDULE.name

SCHEDULE_SECONDS: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date).

    Example:
        >>> parse_retry_after("120", now_s=0)
        120.0
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now_s)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """The retry schedule of a dispatcher.

    Attributes:
        schedule: Seconds to wait after the 1st, 2nd, ... failed attempt.
        jitter: Each wait is multiplied by a random factor in ``[1 - jitter, 1 + jitter]``.
        max_retry_after_s: Longest ``Retry-After`` honoured (longer answers are capped).
    """

    schedule: Sequence[int] = SCHEDULE_SECONDS
    jitter: float = 0.1
    max_retry_after_s: float = 86400.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with the schedule of ``MLFLOW_GOVERNANCE_WEBHOOK_RETRY_SCHEDULE``
        when set.

        Raises:
            ValueError: when the variable is not a list of positive numbers of seconds.
        """
        text = settings.WEBHOOK_RETRY_SCHEDULE.get() or ""
        if not text:
            return cls()
        try:
            schedule = tuple(float(part) for part in text.split(","))
        except ValueError:
            schedule = ()
        if not schedule or any(s <= 0 for s in schedule):
            raise ValueError(f"{SCHEDULE_ENV} must be comma-separated positive seconds, e.g. 5,300,1800; got {text!r}")
        return cls(schedule=schedule)

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def delay_ms(
        self,
        attempts_made: int,
        retry_after_s: float | None = None,
        rng: random.Random | None = None,
    ) -> int | None:
        """Milliseconds until the next attempt, or ``None`` when the delivery is out of attempts.

        Args:
            attempts_made: Attempts made so far, including the one that just failed.
            retry_after_s: What the receiver's ``Retry-After`` asked for, if anything.
            rng: The source of jitter (injectable for tests).
        """
        if attempts_made < 1:
            raise ValueError("attempts_made counts the attempt that just failed, so it is >= 1")
        if attempts_made >= self.max_attempts:
            return None
        base = float(self.schedule[attempts_made - 1])
        if self.jitter:
            base *= (rng or random).uniform(1.0 - self.jitter, 1.0 + self.jitter)
        if retry_after_s is not None:
            base = max(base, min(float(retry_after_s), self.max_retry_after_s))
        return int(base * 1000)
