"""The shop's orders (a legacy, unmanaged table) and its wallet (a table of its own)."""

from __future__ import annotations

import uuid

from django.db import models


class ProductOrder(models.Model):
    """An order on the legacy ``product_orders`` table, mapped like the reference shop's.

    The table predates Django (``orders/migrations/0001`` creates it with raw SQL, as
    another system once did), so the model is unmanaged and its columns are
    camelCase and quoted. ``provider_referans`` is not in that SQL: the order
    monitor's migration ``order_monitor 0002`` adds it and its index.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant_id = models.UUIDField(db_column="tenantId", null=True, blank=True, db_index=True)
    user_id = models.UUIDField(db_column="userId")
    package_id = models.CharField(db_column="packageId", max_length=100)
    user_identifier = models.CharField(db_column="userIdentifier", max_length=255, null=True, blank=True)
    sell_price_amount = models.DecimalField(db_column="sellPriceAmount", max_digits=12, decimal_places=2)
    status = models.CharField(max_length=50, choices=Status.choices, default=Status.PENDING)
    external_status = models.CharField(db_column="externalStatus", max_length=30, default="not_sent")
    provider_id = models.CharField(db_column="providerId", max_length=255, null=True, blank=True)
    external_order_id = models.CharField(db_column="externalOrderId", max_length=255, null=True, blank=True)
    provider_referans = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    pin_code = models.CharField(db_column="pinCode", max_length=120, null=True, blank=True)
    provider_message = models.TextField(db_column="providerMessage", null=True, blank=True)
    last_message = models.CharField(db_column="lastMessage", max_length=250, null=True, blank=True)
    notes = models.JSONField(default=list, blank=True)
    notes_count = models.IntegerField(db_column="notesCount", default=0)
    sent_at = models.DateTimeField(db_column="sentAt", null=True, blank=True)
    last_sync_at = models.DateTimeField(db_column="lastSyncAt", null=True, blank=True)
    completed_at = models.DateTimeField(db_column="completedAt", null=True, blank=True)
    duration_ms = models.IntegerField(db_column="durationMs", null=True, blank=True)
    created_at = models.DateTimeField(db_column="createdAt", auto_now_add=True)

    class Meta:
        managed = False
        db_table = "product_orders"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.package_id} for {self.user_identifier or self.user_id} ({self.status})"


class WalletEntry(models.Model):
    """One movement of a customer's balance: the charge of an order, or its refund.

    At most one of each kind per order (a database constraint): refunding twice is
    impossible even if two code paths try.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge", "charge"
        REFUND = "refund", "refund"

    user_id = models.UUIDField(db_index=True)
    order_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "wallet entries"
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order_id", "kind"], name="orders_one_wallet_entry_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} for order {self.order_id}"
