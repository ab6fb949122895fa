"""Small display helpers for the admin: PIN masking, times relative to now, state badges."""

from __future__ import annotations

import datetime as dt

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .. import host
from ..stats import humanize_seconds, overdue_after

#: Shown instead of a PIN. Fixed width: a masked PIN tells nothing about its length.
PIN_MASK = "••••••••"
#: The permission that shows PINs in full (on detail pages only).
VIEW_PIN_PERMISSION = "order_monitor.view_pin"
EMPTY = "–"


def mask_pin(pin) -> str:
    return PIN_MASK if pin not in (None, "") and str(pin).strip() else EMPTY


def order_pin(order) -> str | None:
    """The PIN on the shop's order (role "pin"); the monitor never stores it."""
    if order is None:
        return None
    return host.read(order, "pin")


def can_view_pin(request) -> bool:
    return request.user.has_perm(VIEW_PIN_PERMISSION)


def when(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``2026-11-01 12:05:00 (in 4 min)`` / ``(6 min ago)``, in the current time zone."""
    if value is None:
        return EMPTY
    now = now or timezone.now()
    stamp = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
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
        return format_html('<span class="om-overdue" title="{}">{}</span>', _("overdue"), text)
    return text


def state_badge(entry):
    return format_html('<span class="om-state om-state-{}">{}</span>', entry.state, entry.get_state_display())


def order_admin_link(order_model, order_pk, text=None):
    """A link to the shop's admin page of the order, or plain text when it has none."""
    opts = order_model._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[order_pk])
    except NoReverseMatch:
        return str(text or order_pk)
    return format_html('<a href="{}">{}</a>', url, text or order_pk)
