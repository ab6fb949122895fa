"""Checking one order: claim it, ask the provider, apply the answer, plan the next check.

The provider call and its history rows are :mod:`.asking`; this module routes
each order through it and applies, defers or counts what came back.
No database transaction is open while the provider is asked. A failed query
(timeout, HTTP error, garbage, non-OK reply) is recorded and retried with
backoff; it never fails the order and never uses up its quick attempts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from ..conf import app_settings
from ..exceptions import UnknownProviderError
from ..models import MonitoredOrder, StatusCheck
from ..providers import breaker, get_provider, ratelimit
from ..providers.adapters.base import Outcome, StatusResult
from ..shop import orders
from . import asking, budget, leases, policy, scheduling, transitions
from .following import stop_monitoring
from .logfields import about
from .observing import observer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckReport:
    """What one call of :func:`check_order` did. Never holds the PIN."""

    monitored_order_id: int
    ran: bool
    skipped_reason: str = ""
    result: str = ""
    provider_status: str = ""
    message: str = ""
    state: str = ""
    next_check_at: dt.datetime | None = None
    next_check_by: str = ""


def check_order(monitored_order_id: int, *, force: bool = False, source: str = "poll") -> CheckReport:
    """Check one followed order if it is due (or ``force``) and nobody else is.

    Safe to call any number of times, from any number of workers: a call that
    cannot take the lease returns a report with ``ran=False`` and does nothing.
    The next task-driven check is handed to the scheduling port.
    """
    now = timezone.now()
    entry = leases.claim(monitored_order_id, now=now, force=force)
    if entry is None:
        return CheckReport(monitored_order_id, ran=False, skipped_reason=why_skipped(monitored_order_id, now))
    report = check_claimed({entry.pk: entry}, now, source)[entry.pk]
    scheduling.follow_up([report])
    return report


def check_claimed(claimed: dict[int, MonitoredOrder], now: dt.datetime, source: str) -> dict[int, CheckReport]:
    """The check pipeline, for orders whose leases this worker holds; one report per order.

    A single order is a group of one. Orders the shop has ended stop; the rest
    are asked about per provider (one ``fetch_statuses`` call for a batch
    provider), each answer passes the gate and is applied. A paused or
    rate-limited provider defers its orders, and so does its call budget
    (scheduled checks only, see :mod:`.budget`). Any unexpected error is a failed
    check of the orders it hit. Every lease is released. Nothing is scheduled:
    the reports say what is due next.
    """
    reports: dict[int, CheckReport] = {}
    pending = dict(claimed)
    try:
        _drop_ended(pending, reports)
        next_policy = policy.get_policy()
        for provider, group in _by_provider(pending.values()).items():
            deferred_to, reason = _deferral(provider, now)
            if deferred_to is None:
                if source == "poll":  # scheduled checks only: an operator's is asked now, whatever the budget
                    group = _afford(provider, group, pending, reports, now, next_policy)
                    if not group:
                        continue
                try:
                    answers = asking.ask(provider, group, source)
                except ratelimit.RateLimited as err:
                    deferred_to, reason = now + _rate_limited_wait(), str(err)
                    observer().rate_limited(provider)
            if deferred_to is not None:
                for entry in group:
                    reports[entry.pk] = defer(entry, pending.pop(entry.pk).lease_token, deferred_to, reason)
                continue
            for entry in group:
                result, error = answers[entry.pk]
                token = pending.pop(entry.pk).lease_token
                try:
                    reports[entry.pk] = apply_answer(entry, token, now, result, error, source, next_policy)
                except Exception as err:
                    reports[entry.pk] = failed_unexpectedly(entry, token, now, err, source)
    except Exception as err:
        for entry in list(pending.values()):
            reports[entry.pk] = failed_unexpectedly(entry, pending.pop(entry.pk).lease_token, now, err, source)
    return reports


def _drop_ended(pending: dict[int, MonitoredOrder], reports: dict[int, CheckReport]) -> None:
    """Stop following (and drop from ``pending``) the orders the shop has ended or deleted."""
    entries = list(pending.values())
    order_statuses: Mapping[Any, dict[str, Any] | None]
    if len(entries) == 1:
        order_statuses = {entries[0].order_id: orders.statuses(entries[0].order_id)}
    else:
        order_statuses = orders.statuses_bulk([entry.order_id for entry in entries])
    for entry in entries:
        reason = stop_reason(order_statuses.get(entry.order_id))
        if reason:
            stop_monitoring(entry, reason)
            pending.pop(entry.pk)
            reports[entry.pk] = CheckReport(entry.pk, ran=False, skipped_reason=reason, state=MonitoredOrder.State.STOPPED)


def _by_provider(entries) -> dict[str, list[MonitoredOrder]]:
    groups: dict[str, list[MonitoredOrder]] = {}
    for entry in entries:
        groups.setdefault(entry.provider, []).append(entry)
    return groups


def _deferral(provider: str, now: dt.datetime) -> tuple[dt.datetime | None, str]:
    """When to check instead, and why, if the provider's breaker has paused it."""
    paused = breaker.paused_until(provider, now)
    if paused is None:
        return None, ""
    return paused_retry_at(paused), f"provider {provider} paused until {paused.isoformat()}"


def _rate_limited_wait() -> dt.timedelta:
    # Spread, so the deferred checks do not all come back at once, and never a
    # tight loop: at least the budget's shortest put-off.
    shortest = budget.option("MIN_DEFER")
    return dt.timedelta(seconds=random.uniform(shortest, 2 * shortest))


def _asks_in_one_call(provider: str) -> bool:
    try:
        return bool(get_provider(provider).supports_batch)
    except UnknownProviderError:
        return False


def _afford(
    provider: str,
    group: list[MonitoredOrder],
    pending: dict[int, MonitoredOrder],
    reports: dict[int, CheckReport],
    now: dt.datetime,
    next_policy: policy.Policy,
) -> list[MonitoredOrder]:
    """The orders of ``group`` the provider's call budget affords now; the others are put off.

    A batch provider's group is one call, admitted on its likeliest order's bid.
    """
    spending = budget.for_provider(provider)
    if spending is None:
        return group
    at = now.timestamp()

    def asking(entry: MonitoredOrder) -> tuple[budget.ChanceAt, float]:
        since = entry.last_checked_at or entry.dispatched_at

        def chance_at(moment: float) -> float:
            when = dt.datetime.fromtimestamp(moment, tz=dt.timezone.utc)
            return next_policy.find_chance(entry.dispatched_at, since, when, provider, entry.product)

        return chance_at, since.timestamp()

    if len(group) > 1 and _asks_in_one_call(provider):
        # One call asks about them all: admitted on its likeliest order's bid.
        asks = [asking(entry) for entry in group]
        best = max(asks, key=lambda ask: spending.bid(ask[0](at), at - ask[1]))
        wait = spending.admit(*best, at)
        waits = {entry.pk: wait for entry in group}
    else:
        waits = {entry.pk: spending.admit(*asking(entry), at) for entry in group}
    afforded = []
    for entry in group:
        wait = waits[entry.pk]
        if wait is None:
            afforded.append(entry)
            continue
        until = now + dt.timedelta(seconds=wait)
        reports[entry.pk] = defer(entry, pending.pop(entry.pk).lease_token, until, f"provider {provider}'s call budget is spent")
        observer().budget_deferred(provider)
    return afforded


def stop_reason(order_statuses: dict[str, Any] | None) -> str:
    """Why a claimed order must no longer be followed ("" when it must be).

    ``order_statuses`` is what ``orders.statuses`` read (None: the order is gone).
    """
    if order_statuses is None:
        return "the order no longer exists"
    # In shadow mode the monitor follows each order to its own decision, so that
    # order_monitor_shadow_report can compare it with the one the shop made.
    if not orders.is_open(order_statuses) and not app_settings.SHADOW:
        return transitions.ENDED_OUTSIDE
    return ""


def paused_retry_at(paused_until: dt.datetime) -> dt.datetime:
    # Spread the deferred checks over the next cool-down so they do not all hit
    # the provider the moment it comes back.
    return paused_until + dt.timedelta(seconds=random.uniform(0, float(app_settings.BREAKER_COOLDOWN)))


def apply_answer(
    entry: MonitoredOrder,
    token: str,
    now: dt.datetime,
    result: StatusResult | None,
    error: str,
    source: str,
    next_policy: policy.Policy | None = None,
    outcome: str = "",
) -> CheckReport:
    """After the provider was asked: finish, sync or record the failure, and plan the next check.

    ``result`` has passed the gate; it is None after a failed call (``error``
    says which, ``outcome`` overrides the recorded ``transport_error``).
    Releases the lease.
    """
    next_policy = next_policy or policy.get_policy()
    if result is not None and result.outcome.is_terminal:
        transitions.finish(entry, result.outcome.value, result=result, source=source, now=now)
        return _report(entry, result=result)

    answered = result is not None and result.outcome is Outcome.PROCESSING
    if now >= entry.deadline_at and (answered or _past_final_grace(entry, now)):
        transitions.finish(entry, "timed_out", result=None, source="deadline", message="no final answer by the deadline")
        return _report(entry, result=result, error=error)

    if answered and result is not None:
        transitions.apply_processing(entry, result, source=source, now=now)
        answered_checks = entry.answered_checks + 1
        nxt = next_policy.after_answer(
            answered_checks, entry.deadline_at, now, dispatched_at=entry.dispatched_at, provider=entry.provider,
            product=entry.product,
        )
        changes = {"answered_checks": answered_checks, "consecutive_failed_checks": 0, "last_error": ""}
    else:
        streak = entry.consecutive_failed_checks + 1
        nxt = next_policy.after_error(streak, entry.answered_checks, entry.deadline_at, now)
        changes = {"consecutive_failed_checks": streak, "failed_checks": entry.failed_checks + 1, "last_error": error[:500]}
        if outcome != StatusCheck.Result.INTERNAL_ERROR:
            logger.warning(
                "Status query failed for order %s (provider=%s reference=%s, %s in a row): %s",
                entry.order_id,
                entry.provider,
                entry.reference,
                streak,
                error,
                extra=about(entry),
            )
    if result is not None:
        changes.update(last_provider_status=result.provider_status[:50], last_message=result.message[:500])
    last_outcome = result.outcome.value if result is not None else (outcome or StatusCheck.Result.TRANSPORT_ERROR)
    leases.release(
        entry.pk,
        token,
        next_check_at=nxt.at,
        next_check_by=nxt.by,
        last_checked_at=now,
        last_outcome=last_outcome,
        **changes,
    )
    # Built from what we just wrote: no re-read of the row on the hot path.
    return CheckReport(
        monitored_order_id=entry.pk,
        ran=True,
        result=last_outcome,
        provider_status=result.provider_status if result is not None else "",
        message=result.message if result is not None else error,
        state=MonitoredOrder.State.WATCHING,
        next_check_at=nxt.at,
        next_check_by=nxt.by,
    )


def failed_unexpectedly(entry: MonitoredOrder, token: str, now: dt.datetime, err: BaseException, source: str) -> CheckReport:
    """Count an unexpected error (database, a shop callback, a bad setting) as a failed check.

    The order gets a history row, its error streak and backoff, and the
    deadline still ends it: it never loops unnoticed. Logged once per streak,
    with the error's type and place only (a database error's text can quote a PIN).
    """
    where = _innermost_frame(err)
    error = f"internal error: {type(err).__name__} at {where}; see the consumer's log"
    if entry.last_outcome != StatusCheck.Result.INTERNAL_ERROR:
        logger.error(
            "Unexpected %s at %s while checking order %s (provider=%s reference=%s); counted as a failed check",
            type(err).__name__,
            where,
            entry.order_id,
            entry.provider,
            entry.reference,
            extra=about(entry),
        )
    StatusCheck.objects.create(
        monitored_order=entry, checked_at=now, result=StatusCheck.Result.INTERNAL_ERROR, message=error[:500],
        source=source, worker=asking.worker(),
    )
    observer().checked(entry.provider, StatusCheck.Result.INTERNAL_ERROR)
    try:
        return apply_answer(entry, token, now, None, error, source, outcome=StatusCheck.Result.INTERNAL_ERROR)
    except Exception:
        leases.release(entry.pk, token, last_error=error[:500])
        raise


def _innermost_frame(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return "unknown place"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno}"


def defer(entry: MonitoredOrder, token: str, at: dt.datetime, reason: str) -> CheckReport:
    """Put the check off without asking the provider and without using an attempt."""
    leases.release(entry.pk, token, next_check_at=at)
    logger.info("Check of order %s deferred to %s: %s", entry.order_id, at.isoformat(), reason, extra=about(entry))
    return CheckReport(
        entry.pk,
        ran=False,
        skipped_reason=f"deferred: {reason}",
        state=MonitoredOrder.State.WATCHING,
        next_check_at=at,
        next_check_by=entry.next_check_by,
    )


def _past_final_grace(entry: MonitoredOrder, now: dt.datetime) -> bool:
    # A provider outage at the deadline must not time orders out: keep asking
    # for a real final answer for FINAL_CHECK_GRACE after the deadline.
    return now >= entry.deadline_at + dt.timedelta(seconds=float(app_settings.FINAL_CHECK_GRACE))


def why_skipped(monitored_order_id: int, now: dt.datetime) -> str:
    """Why an order could not be claimed (read after the fact, for the report)."""
    entry = MonitoredOrder.objects.filter(pk=monitored_order_id).first()
    if entry is None:
        return "not followed"
    if not entry.is_active:
        return f"already {entry.state}"
    if entry.lease_until and entry.lease_until >= now:
        return "being checked by another worker"
    return f"not due until {entry.next_check_at.isoformat() if entry.next_check_at else 'never'}"


def _report(entry: MonitoredOrder, *, result: StatusResult | None, error: str = "") -> CheckReport:
    """Report of a check that ended the order (re-reads the row the transition wrote)."""
    entry.refresh_from_db()
    return CheckReport(
        monitored_order_id=entry.pk,
        ran=True,
        result=(result.outcome.value if result is not None else ("transport_error" if error else "")),
        provider_status=result.provider_status if result is not None else "",
        message=(result.message if result is not None else error),
        state=entry.state,
        next_check_at=entry.next_check_at,
        next_check_by=entry.next_check_by,
    )
