"""Retention: deleting check history and ended ledger rows older than ORDER_MONITOR_RETENTION.

PINs are never in these tables; this is about size (a shop with a million orders
a day adds several million history rows a day). Rows go in batches of
``BATCH_SIZE``, each batch two short statements in autocommit (read the ids by
an index, delete by primary key; portable, no ``LIMIT`` in a ``DELETE``): no
long transaction, and only rows no check touches any more, so the hot path
never waits on a prune.

Ledger rows are deleted only when the shop's order has a ``dispatched_at``
role: the sweep then leaves orders dispatched before its deadline window
alone, and RETENTION > DEADLINE (check ``order_monitor.E021``) puts every
pruned order before that window, so none is "discovered" again. Without that
role only the history is pruned.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from .. import sql
from ..conf import app_settings
from ..models import MonitoredOrder, StatusCheck
from ..shop import orders
from .logfields import about

logger = logging.getLogger(__name__)

#: Rows per batch: ended orders (each with its history, ~7 rows), or history rows.
BATCH_SIZE = 2000
#: Seconds the periodic work spends pruning per run; the next run carries on.
TIME_BUDGET = 10.0
#: The periodic work rests this many times a batch's duration after it: deleting competes
#: with the checks for the database's disk and CPU, so it takes at most half of them.
REST_RATIO = 1.0

#: The ledger states a pruned row may have (every state but the followed ones).
ENDED_STATES = tuple(state for state in MonitoredOrder.State.values if state not in MonitoredOrder.ACTIVE_STATES)


@dataclass
class PruneReport:
    """What one prune deleted (or, on a dry run, would delete)."""

    cutoff: dt.datetime | None
    history: int = 0
    ledger: int = 0
    batches: int = 0
    #: False when the time budget ran out with rows left for the next run.
    finished: bool = True
    #: Why ledger rows were kept (no dispatched_at role), else "".
    ledger_kept: str = ""


def cutoff(now: dt.datetime | None = None) -> dt.datetime | None:
    """Rows older than this go; None while RETENTION is None (keep everything)."""
    seconds = app_settings.RETENTION
    if seconds is None:
        return None
    return (now or timezone.now()) - dt.timedelta(seconds=float(seconds))


def _ledger_kept() -> str:
    return "" if orders.resolve_fields().get("dispatched_at") else "the order model has no dispatched_at role"


def prunable(before: dt.datetime):
    """(history rows, ended ledger rows or None) older than ``before``, each by its own index."""
    history = StatusCheck.objects.filter(checked_at__lt=before)
    ledger = None if _ledger_kept() else MonitoredOrder.objects.filter(state__in=ENDED_STATES, finished_at__lt=before)
    return history, ledger


def prune(
    now: dt.datetime | None = None,
    *,
    dry_run: bool = False,
    time_budget: float | None = None,
    rest_ratio: float = 0.0,
    batch_size: int | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> PruneReport:
    """Delete what RETENTION no longer keeps, batch by batch; ``dry_run`` only counts.

    Ended ledger rows go first (with their history), then older history of the
    orders that remain. ``time_budget`` (seconds, None: until done) bounds one
    run; after each batch it rests ``rest_ratio`` times the batch's duration;
    ``batch_size`` defaults to BATCH_SIZE; ``on_batch(kind, rows)`` hears of each
    batch ("ledger" or "history").
    """
    batch_size = batch_size or BATCH_SIZE
    report = PruneReport(cutoff(now), ledger_kept=_ledger_kept())
    if report.cutoff is None:
        return report
    history, ledger = prunable(report.cutoff)
    if dry_run:
        # What a prune deletes: the old history, and all the history of the ended orders that go.
        going = history if ledger is None else StatusCheck.objects.filter(Q(checked_at__lt=report.cutoff) | Q(monitored_order__in=ledger))
        report.history = going.count()
        report.ledger = ledger.count() if ledger is not None else 0
        return report
    stop_at = None if time_budget is None else time.monotonic() + time_budget
    for kind, queryset, order in (("ledger", ledger, "finished_at"), ("history", history, "checked_at")):
        while queryset is not None:
            if stop_at is not None and time.monotonic() >= stop_at:
                report.finished = False
                break
            batch_started = time.monotonic()
            ids = list(queryset.order_by(order).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            # A ledger batch is its history's DELETE, then its own (sql.delete_in says why not the ORM's).
            if kind == "ledger":
                report.history += sql.delete_in(StatusCheck, "monitored_order_id", ids)
                report.ledger += sql.delete_in(MonitoredOrder, "id", ids)
            else:
                report.history += sql.delete_in(StatusCheck, "id", ids)
            report.batches += 1
            if on_batch is not None:
                on_batch(kind, len(ids))
            if rest_ratio:
                time.sleep(rest_ratio * (time.monotonic() - batch_started))
    if report.history or report.ledger:
        logger.info(
            "Retention: deleted %d check history rows and %d ended orders older than %s%s",
            report.history,
            report.ledger,
            report.cutoff.isoformat(),
            "" if report.finished else "; the rest next time",
            extra=about(),
        )
    return report
