"""The periodic sweep: the recovery path that makes lost tasks harmless.

Each run (1) starts following dispatched orders that nobody started watching
and (2) enqueues checks for orders that are due: those the sweep drives, and
chained ones whose task is overdue by more than LOST_TASK_GRACE (presumed lost
with a killed worker or a flushed Redis). Its queries do not grow with the
number of orders it handles.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import sql
from ..conf import app_settings
from ..models import MonitoredOrder, ledger_database
from ..shop import orders
from . import grouping, leases, scheduling
from .following import start_monitoring_many
from .logfields import about

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    discovered: list = field(default_factory=list)  # order pks newly followed
    enqueued: list = field(default_factory=list)  # monitored-order ids checked
    dry_run: bool = False


def unwatched_dispatched_orders(now: dt.datetime | None = None):
    """Dispatched orders with a reference that nobody follows, oldest first.

    Orders dispatched before the deadline window are left alone: on a shop
    with years of history, old 'pending' rows must not all time out at once.
    """
    now = now or timezone.now()
    fields = orders.resolve_fields()
    queryset = orders.base_queryset().filter(orders.status_in(fields["external_status"], app_settings.DISPATCHED_STATUSES))
    reference = fields["reference"]
    queryset = queryset.exclude(**{f"{reference}__isnull": True}).exclude(**{reference: ""})
    # Followed means: a ledger row that is still watching, or that ended for this
    # same reference. An order dispatched again with a new reference is unwatched.
    followed = MonitoredOrder.objects.filter(order_id=OuterRef("pk")).filter(
        Q(state__in=MonitoredOrder.ACTIVE_STATES) | Q(reference=OuterRef(reference))
    )
    queryset = queryset.filter(~Exists(followed))
    dispatched = fields.get("dispatched_at")
    if dispatched:
        window_start = now - dt.timedelta(seconds=float(app_settings.DEADLINE))
        queryset = queryset.filter(**{f"{dispatched}__gte": window_start}).order_by(dispatched, "pk")
    else:
        queryset = queryset.order_by("pk")
    return queryset


def due_for_sweep(now: dt.datetime | None = None, provider: str | None = None):
    """Active, unleased orders the sweep must enqueue (of ``provider`` only, if given), oldest due first."""
    now = now or timezone.now()
    lost_before = now - dt.timedelta(seconds=float(app_settings.LOST_TASK_GRACE))
    queryset = MonitoredOrder.objects.active() if provider is None else MonitoredOrder.objects.active().filter(provider=provider)
    return (
        queryset
        .filter(leases.free(now))
        .filter(
            Q(next_check_by=MonitoredOrder.Driver.SWEEP, next_check_at__lte=now)
            | Q(next_check_by=MonitoredOrder.Driver.TASK, next_check_at__lte=lost_before)
        )
        .order_by("next_check_at", "pk")
    )


def run_sweep(
    *, limit: int | None = None, dry_run: bool = False, now: dt.datetime | None = None, provider: str | None = None
) -> SweepReport:
    """Discover unwatched orders and enqueue due checks (at most ``limit`` of each).

    With ``provider``, only that provider's due checks are enqueued and
    discovery is left to the periodic sweep (an operator's catch-up after the
    provider's outage, say).
    """
    now = now or timezone.now()
    limit = int(limit or app_settings.SWEEP_BATCH_SIZE)
    report = SweepReport(dry_run=dry_run)

    unwatched = list(unwatched_dispatched_orders(now)[:limit]) if provider is None else []
    if dry_run:
        report.discovered = [order.pk for order in unwatched]
    elif unwatched:
        started, refused = start_monitoring_many(unwatched)
        for order_pk, reason in refused.items():  # e.g. no provider for it: say so, keep sweeping
            logger.warning("Sweep cannot follow order %s: %s", order_pk, reason, extra=about(order_id=order_pk))
        report.discovered = [entry.order_id for entry in started]
        if started:
            logger.warning(
                "Sweep found %d dispatched orders nobody followed; now following them: %s",
                len(started),
                ", ".join(str(pk) for pk in report.discovered[:20]) + (" ..." if len(started) > 20 else ""),
                extra=about(),
            )

    spacing = dt.timedelta(seconds=float(app_settings.SWEEP_SPACING))
    with transaction.atomic(using=ledger_database()):
        # Two sweeps at once (a second consumer without -n) split the work.
        entries = list(sql.skip_locked(due_for_sweep(now, provider))[:limit])
        position = 0
        for entry in entries:
            # Checks are spread out (provider etiquette) and marked task-driven,
            # so the next sweep re-enqueues them only if this task is lost too.
            # A batch provider's orders stay due together: its first task asks
            # about all of them in one call.
            if grouping.batch_size(entry.provider) > 1:
                entry.next_check_at = now
            else:
                entry.next_check_at = now + spacing * position
                position += 1
            entry.next_check_by = MonitoredOrder.Driver.TASK
        if not dry_run and entries:
            MonitoredOrder.objects.bulk_update(entries, ["next_check_at", "next_check_by"])
    report.enqueued = [entry.pk for entry in entries]
    if not dry_run:
        for entry in entries:
            scheduling.enqueue_check(entry.pk, entry.next_check_at)
    if report.discovered or report.enqueued:
        logger.info(
            "Sweep: %d discovered, %d checks enqueued", len(report.discovered), len(report.enqueued), extra=about()
        )
    return report


def sweep_is_due(moment: dt.datetime) -> bool:
    """Huey's periodic test: run on minutes that are a multiple of SWEEP_INTERVAL (of the UTC day)."""
    return moment.replace(second=0, microsecond=0) == interval_start(moment)


def interval_start(moment: dt.datetime) -> dt.datetime:
    """The start of the sweep interval ``moment`` (UTC) is in: the last minute a multiple of SWEEP_INTERVAL."""
    minutes = max(1, round(float(app_settings.SWEEP_INTERVAL) / 60))
    of_day = moment.hour * 60 + moment.minute
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(minutes=of_day - of_day % minutes)
