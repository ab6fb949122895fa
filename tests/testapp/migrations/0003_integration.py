from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("testapp", "0002_terminal_event"),
    ]

    operations = [
        migrations.CreateModel(
            name="Integration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tenant_id", models.UUIDField(db_index=True)),
                ("base_url", models.CharField(max_length=200)),
                ("kod", models.CharField(max_length=100)),
                ("sifre", models.CharField(max_length=100)),
            ],
        ),
    ]
