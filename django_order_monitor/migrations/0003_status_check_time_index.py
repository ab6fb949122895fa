"""Index the check history by time: operators' figures read its last hour and day."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('order_monitor', '0002_add_provider_referans'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='statuscheck',
            index=models.Index(fields=['checked_at'], name='order_monitor_checked_at_idx'),
        ),
    ]
