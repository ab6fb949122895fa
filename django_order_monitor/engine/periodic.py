"""The fleet's periodic work: one sweep per interval, whichever consumer gets there first.

Every consumer's scheduler enqueues the sweep in each interval's first minute
(no consumer is special, none needs ``-n``), each at its own second of that
minute. Before sweeping, a consumer claims the interval with one conditional
``UPDATE`` of the ``SweepRun`` row: it succeeds only if the last claim is older
than the interval's start. So the copies the other consumers queued for the
same interval do nothing, and a claim expires by itself when the next interval
begins, even when its holder was SIGKILLed mid-sweep (that interval's sweep is
then lost; the next one runs on a survivor).

Why a database row and not a Redis ``SET NX PX`` or Huey's ``lock_task``: the
row works on every Huey storage and database the app supports, ``lock_task`` has
no expiry (a killed holder keeps it), and the row is also the operators' record
of when the sweep last ran (``order_monitor_status``, the health view).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..conf import app_settings
from ..models import SweepRun
from .asking import worker
from .sweep import interval_start

SWEEP = "sweep"
#: Before any sweep ran: a claim this old never blocks the first one.
_NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def claim_sweep(now: dt.datetime | None = None) -> bool:
    """Claim this interval's sweep for this worker; False when another consumer already has it."""
    now = now or timezone.now()
    _ensure_row()
    current = interval_start(now.astimezone(dt.timezone.utc))
    claimed = SweepRun.objects.filter(name=SWEEP, started_at__lt=current).update(started_at=now, finished_at=None, worker=worker())
    return claimed == 1


def sweep_finished(now: dt.datetime | None = None) -> None:
    """Record that this worker's claimed sweep ended (its figures are in the log)."""
    SweepRun.objects.filter(name=SWEEP, worker=worker()).update(finished_at=now or timezone.now())


def last_sweep() -> SweepRun | None:
    """The latest claimed sweep (started, maybe unfinished), or None if none ever ran."""
    return SweepRun.objects.filter(name=SWEEP).exclude(started_at=_NEVER).first()


def late_after() -> dt.timedelta:
    """How long without a sweep before it counts as late: two intervals.

    One lost interval is tolerated: a consumer SIGKILLed mid-sweep loses that
    interval's sweep, and the next interval's runs on another consumer.
    """
    return dt.timedelta(seconds=2 * float(app_settings.SWEEP_INTERVAL))


def _ensure_row() -> None:
    if SweepRun.objects.filter(name=SWEEP).exists():
        return
    try:
        with transaction.atomic():
            SweepRun.objects.create(name=SWEEP, started_at=_NEVER)
    except IntegrityError:
        pass  # another consumer created it at the same moment: theirs is as good
