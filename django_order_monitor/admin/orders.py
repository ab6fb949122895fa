"""``OrderMonitorAdminMixin``: monitoring in the shop's own order admin.

It adds a monitoring column (state and next check), masks the PIN in lists
(and on detail pages for users without ``order_monitor.view_pin``) and adds the
steering actions, which start following orders that are not followed yet.

A masked column is not enough: a filter ``?pin_code__startswith=A`` answered
with a shorter or longer list gives the PIN away one character at a time. For
users without ``view_pin`` the changelist refuses every lookup that reaches the
PIN (Django answers 400), never orders by it and leaves it out of search and
the filter sidebar.
"""

from __future__ import annotations

import functools

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import MonitoredOrder
from ..shop import orders
from . import display, services
from .actions import SteeringActions


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

    # -- no probing the PIN through filters, ordering or search --------------------------------

    def lookup_allowed(self, lookup, value, request=None):
        if (request is None or not display.can_view_pin(request)) and display.touches_pin(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if display.can_view_pin(request):
            return fields
        return [name for name in fields if not display.touches_pin(self.model, name)]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if display.can_view_pin(request):
            return filters
        # A filter's sidebar lists the values themselves.
        return [f for f in filters if not display.touches_pin(self.model, f[0] if isinstance(f, (list, tuple)) else f)]

    def get_ordering(self, request):
        ordering = super().get_ordering(request) or ()
        if display.can_view_pin(request):
            return ordering
        return [name for name in ordering if not display.touches_pin(self.model, name)]

    def get_sortable_by(self, request):
        sortable = super().get_sortable_by(request)
        if display.can_view_pin(request):
            return sortable
        return [name for name in sortable if not _orders_by_pin(self, name)]

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        # Classes hash by identity; the stubs' ChangeList.__hash__ fails the Hashable protocol check.
        return changelist if display.can_view_pin(request) else _pin_blind(changelist)  # type: ignore[arg-type]

    def monitored_ids(self, queryset):
        ids, unfollowed_pks = [], []
        for order_pk, monitored_id in queryset.values_list("pk", "monitoring__pk"):
            if monitored_id is None:
                unfollowed_pks.append(order_pk)
            else:
                ids.append(monitored_id)
        unfollowed: list = []
        for chunk in services.chunks(unfollowed_pks):
            by_pk = queryset.model._base_manager.in_bulk(chunk)
            unfollowed.extend(by_pk[pk] for pk in chunk if pk in by_pk)
        return ids, unfollowed

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
        return display.mask_pin(orders.read(order, "pin"))


@functools.cache
def _pin_blind(changelist: type) -> type:
    """``changelist`` that ignores ``?o=`` on any column ordered by the PIN."""

    class PinBlindChangeList(changelist):
        def get_ordering_field(self, field_name):
            order_field = super().get_ordering_field(field_name)
            if order_field is not None and display.touches_pin(self.model, order_field):
                return None
            return order_field

    PinBlindChangeList.__name__ = PinBlindChangeList.__qualname__ = f"PinBlind{changelist.__name__}"
    return PinBlindChangeList


def _orders_by_pin(model_admin, name) -> bool:
    """Whether the list column ``name`` sorts by the PIN (a PIN field, or ``ordering=`` on the PIN)."""
    if not callable(name) and "__" not in str(name) and display.touches_pin(model_admin.model, name):
        return True
    attr = name if callable(name) else getattr(model_admin, name, None) or getattr(model_admin.model, name, None)
    if isinstance(attr, property):
        attr = attr.fget
    order_field = getattr(attr, "admin_order_field", None) if attr is not None else (name if "__" in name else None)
    return order_field is not None and display.touches_pin(model_admin.model, order_field)


def _pin_attname(model) -> str | None:
    return orders.resolve_fields(model).get("pin")


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
