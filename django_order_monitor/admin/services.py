"""What the operators' steering actions do, shared by the ledger admin and the shop-order mixin.

Each action has a *step* (what it does to one followed order: change the ledger
or enqueue work; no provider is asked during the request), run over the
selection in the request or, for large selections, by the one background task.
Results are tallied so the admin can say how many orders were handled and why
the others were skipped. The actions themselves are declared in ``actions``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.contrib import messages
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import background
from ..conf import app_settings
from ..engine import following, transitions
from ..exceptions import NotMonitorable
from ..models import MonitoredOrder, ledger_database
from . import display

logger = logging.getLogger(__name__)

#: An action's step: what it does to one followed order, given the operator's reason
#: ("" for actions that ask none). Raises :class:`Skip` to leave the order as it is.
Step = Callable[[MonitoredOrder, str], None]

#: How far "extend the deadline" pushes it back.
EXTEND_BY_SECONDS = 24 * 60 * 60
#: Order ids named in a "skipped" message, at most.
NAMED_IN_MESSAGES = 10
#: Above this many followed orders, the actions declared with a ``background`` message
#: ("mark failed", "check now", "restart") run on the task queue: each order is a
#: transaction (and a refund) of its own, and 2,000 of them took 17 s on PostgreSQL, far
#: longer than a request should.
BACKGROUND_ABOVE = 200
#: Ledger ids per background task and per ``pk__in`` query (SQLite limits a statement's size).
CHUNK_SIZE = 200


class Skip(Exception):
    """Raised by an action's step: this order is left as it is, for the reason given (shown to the operator)."""


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


def run(step: Step, entries: Iterable[MonitoredOrder], reason: str = "", tally: Tally | None = None) -> Tally:
    """Apply ``step`` to each ledger row in the request; an error other than :class:`Skip` propagates."""
    tally = tally or Tally()
    for entry in entries:
        try:
            step(entry, reason)
        except Skip as skip:
            tally.skip(str(skip), entry.order_id)
        else:
            tally.done.append(entry.order_id)
    return tally


def run_chunk(name: str, step: Step, monitored_order_ids: Sequence[int], reason: str) -> None:
    """Apply ``step`` to one background chunk: an order that fails is logged and the chunk goes on.

    Only the error's type is logged: a shop's exception message may carry anything.
    """
    handled = skipped = failed = 0
    for entry in load_entries(monitored_order_ids):
        try:
            step(entry, reason)
        except Skip:
            skipped += 1
        except Exception as err:
            failed += 1
            logger.error("Admin action %s on monitored order %s failed: %s", name, entry.pk, type(err).__name__)
        else:
            handled += 1
    logger.info(
        "Admin action %s in the background: %d handled, %d skipped (not followed), %d failed, of %d",
        name,
        handled,
        skipped,
        failed,
        len(monitored_order_ids),
    )


def queue_in_background(name: str, monitored_order_ids: Sequence[int], reason: str = "", tally: Tally | None = None) -> Tally:
    """Hand a large selection to ``order_monitor.admin_action_chunk``, :data:`CHUNK_SIZE` ledger ids per task.

    The task runs the action's own step, as the request would; its arguments
    are the action's name, ledger ids and the operator's reason, never a PIN.
    """
    tally = tally or Tally()
    for chunk in chunks(monitored_order_ids):
        try:
            background.run_admin_action(name, chunk, reason)
        except Exception as err:  # Redis down: say so to the operator instead of a 500
            logger.warning("Could not queue %s of %d orders (%s)", name, len(chunk), type(err).__name__)
            tally.not_queued += len(chunk)
        else:
            tally.queued += len(chunk)
    return tally


def enqueue_check_now(monitored_order_id: int) -> bool:
    """Enqueue an operator's forced check; False when the queue refused it."""
    try:
        background.check_now(monitored_order_id)
    except Exception as err:  # Redis down: say so to the operator instead of a 500
        logger.warning("Could not enqueue check now of monitored order %s (%s)", monitored_order_id, type(err).__name__)
        return False
    return True


# -- the steps: what each action does to one followed order ----------------------------------


def check_now(entry: MonitoredOrder, reason: str = "") -> None:
    if not entry.is_active:
        raise Skip(_("not followed any more (%(state)s)") % {"state": entry.get_state_display()})
    if not enqueue_check_now(entry.pk):
        raise Skip(_("the task queue is not reachable"))


def restart(entry: MonitoredOrder, reason: str = "") -> None:
    try:
        following.restart_monitoring(entry)
    except NotMonitorable:
        raise Skip(_("already ended (%(state)s); it is never finished twice") % {"state": entry.get_state_display()}) from None


def stop(entry: MonitoredOrder, reason: str) -> None:
    if not following.stop_monitoring(entry, reason):
        raise Skip(_("not being followed"))


def mark_failed(entry: MonitoredOrder, reason: str) -> None:
    """Fail the order through the provider-failure path, so the shop's refund runs once."""
    if transitions.finish(entry, "failed", source="admin", message=reason) is None:
        raise Skip(_("not being followed (restart it first to mark it failed)"))


def extend_deadline(entry: MonitoredOrder, reason: str = "") -> None:
    if not following.extend_deadline(entry, EXTEND_BY_SECONDS):
        raise Skip(_("not being followed"))


# -- what an action does with selected shop orders that have no ledger row -------------------


def skip_unfollowed(orders: Iterable, tally: Tally) -> Tally:
    """Name them as skipped: the action steers followed orders only."""
    for order in orders:
        tally.skip(_("not being followed"), order.pk)
    return tally


def start_and_check(orders: Iterable, tally: Tally) -> Tally:
    """Start following them and queue a check of each at once."""
    return start_unfollowed(orders, tally, check_now=True)


def start_unfollowed(orders: Iterable, tally: Tally, *, check_now: bool = False) -> Tally:
    """Start following shop orders that have no ledger row yet (the mixin's check/restart).

    An order that cannot be followed is skipped with the reason
    (``following.why_not_monitorable``).
    """
    for order in orders:
        reason = following.why_not_monitorable(order)
        if reason:
            tally.skip(_("cannot be monitored: %(reason)s") % {"reason": following.translated(reason)}, order.pk)
            continue
        try:
            entry = following.start_monitoring(order)
        except NotMonitorable as err:
            tally.skip(str(err), order.pk)
            continue
        if check_now:
            # The ledger row must be visible to the worker before it runs.
            transaction.on_commit(functools.partial(enqueue_check_now, entry.pk), using=ledger_database())
        tally.done.append(order.pk)
    return tally


def report(model_admin, request, action, tally: Tally) -> None:
    """Tell the operator what ``action`` (a ``SteeringAction``) did: one message for the handled, one per skip reason."""
    if not app_settings.ENABLED and action.warns_when_disabled:
        model_admin.message_user(
            request,
            _("Monitoring is disabled (ORDER_MONITOR_ENABLED = False): queued checks do nothing until it is enabled."),
            messages.WARNING,
        )
    if tally.done:
        model_admin.message_user(request, action.done % {"count": len(tally.done)}, messages.SUCCESS)
    if tally.queued:
        model_admin.message_user(request, action.background % {"count": tally.queued}, messages.SUCCESS)
    if tally.not_queued:
        text = ngettext(
            "Could not queue %(count)d order: the task queue is not reachable. Nothing was done to it.",
            "Could not queue %(count)d orders: the task queue is not reachable. Nothing was done to them.",
            tally.not_queued,
        ) % {"count": tally.not_queued}
        model_admin.message_user(request, text, messages.ERROR)
    for reason, order_pks in tally.skipped.items():
        count = len(order_pks)
        named = ", ".join(display.isolated(pk) for pk in order_pks[:NAMED_IN_MESSAGES])
        if count > NAMED_IN_MESSAGES:
            named += ", …"
        text = ngettext(
            "Skipped %(count)d order, %(reason)s: %(orders)s.",
            "Skipped %(count)d orders, %(reason)s: %(orders)s.",
            count,
        ) % {"count": count, "reason": reason, "orders": named}
        model_admin.message_user(request, text, messages.WARNING)
