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


# MariaDB/MySQL quote names with backticks. Django stores a UUID in MariaDB 10.7+'s
# uuid type, elsewhere as char(32).
MYSQL = """
CREATE TABLE IF NOT EXISTS product_orders (
    id {uuid} PRIMARY KEY,
    `tenantId` {uuid} NULL,
    status varchar(50) NOT NULL DEFAULT 'pending',
    `externalStatus` varchar(30) NOT NULL DEFAULT 'not_sent',
    `providerId` varchar(255) NULL,
    `externalOrderId` varchar(255) NULL,
    `pinCode` varchar(120) NULL,
    `providerMessage` longtext NULL,
    `lastMessage` varchar(250) NULL,
    `sentAt` datetime(6) NULL,
    `lastSyncAt` datetime(6) NULL,
    `completedAt` datetime(6) NULL,
    `durationMs` integer NULL,
    `createdAt` datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
)
"""



def create_table(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "mysql":
        schema_editor.execute(MYSQL.format(uuid="uuid" if connection.features.has_native_uuid_field else "char(32)"))
    else:
        schema_editor.execute(POSTGRES if connection.vendor == "postgresql" else SQLITE)


def drop_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS product_orders")


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        # Not atomic: MariaDB/MySQL cannot run DDL inside a transaction.
        migrations.RunPython(create_table, drop_table, atomic=False),
        migrations.CreateModel(
            name="ProductOrder",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False)),
            ],
            options={"db_table": "product_orders", "managed": False},
        ),
    ]
