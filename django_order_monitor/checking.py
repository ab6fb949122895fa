"""Checking one order: claim it, ask the provider, apply the answer, plan the next check.

No database transaction is open while the provider is asked. A failed query
(timeout, HTTP error, garbage, non-OK reply) is recorded and retried with
backoff; it never fails the order and never uses up its quick attempts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from . import breaker, etiquette, host, leases, policy, scheduling, sql, transitions
from .adapters.base import Outcome, StatusResult
from .conf import app_settings
from .exceptions import ProviderError, UnknownProviderError
from .models import MonitoredOrder, StatusCheck
from .monitoring import stop_monitoring
from .providers import get_provider

logger = logging.getLogger(__name__)

_WORKER_PREFIX = f"{socket.gethostname()}:{os.getpid()}"


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
    """
    now = timezone.now()
    entry = leases.claim(monitored_order_id, now=now, force=force)
    if entry is None:
        return CheckReport(monitored_order_id, ran=False, skipped_reason=why_skipped(monitored_order_id, now))
    return check_claimed(entry, now, source)


def check_claimed(entry: MonitoredOrder, now: dt.datetime, source: str) -> CheckReport:
    """Check an order whose lease this worker holds (``entry`` as returned by ``leases.claim``)."""
    token = entry.lease_token
    try:
        return _check_claimed(entry, token, now, source)
    except Exception:
        # Unexpected (database, a shop callback): free the order for a later
        # retry instead of leaving it leased, then let the task log it.
        leases.release(entry.pk, token, last_error="internal error; see the consumer's log")
        raise


def _check_claimed(entry: MonitoredOrder, token: str, now: dt.datetime, source: str) -> CheckReport:
    reason = stop_reason(host.statuses(entry.order_id))
    if reason:
        stop_monitoring(entry, reason)
        return CheckReport(entry.pk, ran=False, skipped_reason=reason, state=MonitoredOrder.State.STOPPED)

    paused = breaker.paused_until(entry.provider, now)
    if paused is not None:
        return defer(entry, token, paused_retry_at(paused), f"provider {entry.provider} paused until {paused.isoformat()}")
    try:
        result, error = _ask_provider(entry, source)
    except etiquette.RateLimited as err:
        return defer(entry, token, now + dt.timedelta(seconds=random.uniform(1, 5)), str(err))
    return apply_answer(entry, token, now, result, error, source)


def stop_reason(order_statuses: dict[str, Any] | None) -> str:
    """Why a claimed order must no longer be followed ("" when it must be).

    ``order_statuses`` is what ``host.statuses`` read (None: the order is gone).
    """
    if order_statuses is None:
        return "the order no longer exists"
    if _ended_elsewhere(order_statuses):
        return "the order ended outside the monitor"
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
) -> CheckReport:
    """After the provider was asked: finish, sync or record the failure, plan the next check.

    Shared by single checks and batch checks; ``result`` is None after a
    transport failure (``error`` says which). Releases the lease.
    """
    next_policy = next_policy or policy.get_policy()
    if result is not None and result.outcome.is_terminal:
        transitions.finish(entry, result.outcome.value, result=result, source=source)
        return _report(entry, result=result)

    answered = result is not None and result.outcome is Outcome.PROCESSING
    if now >= entry.deadline_at and (answered or _past_final_grace(entry, now)):
        transitions.finish(entry, "timed_out", result=None, source="deadline", message="no final answer by the deadline")
        return _report(entry, result=result, error=error)

    if answered:
        transitions.apply_processing(entry, result, source=source, now=now)
        attempts = entry.attempts + 1
        nxt = next_policy.after_answer(
            attempts, entry.deadline_at, now, dispatched_at=entry.dispatched_at, provider=entry.provider, product=entry.product
        )
        changes = {"attempts": attempts, "error_streak": 0, "last_error": ""}
    else:
        streak = entry.error_streak + 1
        nxt = next_policy.after_error(streak, entry.attempts, entry.deadline_at, now)
        changes = {"error_streak": streak, "errors": entry.errors + 1, "last_error": error[:500]}
        logger.warning(
            "Status query failed for order %s (provider=%s referans=%s, %s in a row): %s",
            entry.order_id,
            entry.provider,
            entry.referans,
            streak,
            error,
        )
    if result is not None:
        changes.update(last_provider_status=result.provider_status[:50], last_message=result.message[:500])
    leases.release(
        entry.pk,
        token,
        next_check_at=nxt.at,
        next_check_by=nxt.by,
        last_checked_at=now,
        last_outcome=result.outcome.value if result is not None else StatusCheck.Result.TRANSPORT_ERROR,
        **changes,
    )
    if nxt.by == MonitoredOrder.Driver.TASK:
        scheduling.enqueue_check(entry.pk, nxt.at)
    # Built from what we just wrote: no re-read of the row on the hot path.
    return CheckReport(
        monitored_order_id=entry.pk,
        ran=True,
        result=result.outcome.value if result is not None else "transport_error",
        provider_status=result.provider_status if result is not None else "",
        message=result.message if result is not None else error,
        state=MonitoredOrder.State.WATCHING,
        next_check_at=nxt.at,
        next_check_by=nxt.by,
    )


def defer(entry: MonitoredOrder, token: str, at: dt.datetime, reason: str) -> CheckReport:
    """Put the check off without asking the provider and without using an attempt."""
    leases.release(entry.pk, token, next_check_at=at)
    if entry.next_check_by == MonitoredOrder.Driver.TASK:
        scheduling.enqueue_check(entry.pk, at)
    logger.info("Check of order %s deferred to %s: %s", entry.order_id, at.isoformat(), reason)
    return CheckReport(
        entry.pk,
        ran=False,
        skipped_reason=f"deferred: {reason}",
        state=MonitoredOrder.State.WATCHING,
        next_check_at=at,
        next_check_by=entry.next_check_by,
    )


def _ask_provider(entry: MonitoredOrder, source: str) -> tuple[StatusResult | None, str]:
    """Ask the provider (within its etiquette) and record the call; returns (result, error).

    Raises :class:`etiquette.RateLimited` when no call slot frees up in time.
    """
    result: StatusResult | None = None
    error = ""
    transport_failed = False
    kind = StatusCheck.Result.TRANSPORT_ERROR
    with etiquette.call_slot(entry.provider):
        started = timezone.now()
        clock = time.perf_counter()
        try:
            result = get_provider(entry.provider).fetch_status(entry.referans)
        except UnknownProviderError as err:
            error = str(err)
        except ProviderError as err:
            # ProviderError messages are built without credentials or PINs.
            error = f"{type(err).__name__}: {err}"
            transport_failed = True
        latency_ms = int((time.perf_counter() - clock) * 1000)
    if transport_failed:
        breaker.record_failure(entry.provider, error)
    elif result is not None:
        breaker.record_success(entry.provider)
        kind = result.outcome.value
        if result.outcome is Outcome.QUERY_ERROR:
            error = f"query error: {result.message or result.provider_status or 'no detail'}"
    sql.insert(StatusCheck(
        monitored_order=entry,
        checked_at=started,
        latency_ms=latency_ms,
        result=kind,
        provider_status=(result.provider_status if result else "")[:50],
        message=(result.message if result and not error else error)[:500],
        source=source,
        worker=f"{_WORKER_PREFIX}:{threading.get_ident()}"[:100],
    ))
    return result, error


def _past_final_grace(entry: MonitoredOrder, now: dt.datetime) -> bool:
    # A provider outage at the deadline must not time orders out: keep asking
    # for a real final answer for FINAL_CHECK_GRACE after the deadline.
    return now >= entry.deadline_at + dt.timedelta(seconds=float(app_settings.FINAL_CHECK_GRACE))


def _ended_elsewhere(order_statuses: dict[str, Any]) -> bool:
    """True when the shop (an operator, another system) already ended the order."""
    internal_terminal = {v for v in (app_settings.INTERNAL_STATUS_VALUES or {}).values() if v}
    status = order_statuses.get("status")
    if status is not None and status in internal_terminal:
        return True
    words = list(app_settings.SUCCESS_STATUSES) + list(app_settings.FAILURE_STATUSES)
    return host.matches(order_statuses.get("external_status"), words)


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
