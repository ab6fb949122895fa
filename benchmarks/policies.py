"""Policies the benchmarks compare beside the shipped ones.

:class:`FixedIntervalPolicy` is the original shop's fixed 10 s polling (288
chained retries, as its Celery task had). :class:`RoutedPolicy` lets one real
stack run all three policies at once: it picks one by provider name
(``seed``, ``fixed``, ``adaptive``), all names pointing at the same fake server.
"""

from __future__ import annotations

import datetime as dt

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

