"""Sending the monitor's signals after commit, so that no receiver can undo what committed."""

from __future__ import annotations

import logging

from ..models import MonitoredOrder
from .logfields import about

logger = logging.getLogger(__name__)


def send_robust(signal, order_pk, **kwargs) -> None:
    """Send ``signal`` to every receiver; a failing one is logged, never raised.

    One failing receiver must not stop the others, nor undo what has already committed.
    """
    for receiver, response in signal.send_robust(sender=MonitoredOrder, **kwargs):
        if isinstance(response, Exception):
            logger.error(
                "Signal receiver %s failed for order %s",
                getattr(receiver, "__qualname__", receiver),
                order_pk,
                extra=about(order_id=order_pk),
                exc_info=(type(response), response, response.__traceback__),
            )
