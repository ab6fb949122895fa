"""The sweep: discovery of unwatched orders and recovery of lost tasks."""

import datetime as dt

import pytest

from django_order_monitor.engine.sweep import run_sweep, sweep_is_due
from django_order_monitor.models import MonitoredOrder, StatusCheck
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)


def dispatch_with_update(make_order, **fields):
    """An order dispatched the way the reference shop does it: update(), no save()."""
    order = make_order(external_status="not_sent", referans=None)
    values = {"external_status": "sent", "provider_referans": f"U-{order.pk.hex[:8]}", "sent_at": START}
    values.update(fields)
    ProductOrder.objects.filter(pk=order.pk).update(**values)
    return order


def test_sweep_discovers_dispatched_orders_nobody_watches(clock, queue, make_order):
    first = dispatch_with_update(make_order)
    second = dispatch_with_update(make_order)
    dispatch_with_update(make_order, sent_at=START - dt.timedelta(days=3))  # outside the window
    dispatch_with_update(make_order, provider_referans="")  # no reference
    queue.flush()

    report = run_sweep()

    assert sorted(report.discovered) == sorted([first.pk, second.pk])
    assert set(MonitoredOrder.objects.values_list("order_id", flat=True)) == {first.pk, second.pk}
    assert run_sweep().discovered == []  # never twice


def test_dry_run_changes_nothing(clock, queue, make_order):
    dispatch_with_update(make_order)
    report = run_sweep(dry_run=True)
    assert len(report.discovered) == 1
    assert MonitoredOrder.objects.count() == 0


def test_sweep_recovers_a_lost_chain(clock, queue, make_order):
    order = make_order()
    entry = MonitoredOrder.objects.get(order=order)
    queue.flush()  # Redis lost the delayed task (killed worker, flushed Redis)

    clock.move_to(START + dt.timedelta(seconds=70))
    assert run_sweep().enqueued == []  # on time chains are left alone (grace)

    clock.move_to(START + dt.timedelta(seconds=66 + 121))
    assert run_sweep().enqueued == [entry.pk]
    queue.run_until(START + dt.timedelta(minutes=4))
    entry.refresh_from_db()
    assert StatusCheck.objects.filter(monitored_order=entry).count() >= 1
    assert entry.answered_checks >= 1 and entry.next_check_by == "task"


def test_sweep_enqueues_sweep_driven_orders_oldest_first_in_batches(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_SWEEP_BATCH_SIZE = 2
    orders = [make_order() for _ in range(3)]
    for age, order in enumerate(orders):
        MonitoredOrder.objects.filter(order=order).update(
            next_check_by="sweep", next_check_at=START - dt.timedelta(minutes=age)
        )
    queue.flush()
    report = run_sweep()
    expected = [MonitoredOrder.objects.get(order=o).pk for o in (orders[2], orders[1])]
    assert report.enqueued == expected
    # Spread out for the provider, 0.2 s apart.
    times = [MonitoredOrder.objects.get(pk=pk).next_check_at for pk in expected]
    assert times[1] - times[0] == dt.timedelta(seconds=0.2)
    assert run_sweep().enqueued == [MonitoredOrder.objects.get(order=orders[0]).pk]


def test_sweep_query_count_does_not_grow_with_orders(clock, queue, make_order, django_assert_max_num_queries):
    for _ in range(30):
        order = make_order()
        MonitoredOrder.objects.filter(order=order).update(next_check_by="sweep", next_check_at=START)
    queue.flush()
    with django_assert_max_num_queries(6):
        report = run_sweep(dry_run=False)
    assert len(report.enqueued) == 30


def test_discovery_query_count_does_not_grow_with_orders(clock, queue, make_order):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def discover(count):
        orders = [dispatch_with_update(make_order) for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            report = run_sweep()
        assert sorted(report.discovered) == sorted(order.pk for order in orders)
        return [query["sql"].split(" ", 1)[0] for query in captured.captured_queries]

    # Find the orders, insert all their ledger rows in one statement, then look for due ones.
    few, many = discover(3), discover(40)
    assert few == many and few.count("INSERT") == 1 and len(few) <= 6
    # Each got its first check, after commit.
    assert queue.huey.scheduled_count() == 43


def test_discovery_skips_an_order_it_cannot_follow_and_follows_the_rest(clock, queue, make_order, settings, caplog):
    settings.ORDER_MONITOR_DEFAULT_PROVIDER = None
    without_provider = dispatch_with_update(make_order)
    with_provider = dispatch_with_update(make_order, provider_id="memory")
    report = run_sweep()
    assert report.discovered == [with_provider.pk]
    assert f"Sweep cannot follow order {without_provider.pk}: no provider" in caplog.text


@pytest.mark.parametrize(
    "interval, minute, due",
    [(300, 0, True), (300, 5, True), (300, 7, False), (60, 7, True), (600, 50, True), (600, 55, False)],
)
def test_sweep_runs_on_minutes_matching_its_interval(settings, interval, minute, due):
    settings.ORDER_MONITOR_SWEEP_INTERVAL = interval
    assert sweep_is_due(dt.datetime(2026, 1, 1, 10, minute)) is due


# -- one sweep per interval across the fleet -----------------------------------------------------


def test_every_consumer_enqueues_the_sweep_and_one_runs_it_per_interval(clock, queue, make_order, settings):
    """Three consumers' schedulers enqueue the sweep in the same minute: one sweeps, the others do nothing."""
    from django_order_monitor import tasks
    from django_order_monitor.engine import health, periodic

    settings.ORDER_MONITOR_SWEEP_INTERVAL = 300
    first = dispatch_with_update(make_order)
    queue.flush()
    assert periodic.last_sweep() is None and health.check().sweep_late
    for _consumer in range(3):
        tasks.sweep_orders()
    queue.run_pending()
    assert list(MonitoredOrder.objects.values_list("order_id", flat=True)) == [first.pk]
    ran = periodic.last_sweep()
    assert ran.started_at == START and ran.finished_at == START and not health.check().sweep_late

    second = dispatch_with_update(make_order)
    clock.move_to(START + dt.timedelta(seconds=60))  # a late copy, still this interval: refused
    tasks.sweep_orders()
    queue.run_pending()
    assert not MonitoredOrder.objects.filter(order_id=second.pk).exists()

    clock.move_to(START + dt.timedelta(seconds=300))  # the next interval
    tasks.sweep_orders()
    queue.run_pending()
    assert MonitoredOrder.objects.filter(order_id=second.pk).exists()
    assert periodic.last_sweep().started_at == START + dt.timedelta(seconds=300)

    clock.move_to(START + dt.timedelta(seconds=300 + 601))  # two intervals without a sweep
    assert health.check().problems(["sweep-late"]) == [f"sweep-late: no sweep since {START + dt.timedelta(seconds=300):%Y-%m-%dT%H:%M:%S}+00:00"]


def test_the_sweep_goes_ahead_of_queued_checks(clock, queue, make_order):
    """On a storage with priorities the sweep is dequeued before a backlog of checks."""
    from django_order_monitor import tasks

    for _ in range(20):
        tasks.check_order(10**6)  # a backlog (of checks for nothing: they no-op)
    tasks.sweep_orders()
    assert queue.huey.dequeue().name == "order_monitor.sweep"


def test_consumers_started_at_different_seconds_still_sweep_once_a_minute(clock, queue, settings):
    """Each consumer's scheduler fires at its own second of the minute; the claim is per interval, not per clock."""
    from django_order_monitor import tasks
    from django_order_monitor.engine import periodic

    settings.ORDER_MONITOR_SWEEP_INTERVAL = 60
    starts = []
    for second in (5, 50, 65, 119, 120):  # consumers at :05 and :50, then the next minutes
        clock.move_to(START + dt.timedelta(seconds=second))
        tasks.sweep_orders()
        queue.run_pending()
        starts.append(periodic.last_sweep().started_at - START)
    assert [delta.total_seconds() for delta in starts] == [5, 5, 65, 65, 120]
