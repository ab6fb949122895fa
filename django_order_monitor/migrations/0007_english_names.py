"""English names for the ledger's reference and counters (0.2).

Only our own table changes; the shop's ``provider_referans`` column keeps its name.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("order_monitor", "0006_late_completion_and_internal_error"),
    ]

    operations = [
        migrations.RenameField("monitoredorder", "referans", "reference"),
        migrations.RenameField("monitoredorder", "attempts", "answered_checks"),
        migrations.RenameField("monitoredorder", "errors", "failed_checks"),
        migrations.RenameField("monitoredorder", "error_streak", "consecutive_failed_checks"),
        # Renaming a column carries its index along on every backend, so only Django's
        # picture of the index changes: no index rebuild on a large ledger.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex("monitoredorder", "order_monitor_ref_idx"),
                migrations.AddIndex(
                    "monitoredorder",
                    models.Index(fields=["provider", "reference"], name="order_monitor_ref_idx"),
                ),
            ]
        ),
    ]
