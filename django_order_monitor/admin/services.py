"""The operators' steering actions, shared by the ledger admin and the shop-order mixin.

Each action only changes the ledger (through the service functions) or enqueues
work; no provider is asked during the request. Results are tallied so the admin
can say how many orders were handled and why the others were skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.contrib import messages
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import app_settings
from ..engine import following, transitions
from ..exceptions import NotMonitorable
from ..models import MonitoredOrder

logger = logging.getLogger(__name__)

#: How far "extend the deadline" pushes it back.
EXTEND_BY_SECONDS = 24 * 60 * 60
#: Order ids named in a "skipped" message, at most.
NAMED_IN_MESSAGES = 10
#: Above this many followed orders, "mark failed", "check now" and "restart" run on the task
#: queue: each order is a transaction (and a refund) of its own, and 2,000 of them took 17 s
#: on PostgreSQL, far longer than a request should.
BACKGROUND_ABOVE = 200
#: Ledger ids per background task and per ``pk__in`` query (SQLite limits a statement's size).
CHUNK_SIZE = 200


@dataclass
class Tally:
    """Orders an action handled, and the skipped ones grouped by reason."""

    done: list = field(default_factory=list)
    skipped: dict[str, list] = field(default_factory=dict)
    #: Followed orders handed to background tasks, and those the queue refused.
    queued: int = 0
    not_queued: int = 0

    def skip(self, reason: str, order_pk) -> None:
        self.skipped.setdefault(reason, []).append(order_pk)


def chunks(ids: Sequence, size: int = CHUNK_SIZE) -> Iterator[list]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def load_entries(monitored_order_ids: Sequence[int]) -> Iterator[MonitoredOrder]:
    """The ledger rows of ``monitored_order_ids``, read a chunk at a time, in the given order."""
    for chunk in chunks(monitored_order_ids):
        by_pk = MonitoredOrder.objects.in_bulk(chunk)
        yield from (by_pk[pk] for pk in chunk if pk in by_pk)


def queue_in_background(action: str, monitored_order_ids: Sequence[int], tally: Tally, message: str = "") -> Tally:
    """Hand a large selection to the ``*_chunk`` tasks, :data:`CHUNK_SIZE` ledger ids per task.

    The tasks run the same service functions as the request would; their
    arguments are ledger ids and the operator's reason, never a PIN.
    """
    from .. import (
        tasks,  # Huey's Django glue is loaded only when needed
    )

    enqueue = {
        "mark_failed": lambda ids: tasks.mark_failed_chunk(ids, message),
        "check_now": tasks.check_now_chunk,
        "restart": tasks.restart_chunk,
    }[action]
    for chunk in chunks(monitored_order_ids):
        try:
            enqueue(chunk)
        except Exception as err:  # Redis down: say so to the operator instead of a 500
            logger.warning("Could not queue %s of %d orders (%s)", action, len(chunk), type(err).__name__)
            tally.not_queued += len(chunk)
        else:
            tally.queued += len(chunk)
    return tally


def enqueue_check_now(monitored_order_id: int) -> bool:
    """Enqueue an operator's forced check; False when the queue refused it."""
    from ..tasks import (
        check_order_now,  # Huey's Django glue is loaded only when needed
    )

    try:
        check_order_now(monitored_order_id)
    except Exception as err:  # Redis down: say so to the operator instead of a 500
        logger.warning("Could not enqueue check now of monitored order %s (%s)", monitored_order_id, type(err).__name__)
        return False
    return True


def check_now(entries: Iterable[MonitoredOrder], tally: Tally | None = None) -> Tally:
    tally = tally or Tally()
    for entry in entries:
        if not entry.is_active:
            tally.skip(_("not followed any more (%(state)s)") % {"state": entry.get_state_display()}, entry.order_id)
        elif enqueue_check_now(entry.pk):
            tally.done.append(entry.order_id)
        else:
            tally.skip(_("the task queue is not reachable"), entry.order_id)
    return tally


def restart(entries: Iterable[MonitoredOrder], tally: Tally | None = None) -> Tally:
    tally = tally or Tally()
    for entry in entries:
        try:
            following.restart_monitoring(entry)
        except NotMonitorable:
            tally.skip(_("already ended (%(state)s); it is never finished twice") % {"state": entry.get_state_display()}, entry.order_id)
        else:
            tally.done.append(entry.order_id)
    return tally


def stop(entries: Iterable[MonitoredOrder], reason: str, tally: Tally | None = None) -> Tally:
    tally = tally or Tally()
    for entry in entries:
        if following.stop_monitoring(entry, reason):
            tally.done.append(entry.order_id)
        else:
            tally.skip(_("not being followed"), entry.order_id)
    return tally


def mark_failed(entries: Iterable[MonitoredOrder], message: str, tally: Tally | None = None) -> Tally:
    """Fail orders through the provider-failure path, so the shop's refund runs once."""
    tally = tally or Tally()
    for entry in entries:
        if transitions.finish(entry, "failed", source="admin", message=message) is None:
            tally.skip(_("not being followed (restart it first to mark it failed)"), entry.order_id)
        else:
            tally.done.append(entry.order_id)
    return tally


def extend_deadline(entries: Iterable[MonitoredOrder], seconds: float = EXTEND_BY_SECONDS, tally: Tally | None = None) -> Tally:
    tally = tally or Tally()
    for entry in entries:
        if following.extend_deadline(entry, seconds):
            tally.done.append(entry.order_id)
        else:
            tally.skip(_("not being followed"), entry.order_id)
    return tally


def start_unfollowed(orders: Iterable, tally: Tally, *, check_now: bool = False) -> Tally:
    """Start following shop orders that have no ledger row yet (the mixin's check/restart).

    An order that cannot be followed is skipped with the reason
    (``following.why_not_monitorable``).
    """
    for order in orders:
        reason = following.why_not_monitorable(order)
        if reason:
            tally.skip(_("cannot be monitored: %(reason)s") % {"reason": reason}, order.pk)
            continue
        try:
            entry = following.start_monitoring(order)
        except NotMonitorable as err:
            tally.skip(str(err), order.pk)
            continue
        if check_now:
            # The ledger row must be visible to the worker before it runs.
            transaction.on_commit(lambda pk=entry.pk: enqueue_check_now(pk))
        tally.done.append(order.pk)
    return tally


#: What each action reports for the orders it handled: (singular, plural).
DONE_MESSAGES = {
    "check_now": lambda n: ngettext(
        "Enqueued a status check of %(count)d order.", "Enqueued status checks of %(count)d orders.", n
    ),
    "restart": lambda n: ngettext(
        "Restarted monitoring of %(count)d order (new attempts and deadline).",
        "Restarted monitoring of %(count)d orders (new attempts and deadline).",
        n,
    ),
    "stop": lambda n: ngettext("Stopped monitoring %(count)d order.", "Stopped monitoring %(count)d orders.", n),
    "mark_failed": lambda n: ngettext("Marked %(count)d order failed.", "Marked %(count)d orders failed.", n),
    "extend_deadline": lambda n: ngettext(
        "Extended the deadline of %(count)d order by 24 hours.", "Extended the deadline of %(count)d orders by 24 hours.", n
    ),
}


#: What each action reports for the orders handed to background tasks.
QUEUED_MESSAGES = {
    "check_now": lambda n: ngettext(
        "Queued status checks of %(count)d order in the background.",
        "Queued status checks of %(count)d orders in the background; orders no longer followed are skipped.",
        n,
    ),
    "restart": lambda n: ngettext(
        "Queued a restart of monitoring of %(count)d order in the background.",
        "Queued a restart of monitoring of %(count)d orders in the background; ended orders are skipped.",
        n,
    ),
    "mark_failed": lambda n: ngettext(
        "Queued %(count)d order to be marked failed in the background.",
        "Queued %(count)d orders to be marked failed in the background; orders no longer followed are skipped. "
        "Refresh the list to follow the progress.",
        n,
    ),
}


def report(model_admin, request, action: str, tally: Tally) -> None:
    """Tell the operator what happened: one message for the handled, one per skip reason."""
    if not app_settings.ENABLED and action in ("check_now", "restart"):
        model_admin.message_user(
            request,
            _("Monitoring is disabled (ORDER_MONITOR_ENABLED = False): queued checks do nothing until it is enabled."),
            messages.WARNING,
        )
    if tally.done:
        count = len(tally.done)
        model_admin.message_user(request, DONE_MESSAGES[action](count) % {"count": count}, messages.SUCCESS)
    if tally.queued:
        model_admin.message_user(request, QUEUED_MESSAGES[action](tally.queued) % {"count": tally.queued}, messages.SUCCESS)
    if tally.not_queued:
        text = ngettext(
            "Could not queue %(count)d order: the task queue is not reachable. Nothing was done to it.",
            "Could not queue %(count)d orders: the task queue is not reachable. Nothing was done to them.",
            tally.not_queued,
        ) % {"count": tally.not_queued}
        model_admin.message_user(request, text, messages.ERROR)
    for reason, order_pks in tally.skipped.items():
        count = len(order_pks)
        named = ", ".join(str(pk) for pk in order_pks[:NAMED_IN_MESSAGES])
        if count > NAMED_IN_MESSAGES:
            named += ", …"
        text = ngettext(
            "Skipped %(count)d order, %(reason)s: %(orders)s.",
            "Skipped %(count)d orders, %(reason)s: %(orders)s.",
            count,
        ) % {"count": count, "reason": reason, "orders": named}
        model_admin.message_user(request, text, messages.WARNING)
