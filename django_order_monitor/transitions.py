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
from django.utils import timezone
from django.utils.module_loading import import_string

from . import host, signals
from .adapters.base import Outcome, StatusResult
from .conf import app_settings
from .models import MonitoredOrder

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
    referans: str
    outcome: str
    external_status: str | None
    internal_status: str | None
    message: str
    source: str
    has_pin: bool
    at: dt.datetime

    def get_order(self):
        """The shop's order row, fresh from the database."""
        return host.base_queryset().get(pk=self.order_pk)


def apply_processing(entry: MonitoredOrder, result: StatusResult, *, source: str, now: dt.datetime) -> None:
    """Record a non-terminal answer on the shop's order (sync time, status, message).

    Only touches an order whose external status is still a dispatched word, so
    it never overwrites what the shop (or a terminal transition) wrote.
    """
    values: dict[str, Any] = {"last_sync_at": now}
    canonical = (app_settings.EXTERNAL_STATUS_VALUES or {}).get("processing")
    if canonical:
        values["external_status"] = canonical
    if result.message:
        values["provider_message"] = result.message
    host.write(entry.order_id, values, only_if_external_in=app_settings.DISPATCHED_STATUSES)


def finish(
    entry: MonitoredOrder,
    outcome: str,
    *,
    result: StatusResult | None = None,
    source: str,
    now: dt.datetime | None = None,
    message: str = "",
) -> Transition | None:
    """Move ``entry`` to a terminal state once; returns None if it already ended.

    ``outcome`` is ``"completed"``, ``"failed"`` or ``"timed_out"``. The shop's
    order gets the PIN, the canonical external and internal statuses,
    completed-at, last-sync-at and the duration; the terminal callback runs in
    the same transaction (so a refund commits with the transition or not at
    all); signals are sent after commit.
    """
    now = now or timezone.now()
    message = message or (result.message if result else "")
    state, values_key = _terminal_state(outcome)
    writes_order = state != State.STOPPED
    external = (app_settings.EXTERNAL_STATUS_VALUES or {}).get(values_key) if writes_order else None
    internal = (app_settings.INTERNAL_STATUS_VALUES or {}).get(values_key) if writes_order else None
    pin = result.pin if result is not None else None

    with transaction.atomic():
        won = (
            MonitoredOrder.objects.filter(pk=entry.pk, state__in=MonitoredOrder.ACTIVE_STATES)
            .update(
                state=state,
                stop_reason="deadline passed" if state == State.STOPPED else "",
                finished_at=now,
                next_check_at=None,
                lease_until=None,
                lease_token="",
                last_outcome=outcome,
                last_message=message[:500],
                provider_completed_at=now if result is not None else None,
                updated_at=now,
            )
        )
        if not won:
            logger.info(
                "Order %s already ended; %s answer from %s ignored", entry.order_id, outcome, source
            )
            return None
        if writes_order:
            host.write(entry.order_id, _order_values(entry, external, internal, pin, message, now))
        transition = Transition(
            order_pk=entry.order_id,
            monitored_order_id=entry.pk,
            provider=entry.provider,
            referans=entry.referans,
            outcome=outcome,
            external_status=external,
            internal_status=internal,
            message=message,
            source=source,
            has_pin=pin is not None,
            at=now,
        )
        if writes_order and app_settings.TERMINAL_CALLBACK:
            import_string(app_settings.TERMINAL_CALLBACK)(transition)
        transaction.on_commit(lambda: _send_signals(transition))

    logger.info(
        "Order %s %s (provider=%s referans=%s source=%s)",
        entry.order_id,
        outcome,
        entry.provider,
        entry.referans,
        source,
    )
    return transition


def apply_result(entry: MonitoredOrder, result: StatusResult, *, source: str, now: dt.datetime | None = None):
    """Apply any provider answer: terminal answers finish, others only sync.

    Returns the :class:`Transition` of a terminal change, else ``None``. A
    ``QUERY_ERROR`` result changes nothing on the order.
    """
    now = now or timezone.now()
    if result.outcome.is_terminal:
        return finish(entry, result.outcome.value, result=result, source=source, now=now)
    if result.outcome is Outcome.PROCESSING:
        apply_processing(entry, result, source=source, now=now)
    return None


def _terminal_state(outcome: str) -> tuple[str, str]:
    if outcome == "completed":
        return State.COMPLETED, "completed"
    if outcome == "failed":
        return State.FAILED, "failed"
    if outcome == "timed_out":
        if app_settings.TIMEOUT_ACTION == "stop":
            return State.STOPPED, "failed"
        return State.TIMED_OUT, "failed"
    raise ValueError(f"Not a terminal outcome: {outcome!r}")


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
    dispatched = host.aware(entry.dispatched_at)
    if dispatched is not None:
        values["duration_ms"] = max(0, int((now - dispatched).total_seconds() * 1000))
    return values


def _send_signals(transition: Transition) -> None:
    specific = {
        "completed": signals.order_completed,
        "failed": signals.order_failed,
        "timed_out": signals.order_timed_out,
    }.get(transition.outcome)
    sent = [specific] if specific is not None else []
    if transition.external_status:
        sent.append(signals.order_status_changed)
    for signal in sent:
        # send_robust: one failing receiver must not stop the others, nor undo the
        # transition that has already committed.
        for receiver, response in signal.send_robust(sender=MonitoredOrder, transition=transition):
            if isinstance(response, Exception):
                logger.error(
                    "Signal receiver %s failed for order %s",
                    getattr(receiver, "__qualname__", receiver),
                    transition.order_pk,
                    exc_info=(type(response), response, response.__traceback__),
                )
