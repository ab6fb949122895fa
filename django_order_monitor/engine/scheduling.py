"""The engine's one way to ask for a check later: a port that the tasks module connects to Huey.

The engine decides *when* (its reports and ledger rows say what is due);
``tasks.py`` alone knows Huey and installs the function that enqueues. So the
engine never imports Huey, and there is no import cycle.

Enqueueing is best-effort by design: the ledger says what is due, so a task
that is lost, or never enqueued because Redis was down, is recovered by the
sweep (at most LOST_TASK_GRACE + SWEEP_INTERVAL late).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from django.db import transaction

from ..models import MonitoredOrder, ledger_database
from .logfields import about

logger = logging.getLogger(__name__)

class PlannedCheck(Protocol):
    """What a check report says about the next check (``pipeline.CheckReport`` is one)."""

    # Read-only: a frozen dataclass (CheckReport) must match.
    @property
    def monitored_order_id(self) -> int: ...
    @property
    def next_check_at(self) -> dt.datetime | None: ...
    @property
    def next_check_by(self) -> str: ...
    @property
    def state(self) -> str: ...


#: ``enqueue(monitored_order_id, eta)``; installed by ``tasks.py`` when it is imported.
Enqueue = Callable[[int, "dt.datetime | None"], None]
_enqueue: Enqueue | None = None


def install(enqueue: Enqueue) -> None:
    """Connect the port (``tasks.py`` does, at import; the app's ``ready()`` imports it)."""
    global _enqueue
    _enqueue = enqueue


def enqueue_check(monitored_order_id: int, eta: dt.datetime | None = None) -> bool:
    """Ask for a check of the order at ``eta`` (now when None or past); False if that failed."""
    try:
        if _enqueue is None:
            raise RuntimeError("no task queue is connected")
        _enqueue(monitored_order_id, eta)
    except Exception as err:  # the queue is down: the sweep will find the order due
        logger.warning(
            "Could not enqueue check of monitored order %s (%s); the sweep will recover it",
            monitored_order_id,
            type(err).__name__,
            extra=about(monitored_order_id=monitored_order_id),
        )
        return False
    return True


def enqueue_check_on_commit(monitored_order_id: int, eta: dt.datetime | None = None) -> None:
    """Enqueue once the current transaction commits, so the task sees the row."""
    transaction.on_commit(lambda: enqueue_check(monitored_order_id, eta), using=ledger_database())


def follow_up(reports: Iterable[PlannedCheck]) -> None:
    """Enqueue the next check of every report whose order the chained tasks drive."""
    for report in reports:
        if report.next_check_at is not None and report.next_check_by == MonitoredOrder.Driver.TASK:
            if report.state == MonitoredOrder.State.WATCHING:
                enqueue_check(report.monitored_order_id, report.next_check_at)
