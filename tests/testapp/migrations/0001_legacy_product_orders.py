"""Create ``product_orders`` by raw SQL, as a legacy database would have it.

No ``provider_referans`` column here: django_order_monitor's own migration adds it.
"""

from django.db import migrations, models

POSTGRES = """
CREATE TABLE IF NOT EXISTS product_orders (
    id uuid PRIMARY KEY,
    "tenantId" uuid NULL,
    status varchar(50) NOT NULL DEFAULT 'pending',
    "externalStatus" varchar(30) NOT NULL DEFAULT 'not_sent',
    "providerId" varchar(255) NULL,
    "externalOrderId" varchar(255) NULL,
    "pinCode" varchar(120) NULL,
    "providerMessage" text NULL,
    "lastMessage" varchar(250) NULL,
    "sentAt" timestamptz NULL,
    "lastSyncAt" timestamptz NULL,
    "completedAt" timestamptz NULL,
    "durationMs" integer NULL,
    "createdAt" timestamptz NOT NULL DEFAULT now()
)
"""

SQLITE = """
CREATE TABLE IF NOT EXISTS product_orders (
    id char(32) PRIMARY KEY,
    "tenantId" char(32) NULL,
    status varchar(50) NOT NULL DEFAULT 'pending',
    "externalStatus" varchar(30) NOT NULL DEFAULT 'not_sent',
    "providerId" varchar(255) NULL,
    "externalOrderId" varchar(255) NULL,
    "pinCode" varchar(120) NULL,
    "providerMessage" text NULL,
    "lastMessage" varchar(250) NULL,
    "sentAt" datetime NULL,
    "lastSyncAt" datetime NULL,
    "completedAt" datetime NULL,
    "durationMs" integer NULL,
    "createdAt" datetime NOT NULL DEFAULT CURRENT_TIMESTAMP
)
"""


def create_table(apps, schema_editor):
    schema_editor.execute(POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE)


def drop_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS product_orders")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunPython(create_table, drop_table),
        migrations.CreateModel(
            name="ProductOrder",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
            ],
            options={"db_table": "product_orders", "managed": False},
        ),
    ]
