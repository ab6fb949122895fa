"""Huey tasks, autodiscovered by ``manage.py run_huey``. Thin wrappers over the services.

Task names are frozen API: Huey keys queued messages by them. Arguments are
primitives (the ledger id), results are ``None``: nothing secret reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_shutdown

from . import providers, push
from .conf import app_settings
from .engine import (
    following,
    grouping,
    pipeline,
    scheduling,
    sweep,
    transitions,
)
from .exceptions import NotMonitorable
from .models import MonitoredOrder
from .providers import ratelimit

logger = logging.getLogger(__name__)


@db_task(name="order_monitor.check_order")
def check_order(monitored_order_id: int) -> None:
    """Check one followed order if it is due; a late or duplicate task is a no-op."""
    if not app_settings.ENABLED:
        return
    report = grouping.check_with_peers(monitored_order_id)[0]
    if not report.ran:
        logger.debug("Check of monitored order %s skipped: %s", monitored_order_id, report.skipped_reason)


@db_task(name="order_monitor.check_order_now")
def check_order_now(monitored_order_id: int) -> None:
    """An operator's "check now": check even if not due (never alongside a running check)."""
    if not app_settings.ENABLED:
        return
    report = pipeline.check_order(monitored_order_id, force=True, source="admin")
    if not report.ran:
        logger.info("Check now of monitored order %s skipped: %s", monitored_order_id, report.skipped_reason)


@db_periodic_task(sweep.sweep_is_due, name="order_monitor.sweep")
def sweep_orders() -> None:
    """Discover unwatched orders and recover checks that lost tasks left behind."""
    if app_settings.ENABLED:
        sweep.run_sweep()
        push.forget_old_receipts()


@on_shutdown()
def _close_provider_sessions() -> None:
    providers.close_all()


# -- Admin actions on large selections ------------------------------------------------------
# The admin hands a selection above ``admin.steering.BACKGROUND_ABOVE`` followed orders to
# these tasks, a chunk of ledger ids each. Arguments are ledger ids and the operator's reason,
# never a PIN. Each order is handled as in the request (the same service functions), so a
# chunk run twice changes nothing the second time. A failing order is logged (its error type
# only: a shop's exception message may carry anything) and the chunk goes on.


@db_task(name="order_monitor.mark_failed_chunk")
def mark_failed_chunk(monitored_order_ids: list[int], message: str) -> None:
    """Fail each still-followed order through the provider-failure path (the shop's refund runs once)."""
    def fail(entry) -> bool:
        return transitions.finish(entry, "failed", source="admin", message=message) is not None

    _run_chunk("mark failed", monitored_order_ids, fail)


@db_task(name="order_monitor.check_now_chunk")
def check_now_chunk(monitored_order_ids: list[int]) -> None:
    """Queue an operator's forced check of each still-followed order."""

    def check(entry) -> bool:
        if not entry.is_active:
            return False
        check_order_now(entry.pk)
        return True

    _run_chunk("check now", monitored_order_ids, check)


@db_task(name="order_monitor.restart_chunk")
def restart_chunk(monitored_order_ids: list[int]) -> None:
    """Restart monitoring of each order that has not ended (new attempts and deadline)."""
    def restart(entry) -> bool:
        try:
            following.restart_monitoring(entry)
        except NotMonitorable:
            return False
        return True

    _run_chunk("restart", monitored_order_ids, restart)


def _run_chunk(action: str, monitored_order_ids: list[int], handle) -> None:
    handled = skipped = failed = 0
    for entry in MonitoredOrder.objects.filter(pk__in=monitored_order_ids).order_by("pk"):
        try:
            if handle(entry):
                handled += 1
            else:
                skipped += 1
        except Exception as err:
            failed += 1
            logger.error("Admin action %s on monitored order %s failed: %s", action, entry.pk, type(err).__name__)
    logger.info(
        "Admin action %s in the background: %d handled, %d skipped (not followed), %d failed, of %d",
        action,
        handled,
        skipped,
        failed,
        len(monitored_order_ids),
    )


# -- The engine's scheduling port ---------------------------------------------------------


def enqueue(monitored_order_id: int, eta: dt.datetime | None = None) -> None:
    """Put ``check_order`` on Huey: now when ``eta`` is None or past, else on its schedule."""
    if eta is None or eta <= timezone.now():
        check_order(monitored_order_id)
    else:
        # Straight onto Huey's schedule: check_order.schedule() would pass
        # through the queue first, costing a consumer a dequeue and a
        # deserialize just to move the task there.
        check_order.huey.add_schedule(check_order.s(monitored_order_id, eta=eta))


scheduling.install(enqueue)
ratelimit.share_with_queue(HUEY.name, getattr(HUEY.storage, "conn", None))
