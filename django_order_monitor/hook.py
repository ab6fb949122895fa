"""The post-save hook on the shop's order model. Decides, then delegates."""

from __future__ import annotations

import logging

from .conf import app_settings
from .engine.following import start_monitoring
from .exceptions import NotMonitorable
from .shop import orders

logger = logging.getLogger(__name__)


def order_saved(sender, instance, raw=False, **kwargs) -> None:
    """Start following an order once it is dispatched with a reference.

    Fixture loading (``raw``) and saves of orders that are not dispatched are
    ignored; saving an order that is already followed does nothing. Never
    raises into the shop's ``save()``: an order the hook could not start is
    logged and left for the sweep, which discovers dispatched orders it does
    not follow yet.
    """
    if raw or not app_settings.ENABLED:
        return
    if not orders.matches(orders.read(instance, "external_status"), app_settings.DISPATCHED_STATUSES):
        return  # the common case for a shop: keep it to one attribute read
    try:
        start_monitoring(instance)
    except NotMonitorable as reason:
        # Not an error for the shop's save(): e.g. dispatched but no reference yet.
        logger.debug("%s", reason)
    except Exception as err:
        # The shop's dispatch must not fail because of the monitor (a bad setting such
        # as USE_TZ = False, a missing table...). The type only: the text could carry
        # the order's values, the PIN among them.
        logger.error(
            "Could not start monitoring order %s (%s); the sweep will pick it up. Run manage.py check.",
            instance.pk,
            type(err).__name__,
        )
