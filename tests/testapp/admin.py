"""The shop's order admin of the tests, with the monitor's mixin (as a shop would add it)."""

from django.contrib import admin

from django_order_monitor.admin import OrderMonitorAdminMixin

from .models import ProductOrder


@admin.register(ProductOrder)
class ProductOrderAdmin(OrderMonitorAdminMixin, admin.ModelAdmin):
    list_display = ("id", "status", "external_status", "provider_referans", "pin_code", "sent_at")
    list_filter = ("status", "external_status")
    search_fields = ("provider_referans",)
    fields = ("status", "external_status", "provider_referans", "pin_code", "provider_message", "sent_at")
