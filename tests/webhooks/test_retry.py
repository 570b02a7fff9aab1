"""The retry schedule (``mlflow_registry_ext.webhooks.retry``)."""

from __future__ import annotations

import email.utils
import random

import pytest

from mlflow_registry_ext.webhooks.retry import SCHEDULE_SECONDS, RetryPolicy, parse_retry_after


def test_standard_webhooks_schedule_without_jitter():
    policy = RetryPolicy(jitter=0)
    delays = [policy.delay_ms(n) for n in range(1, 11)]
    assert delays == [s * 1000 for s in (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)] + [None]
    assert policy.max_attempts == 10 == len(SCHEDULE_SECONDS) + 1


def test_jitter_stays_within_ten_percent_and_varies():
    policy = RetryPolicy()
    rng = random.Random(7)
    seen = {policy.delay_ms(2, rng=rng) for _ in range(200)}
    assert len(seen) > 100
    assert min(seen) >= 270_000 and max(seen) <= 330_000


def test_retry_after_is_honoured_but_never_shortens_the_schedule():
    policy = RetryPolicy(jitter=0)
    assert policy.delay_ms(1, retry_after_s=120) == 120_000
    assert policy.delay_ms(2, retry_after_s=1) == 300_000
    assert policy.delay_ms(1, retry_after_s=10**9) == 86_400_000
    assert policy.delay_ms(10, retry_after_s=5) is None


def test_parse_retry_after():
    assert parse_retry_after("120", now_s=0) == 120.0
    moment = 1_800_000_000
    header = email.utils.formatdate(moment + 90, usegmt=True)
    assert parse_retry_after(header, now_s=moment) == pytest.approx(90)
    assert parse_retry_after(email.utils.formatdate(moment - 90, usegmt=True), now_s=moment) == 0
    assert parse_retry_after("soon", now_s=0) is None
    assert parse_retry_after(None, now_s=0) is None


def test_attempts_made_counts_from_one():
    with pytest.raises(ValueError):
        RetryPolicy().delay_ms(0)


def test_the_schedule_can_be_replaced_from_the_environment(monkeypatch):
    from mlflow_registry_ext.webhooks.retry import SCHEDULE_ENV

    monkeypatch.setenv(SCHEDULE_ENV, "1, 2.5,30")
    policy = RetryPolicy.from_env()
    assert tuple(policy.schedule) == (1.0, 2.5, 30.0) and policy.max_attempts == 4
    monkeypatch.setenv(SCHEDULE_ENV, "1,-2")
    with pytest.raises(ValueError, match=SCHEDULE_ENV):
        RetryPolicy.from_env()
    monkeypatch.delenv(SCHEDULE_ENV)
    assert tuple(RetryPolicy.from_env().schedule) == SCHEDULE_SECONDS
