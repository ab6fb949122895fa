"""Small display helpers for the admin: PIN masking, times relative to now, state badges."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F
from django.db.models.constants import LOOKUP_SEP
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from ..conf import get_order_model
from ..engine.stats import humanize_seconds, overdue_after
from ..shop import orders

#: Shown instead of a PIN. Fixed width: a masked PIN tells nothing about its length.
PIN_MASK = "••••••••"
#: The permission that shows PINs in full (on detail pages only).
VIEW_PIN_PERMISSION = "order_monitor.view_pin"
EMPTY = "-"  # as the admin shows empty values


def mask_pin(pin) -> str:
    return PIN_MASK if pin not in (None, "") and str(pin).strip() else EMPTY


def order_pin(order) -> str | None:
    """The PIN on the shop's order (role "pin"); the monitor never stores it."""
    if order is None:
        return None
    return orders.read(order, "pin")


def can_view_pin(request) -> bool:
    return request.user.has_perm(VIEW_PIN_PERMISSION)


def touches_pin(model, path) -> bool:
    """Whether a lookup, ordering or search path from ``model`` reaches the shop's PIN attribute.

    ``path`` is a ``__`` chain (``pin_code__startswith``, ``monitoring__order__pin_code``,
    ``-pin_code``, ``^pin_code``) or an ordering expression; relations are followed,
    so no detour through another model reaches the PIN either.
    """
    if not isinstance(path, str):
        names = [getattr(node, "name", "") for node in _flatten(path) if isinstance(node, F)]
        return any(touches_pin(model, name) for name in names)
    order_model = get_order_model()
    pin = orders.resolve_fields(order_model).get("pin")
    if pin is None:
        return False
    for part in path.lstrip("-^=@").split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if model is order_model and field.name == order_model._meta.get_field(pin).name:
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


def _flatten(expression):
    flatten = getattr(expression, "flatten", None)
    return list(flatten()) if flatten is not None else [expression]


def when(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``12:05:00 (in 4 min)``, ``2026-10-31 23:50 (12 h 15 min ago)``, in the current time zone."""
    if value is None:
        return EMPTY
    now = now or timezone.now()
    local = timezone.localtime(value)
    # Today's times need no date: the columns stay narrow.
    same_day = local.date() == timezone.localtime(now).date()
    stamp = local.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M")
    delta = (value - now).total_seconds()
    if abs(delta) < 1:
        return _("%(time)s (now)") % {"time": stamp}
    if delta > 0:
        return _("%(time)s (in %(delta)s)") % {"time": stamp, "delta": humanize_seconds(delta)}
    return _("%(time)s (%(delta)s ago)") % {"time": stamp, "delta": humanize_seconds(-delta)}


def next_check(entry, now: dt.datetime | None = None):
    """The next check time, flagged when it is overdue (see ``stats.overdue_after``)."""
    now = now or timezone.now()
    if not entry.is_active or entry.next_check_at is None:
        return EMPTY
    text = when(entry.next_check_at, now)
    if entry.next_check_by == entry.Driver.SWEEP:
        text = _("%(when)s by the sweep") % {"when": text}
    if entry.next_check_at < now - overdue_after():
        return format_html('<span class="om-when om-overdue" title="{}">{}</span>', _("overdue"), text)
    return format_html('<span class="om-when">{}</span>', text)


def state_badge(entry):
    return format_html('<span class="om-state om-state-{}">{}</span>', entry.state, entry.get_state_display())


def order_admin_link(order_model, order_pk):
    """A link to the shop's admin page of the order (plain text when it has none).

    Long ids (UUIDs) are shortened to their first 8 characters; the full id is
    the element's title, and the search box finds an order by its full id.
    """
    full = str(order_pk)
    short = f"{full[:8]}…" if len(full) > 12 else full
    opts = order_model._meta
    # Isolated left to right: in an Arabic page "4465069d…" would show as "…4465069d".
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[order_pk])
    except NoReverseMatch:
        return format_html('<span title="{}"><bdi dir="ltr">{}</bdi></span>', full, short)
    return format_html('<a href="{}" title="{}"><bdi dir="ltr">{}</bdi></a>', url, full, short)


def isolated(value) -> str:
    """``value`` (an order id, a date) kept left to right inside a right-to-left text.

    Plain text (admin messages) cannot hold ``<bdi>``: Unicode's isolates do the same
    (LEFT-TO-RIGHT ISOLATE ... POP DIRECTIONAL ISOLATE). Without them, in Arabic the
    groups of "00000000-0000-..." would be shown in reverse order. Only in a
    right-to-left language: elsewhere the text stays as it is.
    """
    text = str(value)
    return f"\u2066{text}\u2069" if get_language_bidi() else text
