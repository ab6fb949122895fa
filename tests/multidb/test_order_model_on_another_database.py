"""The order model on a second database: the monitor's transactions follow it there.

The guarantee "the shop's callback runs in the transaction that ends the order" must
hold on the database the router chose, not on ``default``.
"""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing import memory
from tests.conftest import START
from tests.testapp.models import ProductOrder, TerminalEvent

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_an_order_on_the_shop_database_ends_with_its_pin_and_one_callback(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.store_terminal"
    order = make_order(referans="MDB-1")
    memory.complete("MDB-1", pin="MDB-PIN-1")
    queue.run_until(START + dt.timedelta(hours=1))

    order = ProductOrder.objects.using("shop").get(pk=order.pk)
    assert (order.external_status, order.pin_code) == ("done", "MDB-PIN-1")
    assert list(TerminalEvent.objects.using("shop").values_list("outcome", flat=True)) == ["completed"]
    assert MonitoredOrder.objects.using("shop").get(order_id=order.pk).state == "completed"


def test_a_failing_callback_rolls_back_the_terminal_write_on_the_shop_database(clock, queue, make_order, settings):
    settings.ORDER_MONITOR_TERMINAL_CALLBACK = "tests.hooks.failing_terminal"
    order = make_order(referans="MDB-2")
    memory.complete("MDB-2", pin="MDB-PIN-2")
    queue.run_until(START + dt.timedelta(minutes=3))

    # One transaction on "shop": the callback's failure undid the monitor's write and the ledger's.
    order = ProductOrder.objects.using("shop").get(pk=order.pk)
    assert (order.external_status, order.pin_code) == ("sent", None)
    entry = MonitoredOrder.objects.using("shop").get(order_id=order.pk)
    assert entry.state == "watching"
    assert list(StatusCheck.objects.using("shop").filter(monitored_order=entry).values_list("result", flat=True)).count("internal_error") >= 1


def test_the_monitor_on_another_database_than_the_orders_is_refused_at_start_up(settings):
    settings.SHOP_ROUTES = {"testapp": "shop"}  # the order model on "shop", the ledger left on "default"
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert (
        "(order_monitor.E022) The order model testapp.ProductOrder is written to database 'shop' and the "
        "monitor's tables to 'default'"
    ) in str(caught.value)
    assert "Route the order_monitor app to 'shop' in DATABASE_ROUTERS" in str(caught.value)
