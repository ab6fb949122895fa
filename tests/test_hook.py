"""Starting to watch: the post-save hook, the explicit API and their idempotence."""

import datetime as dt

import pytest
from django.db import transaction

from django_order_monitor import start_monitoring
from django_order_monitor.exceptions import NotMonitorable
from django_order_monitor.models import MonitoredOrder
from tests.conftest import START
from tests.testapp.models import ProductOrder

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_checks(queue) -> int:
    """Check tasks waiting in Huey: queued to run now, or scheduled for later."""
    return queue.huey.pending_count() + queue.huey.scheduled_count()


def test_dispatched_order_is_followed_and_first_check_enqueued_on_commit(clock, queue, make_order):
    with transaction.atomic():
        order = make_order(referans="1760885915220128")
        # Nothing reaches Huey before the row is committed.
        assert waiting_checks(queue) == 0
    entry = MonitoredOrder.objects.get(order=order)
    assert entry.reference == "1760885915220128"
    assert entry.provider == "memory"
    assert entry.state == "watching"
    assert entry.deadline_at == START + dt.timedelta(hours=24)
    # 60 s after dispatch, +/- 10 % jitter.
    assert START + dt.timedelta(seconds=54) <= entry.next_check_at <= START + dt.timedelta(seconds=66)
    assert waiting_checks(queue) == 1
    (task,) = queue.huey.scheduled()
    assert task.args == (entry.pk,)
    assert queue.next_eta() == entry.next_check_at


def test_saving_again_never_starts_a_second_chain(clock, queue, make_order):
    order = make_order()
    for _ in range(3):
        order.provider_message = "still there"
        order.save()
    assert MonitoredOrder.objects.filter(order=order).count() == 1
    assert waiting_checks(queue) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"external_status": "not_sent"},
        {"external_status": "done"},
        {"referans": None},
        {"referans": "   "},
    ],
    ids=["not-sent", "terminal", "no-reference", "blank-reference"],
)
def test_orders_not_dispatched_are_not_followed(clock, queue, make_order, fields):
    make_order(**fields)
    assert MonitoredOrder.objects.count() == 0
    assert waiting_checks(queue) == 0


def test_status_words_match_case_insensitively(clock, queue, make_order):
    make_order(external_status="  SENT ")
    assert MonitoredOrder.objects.count() == 1


def test_explicit_start_for_orders_written_with_update(clock, queue, make_order):
    order = make_order(external_status="not_sent", referans=None)
    ProductOrder.objects.filter(pk=order.pk).update(external_status="sent", provider_referans="REF-UPDATE")
    assert MonitoredOrder.objects.count() == 0

    entry = start_monitoring(order.pk)
    again = start_monitoring(order.pk)

    assert entry.pk == again.pk
    assert entry.reference == "REF-UPDATE"
    assert waiting_checks(queue) == 1


def test_explicit_start_explains_why_an_order_cannot_be_followed(clock, make_order):
    order = make_order(external_status="not_sent")
    with pytest.raises(NotMonitorable, match="not dispatched"):
        start_monitoring(order)


def test_hook_ignores_orders_when_disabled(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_ENABLED = False
    make_order()
    assert MonitoredOrder.objects.count() == 0


def test_provider_chosen_by_resolver(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"},
        "other": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"},
    }
    settings.ORDER_MONITOR_PROVIDER_RESOLVER = "tests.hooks.route_by_tenant"
    order = make_order(tenant_id="00000000-0000-0000-0000-000000000002")
    assert MonitoredOrder.objects.get(order=order).provider == "other"


def test_provider_chosen_by_the_orders_provider_field(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_PROVIDERS = {
        "memory": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"},
        "znet-2": {"ADAPTER": "django_order_monitor.testing.memory.InMemoryProvider"},
    }
    order = make_order(provider_id="znet-2")
    assert MonitoredOrder.objects.get(order=order).provider == "znet-2"


def test_old_sqlite_without_returning_takes_the_orm_path(clock, queue, make_order, monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the fallback is chosen by the SQLite version")
    monkeypatch.setattr(connection.Database, "sqlite_version_info", (3, 31, 0))
    order = make_order()
    entry = MonitoredOrder.objects.get(order=order)
    assert queue.huey.scheduled()[0].args == (entry.pk,)
    order.save()
    assert MonitoredOrder.objects.count() == 1 and waiting_checks(queue) == 1
