"""Policies the benchmarks compare beside the shipped ones.

:class:`FixedIntervalPolicy` is the original shop's fixed 10 s polling (288
chained retries, as its Celery task had). :class:`RoutedPolicy` lets one real
stack run all three policies at once: it picks one by provider name
(``seed``, ``fixed``, ``adaptive``), all names pointing at the same fake server.
:class:`OraclePolicy` is the frontier of issue 12: checks at quantiles of the true completion times.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math

from django.conf import settings

from django_order_monitor.engine.adaptive import AdaptivePolicy
from django_order_monitor.engine.policy import NextCheck, Policy, clamp


class FixedIntervalPolicy(Policy):
    """Check every ``ORDER_MONITOR_FIXED_INTERVAL`` seconds (10), first check included."""

    max_chain = 288

    def interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=float(getattr(settings, "ORDER_MONITOR_FIXED_INTERVAL", 10)))

    def first_check(self, dispatched_at, now, provider="", product=""):
        return max(now, dispatched_at + self.interval())

    def after_answer(self, attempts, deadline_at, now, *, dispatched_at=None, provider="", product="") -> NextCheck:
        if attempts < self.max_chain:
            return clamp(now + self.interval(), deadline_at, now, "task")
        return self.after_quick_attempts(deadline_at, now)


class RoutedPolicy(Policy):
    """Delegates to the policy named by the order's provider (unknown names: the seed's)."""

    routes = {"fixed": FixedIntervalPolicy, "adaptive": AdaptivePolicy}

    def _for(self, provider: str) -> Policy:
        return self.routes.get(provider, Policy)()

    def first_check(self, dispatched_at, now, provider="", product=""):
        return self._for(provider).first_check(dispatched_at, now, provider, product)

    def after_answer(self, attempts, deadline_at, now, *, dispatched_at=None, provider="", product=""):
        return self._for(provider).after_answer(
            attempts, deadline_at, now, dispatched_at=dispatched_at, provider=provider, product=product
        )



class OraclePolicy(Policy):
    """The frontier: ``calls`` checks at evenly spaced quantiles of the true completion times.

    Check ``k`` of ``calls`` is at the ``k / calls`` quantile of the times at which the
    orders that do end, end (known exactly here, as no real policy can know them); an
    order still open after the last one is checked once more, at its deadline.
    """

    def __init__(self, completion_times: list[float], calls: int) -> None:
        ordered = sorted(completion_times)
        self.ages = [ordered[min(len(ordered) - 1, math.ceil(len(ordered) * k / calls) - 1)] for k in range(1, calls + 1)]

    def _after(self, elapsed: float) -> float | None:
        index = bisect.bisect_right(self.ages, elapsed + 1e-9)
        return self.ages[index] if index < len(self.ages) else None

    def first_check(self, dispatched_at, now, provider="", product=""):
        return max(now, dispatched_at + dt.timedelta(seconds=self.ages[0]))

    def after_answer(self, attempts, deadline_at, now, *, dispatched_at=None, provider="", product="") -> NextCheck:
        at = self._after((now - dispatched_at).total_seconds())
        if at is None:
            return NextCheck(max(now, deadline_at), "task")
        return clamp(dispatched_at + dt.timedelta(seconds=at), deadline_at, now, "task")
