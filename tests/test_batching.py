"""check_batch: one provider call for many orders, applied exactly like check_order."""

import datetime as dt

import pytest
from django.utils import timezone

from django_order_monitor import providers
from django_order_monitor.engine import grouping
from django_order_monitor.engine.following import start_monitoring
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing.fake_batchjson import FakeBatchJsonServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake(settings):
    with FakeBatchJsonServer(seed=3, api_token="tok-123456") as server:
        settings.ORDER_MONITOR_PROVIDERS = {
            "batch": {"ADAPTER": "django_order_monitor.providers.adapters.batchjson.BatchJsonProvider",
                      "OPTIONS": {"base_url": server.url, "api_token": "tok-123456"}},
        }
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "batch"
        settings.ORDER_MONITOR_BACKOFF_JITTER = 0
        yield server


def follow(make_order, fake, outcome, **plan):
    order = make_order(sent_at=timezone.now() - dt.timedelta(minutes=5))
    fake.add_order(order.provider_referans, outcome=outcome, **plan)
    entry = start_monitoring(order)
    MonitoredOrder.objects.filter(pk=entry.pk).update(next_check_at=timezone.now())
    return order, entry


def test_one_call_checks_every_due_order(fake, make_order):
    done, done_entry = follow(make_order, fake, "completed", delay=0, pin="PIN-0001")
    failed, failed_entry = follow(make_order, fake, "failed", delay=0)
    waiting, waiting_entry = follow(make_order, fake, "never")
    reports = grouping.check_batch([done_entry.pk, failed_entry.pk, waiting_entry.pk])
    assert fake.http_calls == 1
    assert [r.result for r in reports] == ["completed", "failed", "processing"]
    done.refresh_from_db()
    failed.refresh_from_db()
    assert (done.status, done.pin_code, failed.status) == ("approved", "PIN-0001", "rejected")
    waiting_entry.refresh_from_db()
    assert waiting_entry.answered_checks == 1 and waiting_entry.lease_token == "" and waiting_entry.next_check_at > timezone.now()
    assert StatusCheck.objects.count() == 3  # one history row per order
    assert reports[2].next_check_at == waiting_entry.next_check_at


def test_missing_answer_and_transport_failure_are_query_errors(fake, make_order):
    _, entry = follow(make_order, fake, "never")
    ghost_order = make_order(sent_at=timezone.now())
    ghost = start_monitoring(ghost_order)  # the provider has never heard of it
    MonitoredOrder.objects.filter(pk=ghost.pk).update(next_check_at=timezone.now())
    reports = grouping.check_batch([entry.pk, ghost.pk])
    assert [r.result for r in reports] == ["processing", "query_error"]
    ghost.refresh_from_db()
    assert (ghost.state, ghost.failed_checks, ghost.answered_checks) == ("watching", 1, 0)

    fake.stop()  # the provider is down: every order's query fails, none of the orders does
    providers.close_all()  # drop the kept-alive connection too
    MonitoredOrder.objects.update(next_check_at=timezone.now())
    reports = grouping.check_batch([entry.pk, ghost.pk])
    assert {r.result for r in reports} == {"transport_error"}
    assert set(MonitoredOrder.objects.values_list("state", flat=True)) == {"watching"}
    assert not MonitoredOrder.objects.exclude(lease_token="").exists()


def test_orders_not_due_or_leased_are_skipped(fake, make_order):
    _, entry = follow(make_order, fake, "never")
    MonitoredOrder.objects.filter(pk=entry.pk).update(next_check_at=timezone.now() + dt.timedelta(hours=1))
    assert grouping.check_batch([entry.pk])[0].ran is False
    assert fake.http_calls == 0
    assert grouping.check_batch([entry.pk], force=True)[0].ran is True


def test_the_chained_task_takes_its_due_peers_along(fake, make_order, queue):
    """A batch provider's chained check asks about every due order of that provider at once."""
    from django_order_monitor.engine.sweep import run_sweep
    from django_order_monitor.tasks import check_order

    entries = [follow(make_order, fake, "completed", delay=0, pin=f"PIN-{n}")[1] for n in range(5)]
    queue.flush()
    check_order.call_local(entries[0].pk)
    assert fake.http_calls == 1
    assert set(MonitoredOrder.objects.values_list("state", flat=True)) == {"completed"}

    # The sweep keeps a batch provider's due orders due together, so one task takes them all.
    more = [follow(make_order, fake, "never")[1] for _ in range(4)]
    MonitoredOrder.objects.filter(pk__in=[e.pk for e in more]).update(next_check_by="sweep")
    queue.flush()
    report = run_sweep()
    assert sorted(report.enqueued) == sorted(e.pk for e in more)
    queue.run_pending()
    assert fake.http_calls == 2
    assert StatusCheck.objects.filter(monitored_order__in=more).count() == 4
