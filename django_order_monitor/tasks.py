"""Huey tasks, autodiscovered by ``manage.py run_huey``. Thin wrappers over the services.

Task names are frozen API: Huey keys queued messages by them. Arguments are
primitives (the ledger id), results are ``None``: nothing secret reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_shutdown

from . import batching, callbacks, checking, etiquette, providers, scheduling, sweep
from .conf import app_settings

logger = logging.getLogger(__name__)


@db_task(name="order_monitor.check_order")
def check_order(monitored_order_id: int) -> None:
    """Check one followed order if it is due; a late or duplicate task is a no-op."""
    if not app_settings.ENABLED:
        return
    report = batching.check_with_peers(monitored_order_id)[0]
    if not report.ran:
        logger.debug("Check of monitored order %s skipped: %s", monitored_order_id, report.skipped_reason)


@db_task(name="order_monitor.check_order_now")
def check_order_now(monitored_order_id: int) -> None:
    """An operator's "check now": check even if not due (never alongside a running check)."""
    if not app_settings.ENABLED:
        return
    report = checking.check_order(monitored_order_id, force=True, source="admin")
    if not report.ran:
        logger.info("Check now of monitored order %s skipped: %s", monitored_order_id, report.skipped_reason)


@db_periodic_task(sweep.sweep_is_due, name="order_monitor.sweep")
def sweep_orders() -> None:
    """Discover unwatched orders and recover checks that lost tasks left behind."""
    if app_settings.ENABLED:
        sweep.run_sweep()
        callbacks.forget_old_receipts()


@on_shutdown()
def _close_provider_sessions() -> None:
    providers.close_all()


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
etiquette.share_with_queue(HUEY.name, getattr(HUEY.storage, "conn", None))
