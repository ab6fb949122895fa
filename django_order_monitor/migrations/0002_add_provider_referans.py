"""Add ``provider_referans`` and its index to a legacy (unmanaged) order table.

Adds only what is missing; reversing it drops nothing. ``sqlmigrate
order_monitor 0002`` prints the SQL for a DBA when the application's database
user may not alter the shop's table (then run ``migrate`` as usual: it finds
the column and does nothing).
"""

from django.db import migrations

from django_order_monitor.shop.schema import AddReferenceColumn


class Migration(migrations.Migration):
    dependencies = [("order_monitor", "0001_initial")]

    operations = [AddReferenceColumn()]
