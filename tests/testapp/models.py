"""A legacy order table shaped like the reference shop's ``product_orders``."""

import uuid

from django.db import models


class ProductOrder(models.Model):
    """Unmanaged, camelCase quoted columns, UUID keys: as the reference shop maps it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    tenant_id = models.UUIDField(db_column="tenantId", null=True, blank=True)
    status = models.CharField(max_length=50, default="pending")
    external_status = models.CharField(db_column="externalStatus", max_length=30, default="not_sent")
    provider_id = models.CharField(db_column="providerId", max_length=255, null=True, blank=True)
    external_order_id = models.CharField(db_column="externalOrderId", max_length=255, null=True, blank=True)
    provider_referans = models.CharField(max_length=255, null=True, blank=True)
    pin_code = models.CharField(db_column="pinCode", max_length=120, null=True, blank=True)
    provider_message = models.TextField(db_column="providerMessage", null=True, blank=True)
    last_message = models.CharField(db_column="lastMessage", max_length=250, null=True, blank=True)
    sent_at = models.DateTimeField(db_column="sentAt", null=True, blank=True)
    last_sync_at = models.DateTimeField(db_column="lastSyncAt", null=True, blank=True)
    completed_at = models.DateTimeField(db_column="completedAt", null=True, blank=True)
    duration_ms = models.IntegerField(db_column="durationMs", null=True, blank=True)
    created_at = models.DateTimeField(db_column="createdAt", auto_now_add=True)

    class Meta:
        managed = False
        db_table = "product_orders"
        app_label = "testapp"

    def __str__(self):
        return f"order {self.pk}"


class TerminalEvent(models.Model):
    """One call of the shop's terminal callback (tests count them: exactly one per order)."""

    order_id = models.UUIDField(db_index=True)
    outcome = models.CharField(max_length=20)
    internal_status = models.CharField(max_length=20, null=True)
    source = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)


class Integration(models.Model):
    """A tenant's provider account, kept in the shop's own table (as Watan's ``integrations``)."""

    tenant_id = models.UUIDField(db_index=True)
    base_url = models.CharField(max_length=200)
    kod = models.CharField(max_length=100)
    sifre = models.CharField(max_length=100)
