"""The shop's admin: orders (with the order monitor's column, masked PIN and actions) and the wallet."""

from __future__ import annotations

from django.contrib import admin

from django_order_monitor.admin import OrderMonitorAdminMixin

from .models import ProductOrder, WalletEntry


@admin.register(ProductOrder)
class ProductOrderAdmin(OrderMonitorAdminMixin, admin.ModelAdmin):
    # pin_code is listed: the mixin shows it masked (in full only with order_monitor.view_pin).
    list_display = (
        "id",
        "package_id",
        "user_identifier",
        "status",
        "external_status",
        "pin_code",
        "sent_at",
        "completed_at",
    )
    list_filter = ("status", "external_status", "package_id")
    search_fields = ("=id", "=provider_referans", "=external_order_id", "user_identifier")
    date_hierarchy = "created_at"
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ("id", "user_id", "tenant_id", "package_id", "user_identifier", "sell_price_amount")}),
        ("Status", {"fields": ("status", "external_status", "pin_code", "provider_message", "last_message")}),
        (
            "Provider",
            {
                "fields": (
                    "provider_id",
                    "provider_referans",
                    "external_order_id",
                    "sent_at",
                    "last_sync_at",
                    "completed_at",
                    "duration_ms",
                )
            },
        ),
        ("Notes", {"fields": ("notes", "notes_count", "created_at")}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything is written by dispatch and by the monitor, with update(): the
        # admin only reads (a full save() of this legacy row is never wanted).
        own = [f.name for f in self.model._meta.fields]
        return [*own, *(name for name in super().get_readonly_fields(request, obj) if name not in own)]

    def save_model(self, request, obj, form, change):
        # Only what the form changed, by update(): a full save() would write back every
        # column as loaded, over a PIN or status the monitor stored in the meantime.
        if change and form.changed_data:
            ProductOrder.objects.filter(pk=obj.pk).update(
                **{name: form.cleaned_data[name] for name in form.changed_data}
            )

    def has_add_permission(self, request):
        return False  # orders come from the shop's checkout, not from the admin

    def has_delete_permission(self, request, obj=None):
        return False  # an order's history (and its wallet entries) stays


@admin.register(WalletEntry)
class WalletEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user_id", "order_id", "kind", "amount", "reason")
    list_filter = ("kind",)
    search_fields = ("=order_id", "=user_id")
    readonly_fields = ("created_at",)
