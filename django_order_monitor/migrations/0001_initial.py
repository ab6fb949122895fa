"""The ledger and the check history. The order relation follows ORDER_MONITOR_ORDER_MODEL."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    # Like AUTH_USER_MODEL: the shop's model is fixed before this first migration.
    dependencies = [
        migrations.swappable_dependency(settings.ORDER_MONITOR_ORDER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MonitoredOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('provider', models.CharField(max_length=100, verbose_name='provider')),
                ('referans', models.CharField(max_length=255, verbose_name='provider reference')),
                ('state', models.CharField(choices=[('watching', 'watching'), ('completed', 'completed'), ('failed', 'failed'), ('timed_out', 'timed out'), ('stopped', 'stopped')], default='watching', max_length=20, verbose_name='state')),
                ('stop_reason', models.CharField(blank=True, default='', max_length=255, verbose_name='stop reason')),
                ('attempts', models.PositiveIntegerField(default=0, verbose_name='answered checks')),
                ('error_streak', models.PositiveIntegerField(default=0, verbose_name='consecutive failed queries')),
                ('errors', models.PositiveIntegerField(default=0, verbose_name='failed queries')),
                ('dispatched_at', models.DateTimeField(verbose_name='dispatched at')),
                ('deadline_at', models.DateTimeField(verbose_name='deadline')),
                ('next_check_at', models.DateTimeField(blank=True, null=True, verbose_name='next check at')),
                ('next_check_by', models.CharField(choices=[('task', 'chained task'), ('sweep', 'sweep')], default='task', max_length=10, verbose_name='next check by')),
                ('lease_until', models.DateTimeField(blank=True, null=True, verbose_name='leased until')),
                ('lease_token', models.CharField(blank=True, default='', max_length=32, verbose_name='lease token')),
                ('last_checked_at', models.DateTimeField(blank=True, null=True, verbose_name='last checked at')),
                ('last_outcome', models.CharField(blank=True, default='', max_length=20, verbose_name='last outcome')),
                ('last_provider_status', models.CharField(blank=True, default='', max_length=50, verbose_name='last provider status')),
                ('last_message', models.CharField(blank=True, default='', max_length=500, verbose_name='last provider message')),
                ('last_error', models.CharField(blank=True, default='', max_length=500, verbose_name='last error')),
                ('provider_completed_at', models.DateTimeField(blank=True, null=True, verbose_name='provider answered terminal at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('order', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='monitoring', to=settings.ORDER_MONITOR_ORDER_MODEL, verbose_name='order')),
            ],
            options={
                'verbose_name': 'monitored order',
                'verbose_name_plural': 'monitored orders',
                'permissions': [('view_pin', 'Can see delivered PINs in full')],
            },
        ),
        migrations.CreateModel(
            name='StatusCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('checked_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='checked at')),
                ('latency_ms', models.PositiveIntegerField(default=0, verbose_name='latency (ms)')),
                ('result', models.CharField(choices=[('completed', 'completed'), ('processing', 'processing'), ('failed', 'failed'), ('query_error', 'query error'), ('transport_error', 'transport error')], max_length=20, verbose_name='result')),
                ('provider_status', models.CharField(blank=True, default='', max_length=50, verbose_name='provider status')),
                ('message', models.CharField(blank=True, default='', max_length=500, verbose_name='message')),
                ('source', models.CharField(default='poll', max_length=20, verbose_name='source')),
                ('worker', models.CharField(blank=True, default='', max_length=100, verbose_name='worker')),
                ('monitored_order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='checks', to='order_monitor.monitoredorder', verbose_name='monitored order')),
            ],
            options={
                'verbose_name': 'status check',
                'verbose_name_plural': 'status checks',
                'ordering': ['-checked_at', '-id'],
            },
        ),
        migrations.AddIndex(
            model_name='monitoredorder',
            index=models.Index(condition=models.Q(('state', 'watching')), fields=['next_check_at'], name='order_monitor_due_idx'),
        ),
        migrations.AddIndex(
            model_name='monitoredorder',
            index=models.Index(fields=['provider', 'referans'], name='order_monitor_ref_idx'),
        ),
        migrations.AddIndex(
            model_name='monitoredorder',
            index=models.Index(fields=['state', 'finished_at'], name='order_monitor_state_idx'),
        ),
        migrations.AddIndex(
            model_name='statuscheck',
            index=models.Index(fields=['monitored_order', 'checked_at'], name='order_monitor_check_idx'),
        ),
    ]
