"""Each provider's load against its call budget: is the budget what holds the checks back?

Read from the database, so every process (the dashboard, the status command, a
metrics scrape) sees the whole fleet: the calls the checks made over the last
few minutes (the history has one row per call), the limit the rate limit
allows, the checks due now and how long the oldest has waited. Dispatch calls
the shop makes through the adapter are not in the history; their rate and the
budget's price come from the call budget's shared state (:mod:`.budget`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min
from django.utils import timezone

from ..models import MonitoredOrder, StatusCheck
from ..providers import ratelimit
from . import budget

#: The window the call rate is measured over.
WINDOW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ProviderLoad:
    provider: str
    #: Calls per second the rate limit allows (None: no limit on the rate).
    limit_per_second: float | None
    #: Status calls per second over the last :data:`WINDOW`.
    calls_per_second: float
    #: Followed orders whose next check is due now.
    due_now: int
    #: How long the oldest due check has waited, in seconds (0 when none is due).
    oldest_due_seconds: float
    #: Dispatch calls per second through the adapter (about the last minute; 0 without a budget).
    dispatch_per_second: float = 0.0
    #: The chance of finding its order ended a check needs to get a call now (0: every check calls).
    chance_needed: float = 0.0

    @property
    def share_used(self) -> float | None:
        """Calls made (status and dispatch) over calls allowed (1.0: the budget is spent)."""
        if not self.limit_per_second:
            return None
        return (self.calls_per_second + self.dispatch_per_second) / self.limit_per_second


def provider_loads(now: dt.datetime | None = None) -> list[ProviderLoad]:
    """One :class:`ProviderLoad` per provider with followed orders or recent calls (two aggregate queries)."""
    now = now or timezone.now()
    calls = dict(
        StatusCheck.objects.filter(checked_at__gt=now - WINDOW, checked_at__lte=now)
        .order_by()
        .values_list("monitored_order__provider")
        .annotate(n=Count("pk"))
    )
    due = {
        row["provider"]: row
        for row in MonitoredOrder.objects.active()
        .filter(next_check_at__lte=now)
        .order_by()
        .values("provider")
        .annotate(n=Count("pk"), oldest=Min("next_check_at"))
    }
    loads = []
    for provider in sorted(set(calls) | set(due)):
        limits = ratelimit.Limits.for_provider(provider)
        per_second = 1 / limits.min_interval if limits and limits.min_interval > 0 else None
        waiting = due.get(provider)
        spending = budget.for_provider(provider)
        shared = spending.state(now.timestamp()) if spending is not None else {}
        loads.append(
            ProviderLoad(
                provider=provider,
                limit_per_second=per_second,
                calls_per_second=calls.get(provider, 0) / WINDOW.total_seconds(),
                due_now=waiting["n"] if waiting else 0,
                oldest_due_seconds=max(0.0, (now - waiting["oldest"]).total_seconds()) if waiting else 0.0,
                dispatch_per_second=shared.get("dispatch_per_second", 0.0),
                chance_needed=min(1.0, shared.get("price", 0.0)),
            )
        )
    return loads
