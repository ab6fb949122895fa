"""Checking many orders with one provider call (for adapters with ``supports_batch``).

:func:`check_batch` does for a group of orders what ``checking.check_order``
does for one: claim each order's lease, ask the provider (here once per
provider, through ``fetch_statuses``), record one StatusCheck per order, apply
each answer through ``transitions`` and plan each next check with the policy.
No transaction is open during the provider call; a failed call is a failed
query for every order in it, never a failed order.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict

from django.utils import timezone

from . import host, leases, policy, scheduling, transitions
from .adapters.base import Outcome, StatusResult
from .checking import _WORKER_PREFIX, CheckReport, _ended_elsewhere, _past_final_grace
from .exceptions import ProviderError, UnknownProviderError
from .models import MonitoredOrder, StatusCheck
from .monitoring import stop_monitoring
from .providers import get_provider

logger = logging.getLogger(__name__)

__all__ = ["check_batch"]


def check_batch(monitored_order_ids, *, source: str = "poll", force: bool = False) -> list[CheckReport]:
    """Check the given followed orders that are due (or ``force``) and free; one report per id.

    Orders of one provider are asked about in one ``fetch_statuses`` call (the
    adapter splits it into calls of its own batch size).
    """
    now = timezone.now()
    ids = list(dict.fromkeys(monitored_order_ids))
    tokens = {pk: token for pk in ids if (token := leases.claim(pk, now=now, force=force)) is not None}
    reports = {pk: CheckReport(pk, ran=False, skipped_reason="not due, not active or being checked") for pk in ids if pk not in tokens}
    entries = MonitoredOrder.objects.in_bulk(list(tokens))
    pending = dict(tokens)
    try:
        orders = host.base_queryset().in_bulk([entry.order_id for entry in entries.values()])
        groups: dict[str, list[MonitoredOrder]] = defaultdict(list)
        for pk, entry in entries.items():
            order = orders.get(entry.order_id)
            reason = "the order no longer exists" if order is None else ("the order ended outside the monitor" if _ended_elsewhere(order) else "")
            if reason:
                stop_monitoring(entry, reason)
                pending.pop(pk)
                reports[pk] = CheckReport(pk, ran=False, skipped_reason=reason, state=MonitoredOrder.State.STOPPED)
                continue
            groups[entry.provider].append(entry)
        next_policy = policy.get_policy()
        for provider, group in groups.items():
            answers, error = _ask(provider, group, source)
            for entry in group:
                result, why = answers.get(entry.referans), error
                if result is None and not why:
                    why = "query error: no answer for the order"
                elif result is not None and result.outcome is Outcome.QUERY_ERROR:
                    why = f"query error: {result.message or result.provider_status or 'no detail'}"
                reports[entry.pk] = _apply(entry, pending.pop(entry.pk), now, result, why, source, next_policy)
    except Exception:
        for pk, token in pending.items():
            leases.release(pk, token, last_error="internal error; see the consumer's log")
        raise
    return [reports[pk] for pk in ids]


def _ask(provider: str, group: list[MonitoredOrder], source: str) -> tuple[dict[str, StatusResult], str]:
    """One batch call for ``group``; records one StatusCheck per order. Returns (answers, error)."""
    started = timezone.now()
    clock = time.perf_counter()
    answers: dict[str, StatusResult] = {}
    error = ""
    try:
        answers = dict(get_provider(provider).fetch_statuses([entry.referans for entry in group]))
    except UnknownProviderError as err:
        error = str(err)
    except ProviderError as err:
        error = f"{type(err).__name__}: {err}"  # built without credentials or PINs
    latency = int((time.perf_counter() - clock) * 1000)
    worker = f"{_WORKER_PREFIX}:{threading.get_ident()}"[:100]
    checks = []
    for entry in group:
        result = answers.get(entry.referans)
        if result is None:
            kind = StatusCheck.Result.TRANSPORT_ERROR if error else StatusCheck.Result.QUERY_ERROR
            message = error or "no answer for the order"
        else:
            kind = result.outcome.value
            message = result.message
        checks.append(
            StatusCheck(
                monitored_order=entry, checked_at=started, latency_ms=latency, result=kind,
                provider_status=(result.provider_status if result else "")[:50], message=message[:500],
                source=source, worker=worker,
            )
        )
    StatusCheck.objects.bulk_create(checks)
    return answers, error


def _apply(entry: MonitoredOrder, token: str, now: dt.datetime, result: StatusResult | None, error: str, source: str, next_policy) -> CheckReport:
    """checking._check_claimed from the answer on: finish, sync or record the error, plan the next check."""
    if result is not None and result.outcome.is_terminal:
        transitions.finish(entry, result.outcome.value, result=result, source=source)
        return _report(entry, result, "", entry_state=result.outcome.value)
    final = now >= entry.deadline_at
    answered = result is not None and result.outcome is Outcome.PROCESSING
    if final and (answered or _past_final_grace(entry, now)):
        transitions.finish(entry, "timed_out", result=None, source="deadline", message="no final answer by the deadline")
        return _report(entry, result, error, entry_state=MonitoredOrder.objects.filter(pk=entry.pk).values_list("state", flat=True).first() or "")
    if answered:
        transitions.apply_processing(entry, result, source=source, now=now)
        attempts = entry.attempts + 1
        nxt = next_policy.after_answer(attempts, entry.deadline_at, now, dispatched_at=entry.dispatched_at, provider=entry.provider)
        changes = {"attempts": attempts, "error_streak": 0, "last_error": ""}
    else:
        streak = entry.error_streak + 1
        nxt = next_policy.after_error(streak, entry.attempts, entry.deadline_at, now)
        changes = {"error_streak": streak, "errors": entry.errors + 1, "last_error": error[:500]}
        logger.warning(
            "Status query failed for order %s (provider=%s referans=%s, %s in a row): %s",
            entry.order_id, entry.provider, entry.referans, streak, error,
        )
    if result is not None:
        changes.update(last_provider_status=result.provider_status[:50], last_message=result.message[:500])
    leases.release(
        entry.pk, token, next_check_at=nxt.at, next_check_by=nxt.by, last_checked_at=now,
        last_outcome=result.outcome.value if result is not None else StatusCheck.Result.TRANSPORT_ERROR, **changes,
    )
    if nxt.by == MonitoredOrder.Driver.TASK:
        scheduling.enqueue_check(entry.pk, nxt.at)
    report = _report(entry, result, error, entry_state=MonitoredOrder.State.WATCHING)
    return CheckReport(**{**report.__dict__, "next_check_at": nxt.at, "next_check_by": nxt.by})


def _report(entry: MonitoredOrder, result: StatusResult | None, error: str, *, entry_state: str) -> CheckReport:
    return CheckReport(
        monitored_order_id=entry.pk,
        ran=True,
        result=result.outcome.value if result is not None else ("transport_error" if error else ""),
        provider_status=result.provider_status if result is not None else "",
        message=result.message if result is not None else error,
        state=entry_state,
    )
