"""Sending an order to znet: the reference shop's ``try_auto_dispatch``, steps 11 to 15.

1. claim the order (``not_sent`` -> ``queued``) and write the new referans first, so
   two dispatchers can never send the same order, and a crash mid-call leaves the
   referans on the row for an operator;
2. ``pin_ekle`` through the library's znet adapter (step 11);
3. accepted: save the referans and the dispatch fields with ``update()`` (steps 12-13),
   add a note (step 14) and ``start_monitoring`` (step 15);
4. refused (a non-OK reply such as ``8|...`` or ``3|...``): the order is rejected and
   refunded at once and is *not* monitored (the reference shop saved it as
   ``processing`` with a referans znet never accepted, and polled it for 24 hours);
5. no readable answer (timeout, connection dropped, HTTP 500, garbage): znet may or
   may not have the order. It is *not* sent again (that could sell twice); it is
   monitored like an accepted one, so a PIN is picked up if znet has the order and
   the deadline rejects and refunds it if znet never heard of it;
6. no turn in znet's rate limit within ``max_wait`` (dispatch goes before every
   status check, so only dispatch itself can fill it): nothing was sent, so the
   claim is given back and the order can be sent again.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from django_order_monitor import start_monitoring
from django_order_monitor.exceptions import OrderMonitorError, ProviderError, ProviderRejected
from django_order_monitor.providers import get_provider
from django_order_monitor.providers.adapters.znet import DUPLICATE_CODE
from django_order_monitor.providers.ratelimit import RateLimited

from . import services
from .models import ProductOrder

logger = logging.getLogger(__name__)

PROVIDER = "znet"
#: Fresh referans values tried when znet says one is already taken (code 4).
MAX_REFERANS_TRIES = 3


class Outcome(str, enum.Enum):
    SENT = "sent"  # znet accepted it; monitored
    REJECTED = "rejected"  # znet refused it; rejected and refunded, not monitored
    UNKNOWN = "unknown"  # no readable answer; monitored (see the module docstring)
    NOT_SENT = "not_sent"  # no turn in znet's rate limit; back to not_sent, send again later


@dataclass(frozen=True)
class DispatchResult:
    order_pk: Any
    outcome: Outcome
    referans: str
    message: str


class AlreadyDispatched(Exception):
    """The order is not ``not_sent`` + ``pending`` any more (someone else sent it)."""


def new_referans() -> str:
    """A referans as the reference shop made them: epoch milliseconds and 3 random digits.

    znet rejected UUIDs; this form (``1760885915220128``) is what it accepts.
    """
    return f"{time.time_ns() // 1_000_000}{secrets.randbelow(900) + 100}"


def dispatch_order(order_pk: Any) -> DispatchResult:
    """Send one ``not_sent`` order to znet and start monitoring it (see the module docstring)."""
    order = ProductOrder.objects.get(pk=order_pk)
    pkg = services.package(order.package_id)
    referans = new_referans()
    claimed = ProductOrder.objects.filter(pk=order_pk, external_status="not_sent", status="pending").update(
        external_status="queued", provider_id=PROVIDER, provider_referans=referans
    )
    if not claimed:
        raise AlreadyDispatched(f"Order {order_pk} was already dispatched or ended.")

    provider = get_provider(PROVIDER)
    for attempt in range(1, MAX_REFERANS_TRIES + 1):
        try:
            placed = provider.place_order(
                referans,
                oyun=pkg["oyun"],
                kupur=pkg["kupur"],
                musteri_tel="",
                oyuncu_bilgi=order.user_identifier or "",
            )
        except ProviderRejected as err:
            if err.code == DUPLICATE_CODE and attempt < MAX_REFERANS_TRIES:
                # We made this referans a moment ago, so znet's "already sent" means
                # another order took the same millisecond and digits: draw again.
                logger.warning("referans %s already taken at znet; drawing another for order %s", referans, order_pk)
                referans = new_referans()
                ProductOrder.objects.filter(pk=order_pk).update(provider_referans=referans)
                continue
            return _reject(order, referans, str(err))
        except ProviderError as err:
            return _sent(order, referans, Outcome.UNKNOWN, f"outcome unknown, not resent: {err}")
        except RateLimited as err:
            ProductOrder.objects.filter(pk=order_pk, external_status="queued").update(
                external_status="not_sent", provider_referans=None
            )
            return DispatchResult(order_pk, Outcome.NOT_SENT, referans, f"not sent: {err}")
        cost = f"cost={placed.cost}" if placed.cost is not None else "cost=?"
        return _sent(order, referans, Outcome.SENT, f"accepted by znet ({cost}, balance={placed.balance})")
    raise AssertionError("unreachable")  # the loop always returns


def _sent(order: ProductOrder, referans: str, outcome: Outcome, message: str) -> DispatchResult:
    now = timezone.now()
    text = f"Auto-dispatch -> znet referans={referans}: {message}"
    # Steps 12-13: the referans and the dispatch fields, by update() on mapped attributes.
    ProductOrder.objects.filter(pk=order.pk).update(
        external_status="sent",
        provider_referans=referans,
        provider_id=PROVIDER,
        external_order_id=str(order.pk),
        sent_at=now,
        last_sync_at=now,
        provider_message=message,
        last_message=services.append_last_message(order.last_message, text),
    )
    services.append_note(order.pk, text)  # step 14
    logger.info("Order %s sent to znet (referans %s, %s)", order.pk, referans, outcome.value)
    try:
        start_monitoring(order.pk)  # step 15
    except OrderMonitorError:
        # The order is saved as sent with its referans: the monitor's periodic sweep
        # finds such orders and follows them, so this is late, not lost.
        logger.exception("Could not start monitoring order %s; the sweep will pick it up", order.pk)
    return DispatchResult(order.pk, outcome, referans, message)


def _reject(order: ProductOrder, referans: str, message: str) -> DispatchResult:
    now = timezone.now()
    text = f"Auto-dispatch -> znet refused the order: {message}"
    with transaction.atomic():
        rejected = ProductOrder.objects.filter(pk=order.pk, status="pending").update(
            status="rejected",
            external_status="failed",
            provider_id=PROVIDER,
            provider_referans=referans,
            provider_message=message,
            last_message=services.append_last_message(order.last_message, text),
            last_sync_at=now,
            completed_at=now,
        )
        if rejected:
            services.refund(order.pk, reason=f"refused at dispatch: {message}")
            services.append_note(order.pk, text)
    logger.warning("Order %s refused by znet at dispatch: %s", order.pk, message)
    return DispatchResult(order.pk, Outcome.REJECTED, referans, message)
