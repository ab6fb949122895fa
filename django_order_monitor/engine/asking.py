"""Asking a provider about a group of claimed orders, and recording each answer in the history.

One call per group (``fetch_status`` for one order, ``fetch_statuses`` for
more), within the provider's rate limit; its outcome feeds the breaker. Every
order gets one :class:`StatusCheck` row, written before the answer is applied.
No database transaction is open while the provider is asked.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from django.utils import timezone

from ..exceptions import ProviderError, UnknownProviderError
from ..models import MonitoredOrder, StatusCheck
from ..providers import breaker, get_provider, ratelimit
from ..providers.adapters.base import Outcome, StatusResult
from . import gate
from .observing import observer

_WORKER_PREFIX = f"{socket.gethostname()}:{os.getpid()}"


def ask(provider: str, group: list[MonitoredOrder], source: str) -> dict[int, tuple[StatusResult | None, str]]:
    """One provider call for ``group`` (within its rate limit); records one StatusCheck per order.

    Returns, per ledger id, the answer as it passed the gate (None after a
    failed call) and the error. Raises :class:`ratelimit.RateLimited` when no
    call slot frees up in time.
    """
    answers: dict[str, StatusResult] = {}
    error = ""
    transport_failed = False
    called = False
    with ratelimit.call_slot(provider):  # a batch call is one call for the provider's rate limit
        started = timezone.now()
        clock = time.perf_counter()
        try:
            adapter = get_provider(provider)
            called = True
            if len(group) == 1:
                answers = {group[0].reference: adapter.fetch_status(group[0].reference)}
            else:
                answers = dict(adapter.fetch_statuses([entry.reference for entry in group]))
        except UnknownProviderError as err:
            error = str(err)
        except ProviderError as err:
            # ProviderError messages are built without credentials or PINs.
            error = f"{type(err).__name__}: {err}"
            transport_failed = True
        seconds = time.perf_counter() - clock
        latency_ms = int(seconds * 1000)
    if called:
        observer().provider_called(provider, seconds)
    if transport_failed and breaker.record_failure(provider, error):
        observer().breaker_opened(provider)
    elif answers:
        breaker.record_success(provider)
    outcomes: dict[int, tuple[StatusResult | None, str]] = {}
    checks = []
    this_worker = worker()
    for entry in group:
        result = answers.get(entry.reference)
        kind: str
        if result is None:
            why = error or "query error: no answer for the order"
            kind = StatusCheck.Result.TRANSPORT_ERROR if error else StatusCheck.Result.QUERY_ERROR
        else:
            result = gate.admit(result)
            kind = result.outcome.value
            why = ""
            if result.outcome is Outcome.QUERY_ERROR:
                why = f"query error: {result.message or result.provider_status or 'no detail'}"
        outcomes[entry.pk] = (result, why)
        checks.append(StatusCheck(
            monitored_order=entry,
            checked_at=started,
            latency_ms=latency_ms,
            result=kind,
            provider_status=(result.provider_status if result else "")[:50],
            message=(result.message if result is not None and not why else why)[:500],
            source=source,
            worker=this_worker,
        ))
    if len(checks) == 1:
        checks[0].save(force_insert=True)  # bulk_create would add a transaction around the one row
    else:
        StatusCheck.objects.bulk_create(checks)  # one statement for the whole group
    for check in checks:
        observer().checked(provider, check.result)
    return outcomes


def worker() -> str:
    """This thread's name in the history (``host:pid:thread``)."""
    return f"{_WORKER_PREFIX}:{threading.get_ident()}"[:100]
