"""Huey tasks, autodiscovered by ``manage.py run_huey``. Thin wrappers over the services.

Task names are frozen API: Huey keys queued messages by them. Arguments are
primitives (the ledger id), results are ``None``: nothing secret reaches Redis.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_shutdown, on_startup
from huey.storage import RedisStorage

from . import background, metrics, providers, push
from .conf import app_settings
from .engine import grouping, periodic, pipeline, retention, scheduling, sweep
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


#: Ahead of every check in the queue, so a backlog of checks never delays the sweep that
#: recovers them: on a storage with priorities (PriorityRedisHuey, SqliteHuey, MemoryHuey).
#: Plain RedisHuey refuses any priority (NotImplementedError on enqueue), so there the sweep
#: has none and waits its turn; check order_monitor.W004 says so.
SWEEP_PRIORITY = 100 if getattr(HUEY.storage, "priority", False) else None


@db_periodic_task(sweep.sweep_is_due, name="order_monitor.sweep", priority=SWEEP_PRIORITY)
def sweep_orders() -> None:
    """Discover unwatched orders, recover lost checks, prune old rows: every consumer enqueues it, one runs it."""
    if not app_settings.ENABLED:
        return
    if not periodic.claim_sweep():
        logger.debug("Sweep of this interval already claimed by another consumer")
        return
    try:
        sweep.run_sweep()
        push.forget_old_receipts()
        # Within a time budget, resting between batches; the next sweep goes on.
        retention.prune(time_budget=retention.TIME_BUDGET, rest_ratio=retention.REST_RATIO)
    finally:
        periodic.sweep_finished()


@on_shutdown()
def _close_provider_sessions() -> None:
    providers.close_all()


@on_startup()
def _serve_metrics() -> None:
    # Checks run in the consumer, so its counters are served from here (when
    # ORDER_MONITOR_METRICS has a PORT). Every worker calls this; the first one serves.
    metrics.serve_on_port()


# -- Admin actions on large selections ------------------------------------------------------
# The admin hands a selection above ``admin.services.BACKGROUND_ABOVE`` followed orders to
# this task, a chunk of ledger ids each. Arguments are the action's name (its attribute on
# the admin, e.g. "monitor_mark_failed"), ledger ids and the operator's reason, never a PIN.
# Each order goes through the action's own step, as in the request, so a chunk run twice
# changes nothing the second time. A failing order is logged and the chunk goes on.


@db_task(name="order_monitor.admin_action_chunk")
def admin_action_chunk(action_name: str, monitored_order_ids: list[int], reason: str) -> None:
    """Run the admin action declared as ``action_name`` on each order of the chunk."""
    from .admin import actions  # the admin that queued the chunk is loaded; the worker needs it only here

    actions.run_chunk(action_name, monitored_order_ids, reason)


# The 0.1 chunk tasks, kept for one release so messages queued before an upgrade still run.


@db_task(name="order_monitor.mark_failed_chunk")
def mark_failed_chunk(monitored_order_ids: list[int], message: str) -> None:
    admin_action_chunk.call_local("monitor_mark_failed", monitored_order_ids, message)


@db_task(name="order_monitor.check_now_chunk")
def check_now_chunk(monitored_order_ids: list[int]) -> None:
    admin_action_chunk.call_local("monitor_check_now", monitored_order_ids, "")


@db_task(name="order_monitor.restart_chunk")
def restart_chunk(monitored_order_ids: list[int]) -> None:
    admin_action_chunk.call_local("monitor_restart", monitored_order_ids, "")


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
background.install(check_now=check_order_now, run_admin_action=admin_action_chunk)
# Only a Redis queue's connection is shared: reading ``conn`` of a SQLite or PostgreSQL
# storage would open a database connection in every process that imports this module.
ratelimit.share_with_queue(HUEY.name, HUEY.storage.conn if isinstance(HUEY.storage, RedisStorage) else None)
