"""The shop's own order logic: taking an order (and the money), refunds, notes.

Every write to ``product_orders`` goes through ``QuerySet.update()`` on mapped
attributes (the ORM quotes the camelCase columns); the host row is never
``save()``d after it is created.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from .models import ProductOrder, WalletEntry

logger = logging.getLogger(__name__)


def package(code: str) -> dict[str, Any]:
    """The catalogue entry of ``code`` (see ``SHOP_PACKAGES``); KeyError if unknown."""
    return settings.SHOP_PACKAGES[code]


@transaction.atomic
def create_order(
    *, user_id: uuid.UUID, package_code: str, player_id: str, tenant_id: uuid.UUID | None = None
) -> ProductOrder:
    """Take an order: the row (``not_sent``, ``pending``) and the charge to the wallet."""
    price = Decimal(package(package_code)["price"])
    order = ProductOrder.objects.create(
        user_id=user_id,
        tenant_id=tenant_id,
        package_id=package_code,
        user_identifier=player_id,
        sell_price_amount=price,
    )
    WalletEntry.objects.create(
        user_id=user_id, order_id=order.pk, kind=WalletEntry.Kind.CHARGE, amount=-price, reason=f"order {package_code}"
    )
    return order


def refund(order_pk: Any, reason: str) -> WalletEntry | None:
    """Give the money of a rejected order back, once; None if it was already refunded.

    Runs inside the caller's transaction when there is one (the order monitor calls
    the terminal callback inside the transaction of the transition).
    """
    order = ProductOrder.objects.filter(pk=order_pk).values("user_id", "sell_price_amount").first()
    if order is None:
        return None
    try:
        # The savepoint keeps the caller's transaction usable if the refund exists.
        with transaction.atomic():
            entry = WalletEntry.objects.create(
                user_id=order["user_id"],
                order_id=order_pk,
                kind=WalletEntry.Kind.REFUND,
                amount=order["sell_price_amount"],
                reason=reason[:255],
            )
    except IntegrityError:
        logger.warning("Order %s was already refunded; not refunding twice", order_pk)
        return None
    logger.info("Refunded %s to user %s for order %s", order["sell_price_amount"], order["user_id"], order_pk)
    return entry


def balance(user_id: uuid.UUID) -> Decimal:
    return WalletEntry.objects.filter(user_id=user_id).aggregate(total=Sum("amount"))["total"] or Decimal("0")


def append_note(order_pk: Any, text: str, *, by: str = "system") -> None:
    """Add ``{by, text, at}`` to the order's notes and bump notesCount.

    A read-modify-write of a JSON list: the row is locked first (PostgreSQL) or the
    database is (SQLite, whose transactions here start IMMEDIATE).
    """
    note = {"by": by, "text": text[:500], "at": timezone.now().isoformat()}
    with transaction.atomic():
        current = ProductOrder.objects.select_for_update().filter(pk=order_pk).values_list("notes", flat=True).first()
        notes = [*(current or []), note]
        ProductOrder.objects.filter(pk=order_pk).update(notes=notes, notes_count=F("notes_count") + 1)


def append_last_message(current: str | None, text: str, limit: int = 250) -> str:
    """The running ``lastMessage`` log with ``text`` added, keeping the *newest* text.

    (The reference shop cut it at 250 characters from the start, so once full it
    never changed again.)
    """
    combined = f"{current} | {text}" if current else text
    return combined if len(combined) <= limit else "..." + combined[-(limit - 3) :]
