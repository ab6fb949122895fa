"""The post-save hook on the shop's order model. Decides, then delegates."""

from __future__ import annotations

import logging

from . import host
from .conf import app_settings
from .exceptions import NotMonitorable
from .monitoring import start_monitoring

logger = logging.getLogger(__name__)


def order_saved(sender, instance, raw=False, **kwargs) -> None:
    """Start following an order once it is dispatched with a reference.

    Fixture loading (``raw``) and saves of orders that are not dispatched are
    ignored; saving an order that is already followed does nothing.
    """
    if raw or not app_settings.ENABLED:
        return
    if not host.matches(host.read(instance, "external_status"), app_settings.DISPATCHED_STATUSES):
        return  # the common case for a shop: keep it to one attribute read
    try:
        start_monitoring(instance)
    except NotMonitorable as reason:
        # Not an error for the shop's save(): e.g. dispatched but no reference yet.
        logger.debug("%s", reason)
