"""Handing checks to Huey. The only module (with tasks.py) that knows Huey exists.

Enqueueing is best-effort by design: the ledger says what is due, so a task
that is lost, or never enqueued because Redis was down, is recovered by the
sweep (at most LOST_TASK_GRACE + SWEEP_INTERVAL late).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def enqueue_check(monitored_order_id: int, eta: dt.datetime | None = None) -> bool:
    """Schedule ``check_order`` for ``eta`` (now when None or past); False if Huey refused."""
    from .tasks import check_order  # tasks import Huey's Django glue; keep it out of import time

    try:
        if eta is None or eta <= timezone.now():
            check_order(monitored_order_id)
        else:
            # Straight onto Huey's schedule: check_order.schedule() would pass
            # through the queue first, costing a consumer a dequeue and a
            # deserialize just to move the task there.
            check_order.huey.add_schedule(check_order.s(monitored_order_id, eta=eta))
    except Exception as err:  # the queue is down: the sweep will find the order due
        logger.warning(
            "Could not enqueue check of monitored order %s (%s); the sweep will recover it",
            monitored_order_id,
            type(err).__name__,
        )
        return False
    return True


def enqueue_check_on_commit(monitored_order_id: int, eta: dt.datetime | None = None) -> None:
    """Enqueue once the current transaction commits, so the task sees the row."""
    transaction.on_commit(lambda: enqueue_check(monitored_order_id, eta))
