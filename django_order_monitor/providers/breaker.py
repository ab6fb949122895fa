"""Per-provider circuit breaker, shared by all consumers through the database.

After BREAKER_THRESHOLD transport failures in a row (timeouts, refused or
dropped connections, HTTP errors) a provider is paused for BREAKER_COOLDOWN:
its checks are deferred without a call, so an outage neither hammers the
provider nor burns the orders' attempts. After the cool-down one failure
pauses it again (half-open); one success closes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from django.db import transaction
from django.utils import timezone

from ..conf import app_settings
from ..models import ProviderHealth, ledger_database

logger = logging.getLogger(__name__)


#: How long a consumer trusts its last read of a provider's health. Another
#: consumer's pause reaches this one at most this late; a consumer's own
#: failures and successes are seen at once.
SNAPSHOT_SECONDS = 1.0

_snapshots: dict[str, tuple[float, dt.datetime | None, int]] = {}
_snapshots_lock = threading.Lock()


def _snapshot(provider: str) -> tuple[dt.datetime | None, int]:
    """(paused_until, consecutive_failures), read at most once a second per process."""
    with _snapshots_lock:
        cached = _snapshots.get(provider)
    if cached is not None and time.monotonic() - cached[0] < SNAPSHOT_SECONDS:
        return cached[1], cached[2]
    row = ProviderHealth.objects.filter(provider=provider).values_list("paused_until", "consecutive_failures").first()
    until, failures = row if row is not None else (None, 0)
    with _snapshots_lock:
        _snapshots[provider] = (time.monotonic(), until, failures)
    return until, failures


def _forget(provider: str) -> None:
    with _snapshots_lock:
        _snapshots.pop(provider, None)


def forget_all() -> None:
    """Drop every cached snapshot (tests; after editing ProviderHealth rows by hand)."""
    with _snapshots_lock:
        _snapshots.clear()


def paused_until(provider: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the provider's pause ends, or None if it may be called now."""
    until, _ = _snapshot(provider)
    return until if until is not None and until > (now or timezone.now()) else None


def record_success(provider: str, now: dt.datetime | None = None) -> None:
    # The common healthy case neither writes nor reads (the snapshot says 0 failures).
    if _snapshot(provider)[1] == 0:
        return
    ProviderHealth.objects.filter(provider=provider, consecutive_failures__gt=0).update(
        consecutive_failures=0, last_success_at=now or timezone.now(), pause_reason=""
    )
    _forget(provider)


def record_failure(provider: str, error: str, now: dt.datetime | None = None) -> bool:
    """Count a transport failure; True when it (re)opened the breaker."""
    now = now or timezone.now()
    ProviderHealth.objects.get_or_create(provider=provider)
    with transaction.atomic(using=ledger_database()):
        health = ProviderHealth.objects.select_for_update().get(provider=provider)
        health.consecutive_failures += 1
        health.last_failure_at = now
        health.last_error = error[:500]
        opened = health.consecutive_failures >= int(app_settings.BREAKER_THRESHOLD) and not health.is_paused(now)
        paused_until = None
        if opened:
            health.paused_until = paused_until = now + dt.timedelta(seconds=float(app_settings.BREAKER_COOLDOWN))
            health.pause_reason = f"{health.consecutive_failures} transport failures in a row"
            health.times_paused += 1
        health.save()
    _forget(provider)
    if paused_until is not None:
        logger.error(
            "Provider %s paused until %s after %d transport failures in a row (last: %s)",
            provider,
            paused_until.isoformat(),
            health.consecutive_failures,
            error,
        )
    return opened
