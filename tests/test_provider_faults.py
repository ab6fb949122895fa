"""Every way the provider can misbehave is recorded and retried, never a false outcome.

These run the real znet adapter against the local fake znet server over loopback.
"""

import datetime as dt
import logging

import pytest

from django_order_monitor.engine.pipeline import check_order
from django_order_monitor.models import MonitoredOrder, StatusCheck
from django_order_monitor.testing.fake_znet import FakeZnetServer
from tests.conftest import START

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def znet(settings):
    with FakeZnetServer(seed=7, faults={"slow_seconds": 2}) as server:
        settings.ORDER_MONITOR_PROVIDERS = {
            "znet": {
                "ADAPTER": "django_order_monitor.providers.adapters.znet.ZnetProvider",
                "OPTIONS": {"base_url": server.url, "kod": server.kod, "sifre": server.sifre, "read_timeout": 0.3},
            }
        }
        settings.ORDER_MONITOR_DEFAULT_PROVIDER = "znet"
        settings.ORDER_MONITOR_BREAKER_THRESHOLD = 100
        yield server


def due_check(entry, clock, at):
    clock.move_to(at)
    MonitoredOrder.objects.filter(pk=entry.pk).update(next_check_at=at)
    return check_order(entry.pk)


@pytest.mark.parametrize(
    "fault, result, message",
    [
        ("http_500", "transport_error", "HTTP 500"),
        ("garbage", "query_error", ""),
        ("empty", "query_error", ""),
        ("slow", "transport_error", "timeout"),
        ("drop", "transport_error", ""),
        ("query_error", "query_error", "Sistem meşgul"),
    ],
)
def test_fault_is_recorded_retried_and_then_the_real_answer_wins(znet, clock, make_order, fault, result, message):
    znet.add_order("F-1", outcome="completed", delay=0, pin="REAL-PIN-1")
    order = make_order(referans="F-1")
    entry = MonitoredOrder.objects.get(order=order)

    znet.set_outage(fault)
    report = due_check(entry, clock, START + dt.timedelta(seconds=61))
    entry.refresh_from_db()
    order.refresh_from_db()
    check = StatusCheck.objects.get()
    assert check.result == result
    assert message in check.message
    assert (entry.state, entry.answered_checks, entry.consecutive_failed_checks) == ("watching", 0, 1)
    assert (order.status, order.external_status, order.pin_code) == ("pending", "sent", None)
    # Retried after the error backoff (30 s +/- 10 % jitter), not given up.
    assert abs((report.next_check_at - START).total_seconds() - 91) <= 3

    znet.set_outage(None)
    assert due_check(entry, clock, START + dt.timedelta(seconds=95)).state == "completed"
    order.refresh_from_db()
    assert (order.status, order.pin_code) == ("approved", "REAL-PIN-1")


def test_cancelled_and_waiting_replies(znet, clock, make_order):
    znet.add_order("F-2", outcome="failed", delay=0)
    znet.add_order("F-3", outcome="never")
    cancelled, waiting = make_order(referans="F-2"), make_order(referans="F-3")
    assert due_check(MonitoredOrder.objects.get(order=cancelled), clock, START + dt.timedelta(seconds=61)).state == "failed"
    report = due_check(MonitoredOrder.objects.get(order=waiting), clock, START + dt.timedelta(seconds=62))
    assert (report.state, report.result) == ("watching", "processing")
    waiting.refresh_from_db()
    assert waiting.pin_code is None  # " - " is no PIN


def test_unknown_reference_is_a_failed_query_not_a_failed_order(znet, clock, make_order, caplog):
    order = make_order(referans="NOT-AT-PROVIDER")
    with caplog.at_level(logging.WARNING, logger="django_order_monitor"):
        report = due_check(MonitoredOrder.objects.get(order=order), clock, START + dt.timedelta(seconds=61))
    assert (report.state, report.result) == ("watching", "query_error")
    assert any("Status query failed" in r.getMessage() for r in caplog.records)


def test_wrong_credentials_never_fail_orders(znet, clock, make_order, settings):
    settings.ORDER_MONITOR_PROVIDERS["znet"]["OPTIONS"]["sifre"] = "wrong"
    znet.add_order("F-4", outcome="failed", delay=0)
    order = make_order(referans="F-4")
    report = due_check(MonitoredOrder.objects.get(order=order), clock, START + dt.timedelta(seconds=61))
    assert (report.state, report.result) == ("watching", "query_error")
