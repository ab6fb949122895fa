"""When to check an order next: the seed's schedule, with every number a setting.

Pure functions of the ledger row and the clock: the chained task and the sweep
both ask here, so they can never disagree about what is due.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from .conf import app_settings


@dataclass(frozen=True)
class NextCheck:
    at: dt.datetime
    #: "task" when a chained Huey task will bring the check, "sweep" otherwise.
    by: str


def jittered(seconds: float, rng: random.Random | None = None) -> float:
    """Spread ``seconds`` by +/- BACKOFF_JITTER so orders dispatched together drift apart."""
    jitter = float(app_settings.BACKOFF_JITTER)
    if jitter <= 0:
        return float(seconds)
    return max(0.0, seconds * (1 + (rng or random).uniform(-jitter, jitter)))


def backoff(step: int) -> float:
    """Delay before check ``step + 1``: BACKOFF_BASE x FACTOR**step, capped at BACKOFF_MAX."""
    base = float(app_settings.BACKOFF_BASE)
    factor = float(app_settings.BACKOFF_FACTOR)
    cap = float(app_settings.BACKOFF_MAX)
    # Cap the exponent first: factor**step overflows a float long before 20 steps matter.
    return min(cap, base * factor ** min(step, 64))


def first_check(dispatched_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """First check FIRST_CHECK_DELAY after dispatch (never in the past)."""
    return max(now, dispatched_at + dt.timedelta(seconds=jittered(float(app_settings.FIRST_CHECK_DELAY))))


def deadline(dispatched_at: dt.datetime) -> dt.datetime:
    return dispatched_at + dt.timedelta(seconds=float(app_settings.DEADLINE))


def after_answer(attempts: int, deadline_at: dt.datetime, now: dt.datetime) -> NextCheck:
    """Next check after the ``attempts``-th answered (non-terminal) check."""
    if attempts < int(app_settings.QUICK_ATTEMPTS):
        return _clamp(now + dt.timedelta(seconds=jittered(backoff(attempts - 1))), deadline_at, now, "task")
    return _clamp(now + dt.timedelta(seconds=jittered(float(app_settings.SWEEP_INTERVAL))), deadline_at, now, "sweep")


def after_error(error_streak: int, attempts: int, deadline_at: dt.datetime, now: dt.datetime) -> NextCheck:
    """Next check after a failed query; failed queries never use up the quick attempts."""
    by = "task" if attempts < int(app_settings.QUICK_ATTEMPTS) else "sweep"
    return _clamp(now + dt.timedelta(seconds=jittered(backoff(error_streak - 1))), deadline_at, now, by)


def _clamp(at: dt.datetime, deadline_at: dt.datetime, now: dt.datetime, by: str) -> NextCheck:
    # The last regular check happens exactly at the deadline (the final check);
    # past the deadline only retries of a failed final query remain.
    if now < deadline_at:
        at = min(at, deadline_at)
    return NextCheck(at, by)
