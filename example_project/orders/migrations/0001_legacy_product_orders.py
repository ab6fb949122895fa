"""Create the legacy ``product_orders`` table with raw SQL, and the shop's wallet.

The order table belongs to the database, not to Django (the reference shop's was made
by another system, with camelCase columns). The SQL below is what such a database
holds; note there is no ``provider_referans``: django_order_monitor's migration
``order_monitor 0002`` adds that column and its index, as it would on the real one.
The ``CreateModel`` of the unmanaged model only records its shape for Django.
"""

import uuid

from django.db import migrations, models

POSTGRES = [
    """
    CREATE TABLE IF NOT EXISTS product_orders (
        id uuid PRIMARY KEY,
        "tenantId" uuid NULL,
        "userId" uuid NOT NULL,
        "packageId" varchar(100) NOT NULL,
        "userIdentifier" varchar(255) NULL,
        "sellPriceAmount" numeric(12, 2) NOT NULL,
        status varchar(50) NOT NULL DEFAULT 'pending',
        "externalStatus" varchar(30) NOT NULL DEFAULT 'not_sent',
        "providerId" varchar(255) NULL,
        "externalOrderId" varchar(255) NULL,
        "pinCode" varchar(120) NULL,
        "providerMessage" text NULL,
        "lastMessage" varchar(250) NULL,
        notes jsonb NOT NULL DEFAULT '[]',
        "notesCount" integer NOT NULL DEFAULT 0,
        "sentAt" timestamptz NULL,
        "lastSyncAt" timestamptz NULL,
        "completedAt" timestamptz NULL,
        "durationMs" integer NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now()
    )
    """,
    'CREATE INDEX IF NOT EXISTS "IDX_product_orders_tenantId" ON product_orders ("tenantId")',
    'CREATE INDEX IF NOT EXISTS "IDX_product_orders_createdAt" ON product_orders ("createdAt")',
]

SQLITE = [
    """
    CREATE TABLE IF NOT EXISTS product_orders (
        id char(32) PRIMARY KEY,
        "tenantId" char(32) NULL,
        "userId" char(32) NOT NULL,
        "packageId" varchar(100) NOT NULL,
        "userIdentifier" varchar(255) NULL,
        "sellPriceAmount" decimal NOT NULL,
        status varchar(50) NOT NULL DEFAULT 'pending',
        "externalStatus" varchar(30) NOT NULL DEFAULT 'not_sent',
        "providerId" varchar(255) NULL,
        "externalOrderId" varchar(255) NULL,
        "pinCode" varchar(120) NULL,
        "providerMessage" text NULL,
        "lastMessage" varchar(250) NULL,
        notes text NOT NULL DEFAULT '[]' CHECK (JSON_VALID(notes)),
        "notesCount" integer NOT NULL DEFAULT 0,
        "sentAt" datetime NULL,
        "lastSyncAt" datetime NULL,
        "completedAt" datetime NULL,
        "durationMs" integer NULL,
        "createdAt" datetime NOT NULL DEFAULT CURRENT_TIMESTAMP
    )
    """,
    'CREATE INDEX IF NOT EXISTS "IDX_product_orders_tenantId" ON product_orders ("tenantId")',
    'CREATE INDEX IF NOT EXISTS "IDX_product_orders_createdAt" ON product_orders ("createdAt")',
]


def create_legacy_table(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"The example shop has legacy SQL for PostgreSQL and SQLite, not {vendor}.")
    for statement in POSTGRES if vendor == "postgresql" else SQLITE:
        schema_editor.execute(statement)


def drop_legacy_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS product_orders")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.RunPython(create_legacy_table, drop_legacy_table),
        migrations.CreateModel(
            name="ProductOrder",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("tenant_id", models.UUIDField(blank=True, db_column="tenantId", db_index=True, null=True)),
                ("user_id", models.UUIDField(db_column="userId")),
                ("package_id", models.CharField(db_column="packageId", max_length=100)),
                (
                    "user_identifier",
                    models.CharField(blank=True, db_column="userIdentifier", max_length=255, null=True),
                ),
                (
                    "sell_price_amount",
                    models.DecimalField(db_column="sellPriceAmount", decimal_places=2, max_digits=12),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "pending"), ("approved", "approved"), ("rejected", "rejected")],
                        default="pending",
                        max_length=50,
                    ),
                ),
                ("external_status", models.CharField(db_column="externalStatus", default="not_sent", max_length=30)),
                ("provider_id", models.CharField(blank=True, db_column="providerId", max_length=255, null=True)),
                (
                    "external_order_id",
                    models.CharField(blank=True, db_column="externalOrderId", max_length=255, null=True),
                ),
                ("provider_referans", models.CharField(blank=True, db_index=True, max_length=255, null=True)),
                ("pin_code", models.CharField(blank=True, db_column="pinCode", max_length=120, null=True)),
                ("provider_message", models.TextField(blank=True, db_column="providerMessage", null=True)),
                ("last_message", models.CharField(blank=True, db_column="lastMessage", max_length=250, null=True)),
                ("notes", models.JSONField(blank=True, default=list)),
                ("notes_count", models.IntegerField(db_column="notesCount", default=0)),
                ("sent_at", models.DateTimeField(blank=True, db_column="sentAt", null=True)),
                ("last_sync_at", models.DateTimeField(blank=True, db_column="lastSyncAt", null=True)),
                ("completed_at", models.DateTimeField(blank=True, db_column="completedAt", null=True)),
                ("duration_ms", models.IntegerField(blank=True, db_column="durationMs", null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_column="createdAt")),
            ],
            options={
                "db_table": "product_orders",
                "ordering": ["-created_at"],
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="WalletEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.UUIDField(db_index=True)),
                ("order_id", models.UUIDField(db_index=True)),
                ("kind", models.CharField(choices=[("charge", "charge"), ("refund", "refund")], max_length=10)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                ("reason", models.CharField(blank=True, default="", max_length=255)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name_plural": "wallet entries",
                "ordering": ["-created_at", "-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("order_id", "kind"), name="orders_one_wallet_entry_per_kind")
                ],
            },
        ),
    ]
