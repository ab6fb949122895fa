"""Claiming an order before checking it: one live check per order.

A lease is a token and an expiry on the ledger row, taken with one atomic
``UPDATE ... WHERE`` (no transaction is held across the provider call). A
worker killed mid-check leaves a lease that simply expires.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Q
from django.utils import timezone

from .conf import app_settings
from .models import MonitoredOrder

#: A chained task may run this much before the row says it is due (clock skew
#: between the consumer's scheduler and the database).
EARLY_TOLERANCE = dt.timedelta(seconds=2)


def free(now: dt.datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim(monitored_order_id: int, *, now: dt.datetime | None = None, force: bool = False) -> str | None:
    """Take the lease on an active, due, unleased order; return its token or None.

    ``force`` skips the due-time condition (operator's "check now"), never the
    lease: a check already running is not doubled.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    queryset = MonitoredOrder.objects.active().filter(free(now), pk=monitored_order_id)
    if not force:
        queryset = queryset.filter(next_check_at__lte=now + EARLY_TOLERANCE)
    until = now + dt.timedelta(seconds=float(app_settings.LEASE_SECONDS))
    return token if queryset.update(lease_until=until, lease_token=token) else None


def release(monitored_order_id: int, token: str, **changes) -> bool:
    """Drop the lease (only if still ours) and save ``changes`` in the same UPDATE."""
    return bool(
        MonitoredOrder.objects.filter(pk=monitored_order_id, lease_token=token).update(
            lease_until=None, lease_token="", updated_at=timezone.now(), **changes
        )
    )
