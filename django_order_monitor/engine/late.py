"""Late completions: a provider's completion for an order that had already ended.

The monitor never applies it over what ended the order (its own timeout, an
operator, the shop). It tells the shop instead, once per order: the
``LATE_COMPLETION_HANDLER`` gets the PIN, the ``order_late_completion`` signal
does not, the ledger notes when (``late_completed_at``). The PIN is never stored
in the monitor's tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string

from .. import signals
from .._moved import renamed
from ..conf import app_settings
from ..models import MonitoredOrder, ledger_database
from .logfields import about
from .observing import observer
from .signalling import send_robust

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LateCompletion:
    """A completion the monitor could not apply: the order had already ended.

    Either the monitor had timed it out (or an operator had failed or stopped
    it), or the shop had ended it first. The provider delivered (and charged
    for) a PIN nobody will see unless the shop acts: the
    ``ORDER_MONITOR_LATE_COMPLETION_HANDLER`` receives this object with the PIN;
    the ``order_late_completion`` signal gets it with ``pin=None``. The PIN is
    never stored in the monitor's tables.
    """

    order_pk: Any
    monitored_order_id: int
    provider: str
    reference: str
    ended_as: str
    source: str
    at: dt.datetime
    pin: str | None = field(default=None, repr=False)

    referans = renamed("reference")  # the 0.1 name, for one release


def record(entry: MonitoredOrder, pin: str, source: str, now: dt.datetime) -> None:
    """Tell the shop of a completion it cannot get through the normal path (once per order)."""
    marked = MonitoredOrder.objects.filter(pk=entry.pk, late_completed_at__isnull=True).update(
        late_completed_at=now, updated_at=now
    )
    if not marked:
        return  # already told: a replayed push or a second poll of the same answer
    ended_as = MonitoredOrder.objects.filter(pk=entry.pk).values_list("state", flat=True).first() or ""
    late = LateCompletion(
        order_pk=entry.order_id,
        monitored_order_id=entry.pk,
        provider=entry.provider,
        reference=entry.reference,
        ended_as=ended_as,
        source=source,
        at=now,
        pin=pin,
    )
    handler = app_settings.LATE_COMPLETION_HANDLER
    logger.warning(
        "Order %s completed at the provider after it had ended (%s; provider=%s reference=%s source=%s)%s",
        entry.order_id,
        ended_as,
        entry.provider,
        entry.reference,
        source,
        "" if handler else "; set ORDER_MONITOR_LATE_COMPLETION_HANDLER to receive its PIN",
        extra=about(entry),
    )
    if handler:
        import_string(handler)(late)
    unsecret = dataclasses.replace(late, pin=None)
    transaction.on_commit(lambda: observer().late_completion(entry.provider), using=ledger_database())
    transaction.on_commit(lambda: send_robust(signals.order_late_completion, unsecret.order_pk, late=unsecret), using=ledger_database())
