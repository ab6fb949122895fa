"""``OrderMonitorAdminMixin``: monitoring in the shop's own order admin.

It adds a monitoring column (state and next check), masks the PIN in lists
(and on detail pages for users without ``order_monitor.view_pin``) and adds the
steering actions, which start following orders that are not followed yet.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import host
from ..models import MonitoredOrder
from . import display
from .actions import MONITOR_ACTIONS, SteeringActions


class OrderMonitorAdminMixin(SteeringActions):
    """Mix into the shop's order ``ModelAdmin`` (before ``admin.ModelAdmin``).

    Example::

        @admin.register(Order)
        class OrderAdmin(OrderMonitorAdminMixin, admin.ModelAdmin):
            list_display = ("id", "status", "pin_code")   # the PIN column is shown masked
    """

    #: Name of the column the mixin appends to ``list_display`` (if not listed already).
    monitoring_column_name = "monitoring_column"

    def get_queryset(self, request):
        # One LEFT JOIN brings the ledger row of every listed order.
        return super().get_queryset(request).select_related("monitoring")

    def get_list_display(self, request):
        pin = _pin_attname(self.model)
        columns = ["masked_pin" if name == pin else name for name in super().get_list_display(request)]
        if self.monitoring_column_name not in columns:
            columns.append(self.monitoring_column_name)
        return columns

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        pin = _pin_attname(self.model)
        if pin is None or display.can_view_pin(request):
            return fieldsets
        # Without the permission the PIN is not even in the form (its value would be in the HTML).
        return [
            (name, {**options, "fields": _replace(options.get("fields", ()), pin, "masked_pin")})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not display.can_view_pin(request) and "masked_pin" not in readonly:
            readonly.append("masked_pin")
        return readonly

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.actions is None or admin.options.IS_POPUP_VAR in request.GET:
            return actions
        # Added here, not through ``actions``, so a shop's own ``actions = [...]`` keeps them.
        for name in MONITOR_ACTIONS:
            if name in actions:
                continue
            func, action_name, description = self.get_action(name)
            if all(getattr(self, f"has_{p}_permission")(request) for p in func.allowed_permissions):
                actions[action_name] = (func, action_name, description)
        return actions

    def monitored_entries(self, queryset):
        entries, unfollowed = [], []
        for order in queryset.select_related("monitoring"):
            entry = _entry_or_none(order)
            if entry is None:
                unfollowed.append(order)
            else:
                entries.append(entry)
        return entries, unfollowed

    @admin.display(description=_("monitoring"))
    def monitoring_column(self, order):
        entry = _entry_or_none(order)
        if entry is None:
            return display.EMPTY
        if entry.is_active:
            return format_html("{} · {}", display.state_badge(entry), display.next_check(entry))
        if entry.stop_reason:
            return format_html("{} · {}", display.state_badge(entry), entry.stop_reason)
        return display.state_badge(entry)

    @admin.display(description=_("PIN"))
    def masked_pin(self, order):
        return display.mask_pin(host.read(order, "pin"))


def _pin_attname(model) -> str | None:
    return host.resolve_fields(model).get("pin")


def _replace(fields, old, new):
    replaced = []
    for item in fields:
        if isinstance(item, (list, tuple)):
            replaced.append(type(item)(new if name == old else name for name in item))
        else:
            replaced.append(new if item == old else item)
    return replaced


def _entry_or_none(order) -> MonitoredOrder | None:
    try:
        return order.monitoring
    except MonitoredOrder.DoesNotExist:
        return None
