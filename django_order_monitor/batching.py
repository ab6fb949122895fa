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
    provider = MonitoredOrder.objects.filter(pk=monitored_order_id).values_list("provider", flat=True).first()
    size = batch_size(provider) if provider else 1
    if size <= 1:
        return checking.check_order(monitored_order_id, source=source)
    now = timezone.now()
    peers = (
        MonitoredOrder.objects.active()
        .filter(leases.free(now), provider=provider, next_check_at__lte=now + leases.EARLY_TOLERANCE)
        .exclude(pk=monitored_order_id)
        .order_by("next_check_at")
        .values_list("pk", flat=True)[: size - 1]
    )
    return check_batch([monitored_order_id, *peers], source=source)[0]


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
            reason = stop_reason(orders.get(entry.order_id))
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
                    reports[entry.pk] = defer(entry, pending.pop(entry.pk), at, str(err))
                continue
            for entry in group:
                result, why = answers.get(entry.referans), error
                if result is None and not why:
                    why = "query error: no answer for the order"
                elif result is not None and result.outcome is Outcome.QUERY_ERROR:
                    why = f"query error: {result.message or result.provider_status or 'no detail'}"
                reports[entry.pk] = apply_answer(entry, pending.pop(entry.pk), now, result, why, source, next_policy)
    except Exception:
        for pk, token in pending.items():
            leases.release(pk, token, last_error="internal error; see the consumer's log")
        raise
    return [reports[pk] for pk in ids]


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
    StatusCheck.objects.bulk_create(checks)
    return answers, error
