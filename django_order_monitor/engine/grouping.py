"""Grouping due orders of a batch provider, so one provider call answers many.

The check itself is the one pipeline in ``checking``: here only the choice of
which orders go together. :func:`check_with_peers` is the chained task's
check; :func:`check_batch` checks given orders (operators' commands).
"""

from __future__ import annotations

from django.utils import timezone

from ..exceptions import UnknownProviderError
from ..models import MonitoredOrder
from ..providers import get_provider
from . import leases, pipeline, scheduling
from .pipeline import CheckReport

__all__ = ["batch_size", "check_batch", "check_with_peers"]

#: Orders per batch call when the adapter does not say.
DEFAULT_BATCH_SIZE = 50


def batch_size(provider: str) -> int:
    """How many orders one call may ask about; 1 for providers without a batch endpoint."""
    try:
        adapter = get_provider(provider)
    except UnknownProviderError:
        return 1
    return int(getattr(adapter, "batch_size", DEFAULT_BATCH_SIZE)) if adapter.supports_batch else 1


def check_with_peers(monitored_order_id: int, *, source: str = "poll") -> list[CheckReport]:
    """The chained task's check: alone, or, for a batch provider, with its other due orders.

    Returns every checked order's report, this order's first. The peers' own
    tasks later find them not due and do nothing, so grouping never doubles a check.
    """
    now = timezone.now()
    entry = leases.claim(monitored_order_id, now=now)
    if entry is None:
        return [CheckReport(monitored_order_id, ran=False, skipped_reason=pipeline.why_skipped(monitored_order_id, now))]
    claimed = {entry.pk: entry}
    size = batch_size(entry.provider)
    if size > 1:
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
            for pk, held in claimed.items():
                leases.release(pk, held.lease_token)
            raise
    reports = pipeline.check_claimed(claimed, now, source)
    ordered = [reports[entry.pk], *(report for pk, report in reports.items() if pk != entry.pk)]
    scheduling.follow_up(ordered)
    return ordered


def check_batch(monitored_order_ids, *, source: str = "poll", force: bool = False) -> list[CheckReport]:
    """Check the given followed orders that are due (or ``force``) and free; one report per id.

    Orders of one provider are asked about in one ``fetch_statuses`` call (the
    adapter splits it into calls of its own batch size).
    """
    now = timezone.now()
    ids = list(dict.fromkeys(monitored_order_ids))
    claimed = {pk: entry for pk in ids if (entry := leases.claim(pk, now=now, force=force)) is not None}
    reports = pipeline.check_claimed(claimed, now, source) if claimed else {}
    scheduling.follow_up(reports.values())
    skipped = "not due, not active or being checked"
    return [reports.get(pk) or CheckReport(pk, ran=False, skipped_reason=skipped) for pk in ids]
