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

from . import breaker, checking, etiquette, host, leases, policy
from .adapters.base import Outcome, StatusResult
from .checking import _WORKER_PREFIX, CheckReport, apply_answer, defer, paused_retry_at, stop_reason
from .exceptions import ProviderError, UnknownProviderError
from .models import MonitoredOrder, StatusCheck
from .monitoring import stop_monitoring
from .providers import get_provider

logger = logging.getLogger(__name__)

__all__ = ["check_batch", "check_with_peers"]

#: Orders per batch call when the adapter does not say.
DEFAULT_BATCH_SIZE = 50


def batch_size(provider: str) -> int:
    """How many orders one call may ask about; 1 for providers without a batch endpoint."""
    try:
        adapter = get_provider(provider)
    except UnknownProviderError:
        return 1
    return int(getattr(adapter, "batch_size", DEFAULT_BATCH_SIZE)) if adapter.supports_batch else 1


def check_with_peers(monitored_order_id: int, *, source: str = "poll") -> CheckReport:
    """The chained task's check: alone, or, for a batch provider, with its other due orders.

    The peers' own tasks later find them not due and do nothing, so grouping
    never doubles a check.
    """
    now = timezone.now()
    entry = leases.claim(monitored_order_id, now=now)
    if entry is None:
        return CheckReport(monitored_order_id, ran=False, skipped_reason=checking.why_skipped(monitored_order_id, now))
    size = batch_size(entry.provider)
    if size <= 1:
        return checking.check_claimed(entry, now, source)
    claimed = {entry.pk: entry}
    try:
        peers = (
            MonitoredOrder.objects.active()
            .filter(leases.free(now), provider=entry.provider, next_check_at__lte=now + leases.EARLY_TOLERANCE)
            .exclude(pk=monitored_order_id)
            .order_by("next_check_at")
            .values_list("pk", flat=True)[: size - 1]
        )
        for pk in peers:
            if (peer := leases.claim(pk, now=now)) is not None:
                claimed[pk] = peer
    except Exception:
        _release_all(claimed)
        raise
    return _check_claimed(claimed, now, source)[entry.pk]


def check_batch(monitored_order_ids, *, source: str = "poll", force: bool = False) -> list[CheckReport]:
    """Check the given followed orders that are due (or ``force``) and free; one report per id.

    Orders of one provider are asked about in one ``fetch_statuses`` call (the
    adapter splits it into calls of its own batch size).
    """
    now = timezone.now()
    ids = list(dict.fromkeys(monitored_order_ids))
    claimed = {pk: entry for pk in ids if (entry := leases.claim(pk, now=now, force=force)) is not None}
    reports = _check_claimed(claimed, now, source)
    skipped = "not due, not active or being checked"
    return [reports.get(pk) or CheckReport(pk, ran=False, skipped_reason=skipped) for pk in ids]


def _check_claimed(claimed: dict[int, MonitoredOrder], now: dt.datetime, source: str) -> dict[int, CheckReport]:
    """Check orders whose leases this worker holds; a report per order. Releases every lease."""
    reports: dict[int, CheckReport] = {}
    pending = dict(claimed)
    try:
        order_statuses = host.statuses_bulk([entry.order_id for entry in claimed.values()])
        groups: dict[str, list[MonitoredOrder]] = defaultdict(list)
        for pk, entry in claimed.items():
            reason = stop_reason(order_statuses.get(entry.order_id))
            if reason:
                stop_monitoring(entry, reason)
                pending.pop(pk)
                reports[pk] = CheckReport(pk, ran=False, skipped_reason=reason, state=MonitoredOrder.State.STOPPED)
                continue
            groups[entry.provider].append(entry)
        next_policy = policy.get_policy()
        for provider, group in groups.items():
            paused = breaker.paused_until(provider, now)
            try:
                if paused is not None:
                    raise etiquette.RateLimited(f"provider {provider} paused until {paused.isoformat()}")
                answers, error = _ask(provider, group, source)
            except etiquette.RateLimited as err:
                at = paused_retry_at(paused) if paused is not None else now + dt.timedelta(seconds=5)
                for entry in group:
                    reports[entry.pk] = defer(entry, pending.pop(entry.pk).lease_token, at, str(err))
                continue
            for entry in group:
                result, why = answers.get(entry.referans), error
                if result is None and not why:
                    why = "query error: no answer for the order"
                elif result is not None and result.outcome is Outcome.QUERY_ERROR:
                    why = f"query error: {result.message or result.provider_status or 'no detail'}"
                token = pending.pop(entry.pk).lease_token
                reports[entry.pk] = apply_answer(entry, token, now, result, why, source, next_policy)
    except Exception:
        _release_all(pending)
        raise
    return reports


def _release_all(claimed: dict[int, MonitoredOrder]) -> None:
    for pk, entry in claimed.items():
        leases.release(pk, entry.lease_token, last_error="internal error; see the consumer's log")


def _ask(provider: str, group: list[MonitoredOrder], source: str) -> tuple[dict[str, StatusResult], str]:
    """One batch call for ``group``; records one StatusCheck per order. Returns (answers, error)."""
    answers: dict[str, StatusResult] = {}
    error = ""
    with etiquette.call_slot(provider):  # one batch call is one call for the provider's etiquette
        started = timezone.now()
        clock = time.perf_counter()
        try:
            answers = dict(get_provider(provider).fetch_statuses([entry.referans for entry in group]))
        except UnknownProviderError as err:
            error = str(err)
        except ProviderError as err:
            error = f"{type(err).__name__}: {err}"  # built without credentials or PINs
            breaker.record_failure(provider, error)
        else:
            breaker.record_success(provider)
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
    StatusCheck.objects.bulk_create(checks)  # one statement for the whole group
    return answers, error
