"""What the order_monitor_* commands share: finding an order from the command line, printing times."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import get_order_model
from ..engine.stats import humanize_seconds
from ..shop import orders

#: How the commands name who brings the next check (MonitoredOrder.next_check_by).
DRIVERS = {"task": gettext_lazy("a chained task"), "sweep": gettext_lazy("the sweep")}


def find_order(value: str):
    """The shop's order with primary key ``value``; CommandError when there is none."""
    model = get_order_model()
    try:
        pk = model._meta.pk.to_python(value)
    except ValidationError as err:
        raise CommandError(
            _("%(value)s is not an order id: %(model)s ids look like %(example)s.")
            % {"value": repr(value), "model": model._meta.label, "example": _example(model)}
        ) from err
    order = orders.base_queryset().filter(pk=pk).first()
    if order is None:
        raise CommandError(_("No order with id %(value)s in %(model)s.") % {"value": value, "model": model._meta.label})
    return order


def _example(model) -> str:
    internal = model._meta.pk.get_internal_type()
    return "123e4567-e89b-12d3-a456-426614174000" if internal == "UUIDField" else "12345"


def stamp(value: dt.datetime | None) -> str:
    """``2026-11-01 12:05:00 UTC`` in the current time zone; ``–`` for none."""
    if value is None:
        return "–"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def relative(value: dt.datetime, now: dt.datetime) -> str:
    seconds = (value - now).total_seconds()
    if abs(seconds) < 1:
        return _("now")
    if seconds > 0:
        return _("in %(delta)s") % {"delta": humanize_seconds(seconds)}
    return _("%(delta)s ago") % {"delta": humanize_seconds(-seconds)}


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_default)


def _default(value: Any):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)
