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

from .. import sql
from ..conf import app_settings
from ..models import MonitoredOrder

#: A chained task may run this much before the row says it is due (clock skew
#: between the consumer's scheduler and the database).
EARLY_TOLERANCE = dt.timedelta(seconds=2)

_ACTIVE_PLACEHOLDERS = ", ".join(["%s"] * len(MonitoredOrder.ACTIVE_STATES))
_FREE_AND_ACTIVE = "{state} IN (" + _ACTIVE_PLACEHOLDERS + ") AND ({lease_until} IS NULL OR {lease_until} < %s)"


def free(now: dt.datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim(monitored_order_id: int, *, now: dt.datetime | None = None, force: bool = False) -> MonitoredOrder | None:
    """Take the lease on an active, due, unleased order; return its ledger row, or None.

    The returned row is read in the same statement that took the lease; its
    ``lease_token`` is the token :func:`release` needs. ``force`` skips the
    due-time condition (operator's "check now"), never the lease: a check
    already running is not doubled.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    until = now + dt.timedelta(seconds=float(app_settings.LEASE_SECONDS))
    due_by = None if force else now + EARLY_TOLERANCE
    if sql.can_return_rows(sql.connection_for(MonitoredOrder)):
        where = _FREE_AND_ACTIVE
        params = [("state", state) for state in MonitoredOrder.ACTIVE_STATES] + [("lease_until", now)]
        if due_by is not None:
            where += " AND {next_check_at} <= %s"
            params.append(("next_check_at", due_by))
        return sql.update_returning(
            MonitoredOrder, monitored_order_id, {"lease_until": until, "lease_token": token},
            where_sql=where, where_params=params,
        )
    queryset = MonitoredOrder.objects.active().filter(free(now), pk=monitored_order_id)
    if due_by is not None:
        queryset = queryset.filter(next_check_at__lte=due_by)
    if not queryset.update(lease_until=until, lease_token=token):
        return None
    return MonitoredOrder.objects.get(pk=monitored_order_id)


def release(monitored_order_id: int, token: str, **changes) -> bool:
    """Drop the lease (only if still ours) and save ``changes`` in the same UPDATE."""
    values = {"lease_until": None, "lease_token": "", "updated_at": timezone.now(), **changes}
    return bool(sql.update(MonitoredOrder, monitored_order_id, values, where_equal={"lease_token": token}))
