"""When to check an order next. The seed's schedule by default; pluggable.

``ORDER_MONITOR_POLICY`` names a :class:`Policy` subclass. The chained task and
the sweep both ask the same policy, so they never disagree about what is due.
Every number of the default policy is a setting.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.utils.module_loading import import_string

from ..conf import app_settings


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


def deadline(dispatched_at: dt.datetime) -> dt.datetime:
    return dispatched_at + dt.timedelta(seconds=float(app_settings.DEADLINE))


class Policy:
    """The seed's schedule: first check after FIRST_CHECK_DELAY, then capped exponential backoff.

    Subclasses may override :meth:`first_check` and :meth:`after_answer`; the
    arguments are plain values so a policy never needs the database unless it
    wants history (the adaptive policy does).
    """

    def first_check(
        self, dispatched_at: dt.datetime, now: dt.datetime, provider: str = "", product: str = ""
    ) -> dt.datetime:
        """When to check first (never in the past)."""
        return max(now, dispatched_at + dt.timedelta(seconds=jittered(float(app_settings.FIRST_CHECK_DELAY))))

    def after_answer(
        self,
        attempts: int,
        deadline_at: dt.datetime,
        now: dt.datetime,
        *,
        dispatched_at: dt.datetime | None = None,
        provider: str = "",
        product: str = "",
    ) -> NextCheck:
        """Next check after the ``attempts``-th answered, non-terminal check."""
        if attempts < int(app_settings.QUICK_ATTEMPTS):
            return clamp(now + dt.timedelta(seconds=jittered(backoff(attempts - 1))), deadline_at, now, "task")
        return self.after_quick_attempts(deadline_at, now)

    def after_quick_attempts(self, deadline_at: dt.datetime, now: dt.datetime) -> NextCheck:
        interval = dt.timedelta(seconds=jittered(float(app_settings.SWEEP_INTERVAL)))
        return clamp(now + interval, deadline_at, now, "sweep")

    def find_chance(
        self, dispatched_at: dt.datetime, since: dt.datetime, now: dt.datetime, provider: str = "", product: str = ""
    ) -> float:
        """Chance that a check at ``now`` finds ended an order still open at ``since``.

        The call budget (:mod:`.budget`) spends scarce calls on the highest
        chances first. Without a completion model every check is worth the same.
        """
        return 1.0

    def after_error(self, error_streak: int, attempts: int, deadline_at: dt.datetime, now: dt.datetime) -> NextCheck:
        """Next check after a failed query; failed queries never use up the quick attempts."""
        by = "task" if attempts < int(app_settings.QUICK_ATTEMPTS) else "sweep"
        return clamp(now + dt.timedelta(seconds=jittered(backoff(error_streak - 1))), deadline_at, now, by)


def clamp(at: dt.datetime, deadline_at: dt.datetime, now: dt.datetime, by: str) -> NextCheck:
    """The last regular check happens exactly at the deadline (the final check);
    past the deadline only retries of a failed final query remain."""
    if now < deadline_at:
        at = min(at, deadline_at)
    return NextCheck(at, by)


def get_policy() -> Policy:
    """The configured policy (``ORDER_MONITOR_POLICY``), a fresh instance."""
    return import_string(app_settings.POLICY)()
