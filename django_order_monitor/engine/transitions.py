"""The one idempotent path that applies a provider's answer to an order.

Polls, operators' actions and provider callbacks all come through here. A
terminal transition is a compare-and-set on the ledger row inside one
transaction with the shop's write-back and the shop's terminal callback, so it
happens exactly once however many workers, replays or races bring it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone
from django.utils.module_loading import import_string

from .. import signals
from .._moved import renamed
from ..conf import app_settings
from ..models import MonitoredOrder, StatusCheck, ledger_database
from ..providers.adapters.base import Outcome, StatusResult
from ..shop import orders
from . import gate, late
from .logfields import about
from .observing import observer
from .signalling import send_robust

logger = logging.getLogger(__name__)

State = MonitoredOrder.State


@dataclass(frozen=True)
class Transition:
    """What happened to one order. Passed to the terminal callback and the signals.

    ``outcome`` is ``"completed"``, ``"failed"``, ``"timed_out"`` or
    ``"processing"``. Never carries the PIN (``has_pin`` says whether one came).
    """

    order_pk: Any
    monitored_order_id: int
    provider: str
    reference: str
    outcome: str
    external_status: str | None
    internal_status: str | None
    message: str
    source: str
    has_pin: bool
    at: dt.datetime

    referans = renamed("reference")  # the 0.1 name, for one release

    def get_order(self):
        """The shop's order row, fresh from the database."""
        return orders.base_queryset().get(pk=self.order_pk)


def apply_processing(entry: MonitoredOrder, result: StatusResult, *, source: str, now: dt.datetime) -> None:
    """Record a non-terminal answer on the shop's order (sync time, status, message).

    Only touches an order whose external status is still a dispatched word, so
    it never overwrites what the shop (or a terminal transition) wrote; in shadow
    mode, never.
    """
    if app_settings.SHADOW:
        return
    values: dict[str, Any] = {"last_sync_at": now}
    canonical = (app_settings.EXTERNAL_STATUS_VALUES or {}).get("processing")
    if canonical:
        values["external_status"] = canonical
    if result.message:
        values["provider_message"] = result.message
    orders.write(entry.order_id, values, only_if_external_in=app_settings.DISPATCHED_STATUSES)


#: Why the ledger stops when the shop's row was no longer open at the terminal write.
ENDED_OUTSIDE = "the order ended outside the monitor"


@dataclass(frozen=True)
class TerminalOutcome:
    """How one terminal outcome ends an order: one row of :data:`TERMINAL_OUTCOMES`."""

    outcome: str
    #: The ledger's state afterwards.
    state: str
    #: Key of ``EXTERNAL_STATUS_VALUES`` / ``INTERNAL_STATUS_VALUES`` written to the shop's
    #: row; None: the shop's row is left alone (no handler, no callback, no status signal).
    values_key: str | None
    #: Sent after commit (``order_status_changed`` follows when an external status was written).
    signal: Signal
    #: The row applies only while ``ORDER_MONITOR_TIMEOUT_ACTION`` is this (None: always).
    timeout_action: str | None = None
    stop_reason: str = ""


#: Every way :func:`finish` ends an order; the first row that applies wins. Adding an
#: outcome is a row here (plus its ``MonitoredOrder.State`` and its test).
TERMINAL_OUTCOMES = (
    TerminalOutcome("completed", State.COMPLETED, "completed", signals.order_completed),
    TerminalOutcome("failed", State.FAILED, "failed", signals.order_failed),
    # TIMEOUT_ACTION = "stop": the deadline leaves the order to a human, the shop's row untouched.
    TerminalOutcome("timed_out", State.STOPPED, None, signals.order_timed_out, timeout_action="stop", stop_reason="deadline passed"),
    TerminalOutcome("timed_out", State.TIMED_OUT, "failed", signals.order_timed_out),
)


def terminal_outcome(outcome: str) -> TerminalOutcome:
    """The row of :data:`TERMINAL_OUTCOMES` that ends an order as ``outcome`` under the current settings."""
    for row in TERMINAL_OUTCOMES:
        if row.outcome == outcome and row.timeout_action in (None, app_settings.TIMEOUT_ACTION):
            return row
    raise ValueError(f"Not a terminal outcome: {outcome!r}")


def finish(
    entry: MonitoredOrder,
    outcome: str,
    *,
    result: StatusResult | None = None,
    source: str,
    now: dt.datetime | None = None,
    message: str = "",
) -> Transition | None:
    """Move ``entry`` to a terminal state once; returns None if it did not.

    ``outcome`` is ``"completed"``, ``"failed"`` or ``"timed_out"``; a
    completion's ``result`` must have passed :func:`gate.admit`. In one
    transaction: a compare-and-set on the ledger row (still active), then on
    the shop's row (still open: external status a dispatched word, internal
    status not final). Only if both hold does the shop's order change, through
    the shop's ``TRANSITION_HANDLER`` (internal status) when set, then the
    monitor's own columns (PIN, external status, timestamps), and the
    ``TERMINAL_CALLBACK`` runs. If the shop got there first, nothing of the
    shop's is written and the ledger stops with :data:`ENDED_OUTSIDE`. A
    completion that finds the order already ended is a :class:`~.late.LateCompletion`.
    Signals are sent after commit. In shadow mode (``ORDER_MONITOR_SHADOW``) only the
    ledger records the decision: nothing of the shop's is read, locked or written, and
    no shop code runs (handler, callback, late-completion handler, signals).
    """
    now = now or timezone.now()
    message = message or (result.message if result else "")
    terminal = terminal_outcome(outcome)
    shadow = bool(app_settings.SHADOW)
    writes_order = terminal.values_key is not None and not shadow
    external = (app_settings.EXTERNAL_STATUS_VALUES or {}).get(terminal.values_key) if writes_order else None
    internal = (app_settings.INTERNAL_STATUS_VALUES or {}).get(terminal.values_key) if writes_order else None
    pin = result.pin if result is not None and result.outcome is Outcome.COMPLETED else None
    if outcome == "completed" and pin is None:
        raise ValueError("A completion needs the PIN that passed the answer gate.")

    with transaction.atomic(using=ledger_database()):
        won = MonitoredOrder.objects.filter(pk=entry.pk, state__in=MonitoredOrder.ACTIVE_STATES).update(
            state=terminal.state,
            stop_reason=terminal.stop_reason,
            finished_at=now,
            next_check_at=None,
            lease_until=None,
            lease_token="",
            last_outcome=outcome,
            last_message=message[:500],
            **_answer_bookkeeping(result, now),
            updated_at=now,
        )
        if not won:
            if pin is not None and not shadow:
                late.record(entry, pin, source, now)
            else:
                logger.info(
                    "Order %s already ended; %s answer from %s ignored", entry.order_id, outcome, source, extra=about(entry)
                )
            return None
        if writes_order and not orders.hold_if_open(entry.order_id):
            _ended_outside(entry, outcome, source, now)
            if pin is not None:
                late.record(entry, pin, source, now)
            return None
        transition = Transition(
            order_pk=entry.order_id,
            monitored_order_id=entry.pk,
            provider=entry.provider,
            reference=entry.reference,
            outcome=outcome,
            external_status=external,
            internal_status=internal,
            message=message,
            source=source,
            has_pin=pin is not None,
            at=now,
        )
        if writes_order:
            handler = app_settings.TRANSITION_HANDLER
            if handler:
                # The shop's own status service changes the internal status (and runs
                # what hangs on that change: refunds, approval dates); it must see the
                # order as it was, so the monitor's columns are written after it.
                import_string(handler)(transition)
            values = _order_values(entry, external, None if handler else internal, pin, message, now)
            orders.write(entry.order_id, values)
            if app_settings.TERMINAL_CALLBACK:
                import_string(app_settings.TERMINAL_CALLBACK)(transition)
        if not shadow:
            transaction.on_commit(lambda: _send_signals(transition, terminal.signal), using=ledger_database())
        # Counted in shadow mode too: the ledger's transition is what the metrics show.
        to_pin = (now - entry.dispatched_at).total_seconds() if pin is not None else None
        transaction.on_commit(lambda: observer().ended(entry.provider, outcome, to_pin), using=ledger_database())

    logger.info(
        "Order %s %s%s (provider=%s reference=%s source=%s)",
        entry.order_id,
        outcome,
        " in shadow mode, nothing written to the shop" if shadow else "",
        entry.provider,
        entry.reference,
        source,
        extra=about(entry),
    )
    return transition


def _answer_bookkeeping(result: StatusResult | None, now: dt.datetime) -> dict[str, Any]:
    """Ledger columns that record the terminal answer itself (none for the deadline or an operator)."""
    if result is None:
        return {"provider_completed_at": None}
    return {
        "provider_completed_at": now,
        "last_provider_status": result.provider_status[:50],
        "last_checked_at": now,
        "answered_checks": F("answered_checks") + 1,
        "consecutive_failed_checks": 0,
        "last_error": "",
    }


def _ended_outside(entry: MonitoredOrder, outcome: str, source: str, now: dt.datetime) -> None:
    MonitoredOrder.objects.filter(pk=entry.pk).update(state=State.STOPPED, stop_reason=ENDED_OUTSIDE, updated_at=now)
    logger.info(
        "Order %s was already ended by the shop; the %s answer from %s changed nothing",
        entry.order_id,
        outcome,
        source,
        extra=about(entry),
    )


def apply_result(entry: MonitoredOrder, result: StatusResult, *, source: str, now: dt.datetime | None = None):
    """Apply an answer that came without a poll (a provider's push): gate, history, then the answer.

    The answer passes :func:`gate.admit`, is recorded as a check (never with
    its PIN), then terminal answers finish and others only sync. Returns the
    :class:`Transition` of a terminal change, else ``None``. A ``QUERY_ERROR``
    result (a refused completion included) changes nothing on the order.
    """
    now = now or timezone.now()
    result = gate.admit(result)
    StatusCheck.objects.create(
        monitored_order=entry,
        checked_at=now,
        result=result.outcome.value,
        provider_status=result.provider_status[:50],
        message=result.message[:500],
        source=source,
    )
    observer().checked(entry.provider, result.outcome.value)
    if result.outcome.is_terminal:
        return finish(entry, result.outcome.value, result=result, source=source, now=now)
    if result.outcome is Outcome.PROCESSING:
        apply_processing(entry, result, source=source, now=now)
    return None


def _order_values(entry, external, internal, pin, message, now) -> dict[str, Any]:
    values: dict[str, Any] = {"completed_at": now, "last_sync_at": now}
    if external:
        values["external_status"] = external
    if internal:
        values["status"] = internal
    if pin:
        values["pin"] = pin
    if message:
        values["provider_message"] = message
    dispatched = orders.aware(entry.dispatched_at)
    if dispatched is not None:
        values["duration_ms"] = max(0, int((now - dispatched).total_seconds() * 1000))
    return values


def _send_signals(transition: Transition, signal: Signal) -> None:
    sent = [signal]
    if transition.external_status:
        sent.append(signals.order_status_changed)
    for signal in sent:
        send_robust(signal, transition.order_pk, transition=transition)
